"""Serving both listeners from one process: the producers' API on its published port and the
operators' endpoints on an internal one, through one uvicorn server (one event loop, one
lifespan, one pool) that routes each request by the port it arrived on."""

import logging
import socket

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from genroute.api.app import create_app
from genroute.api.ops import create_ops_app
from genroute.settings import Settings

log = logging.getLogger(__name__)


class PortRouter:
    """HTTP requests go to the app of the port they arrived on; the lifespan goes to the
    producers' app, which opens and closes the state both apps use."""

    def __init__(self, public: ASGIApp, ops: ASGIApp, ops_port: int) -> None:
        self._public = public
        self._ops = ops
        self._ops_port = ops_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or (None, None)
        app = (
            self._ops
            if scope["type"] != "lifespan" and server[1] == self._ops_port
            else self._public
        )
        await app(scope, receive, send)


def _listening(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve(settings: Settings, host: str, port: int, ops_host: str, ops_port: int) -> None:
    """Serve until a signal stops the server (port 0 picks a free one for either)."""
    public = create_app(settings)  # a broken policy file stops us before anything binds
    public_socket, ops_socket = _listening(host, port), _listening(ops_host, ops_port)
    bound_ops_port = ops_socket.getsockname()[1]
    app = PortRouter(public, create_ops_app(public, settings), bound_ops_port)
    log.info(
        "API on %s:%d, operators' endpoints on %s:%d",
        host,
        public_socket.getsockname()[1],
        ops_host,
        bound_ops_port,
    )
    # log_config=None: uvicorn's lines go through our handler (JSON) like everything else.
    config = uvicorn.Config(app, log_level="info", log_config=None, lifespan="on")
    uvicorn.Server(config).run(sockets=[public_socket, ops_socket])
