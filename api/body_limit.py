"""Request body size limit as ASGI middleware: a declared Content-Length over the limit is
refused before anything is read, and a chunked body is cut off once it passes the limit."""

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genroute.api.errors import OPENAI_PATHS


class BodySizeLimit:
    """`max_bytes` for every body, except the paths in `larger_for`, which have their own."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger_for: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_for = larger_for or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger_for.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, int(declared), limit, scope["path"])
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                # An HTTPException passes through FastAPI's body parsing as itself.
                raise HTTPException(413, self._message(seen, limit))
            return message

        await self.app(scope, counted, send)

    def _message(self, size: int, limit: int) -> str:
        setting = (
            "GENROUTE_MAX_BODY_BYTES" if limit == self.max_bytes else "GENROUTE_MAX_FILE_BYTES"
        )
        return f"body: {size}+ bytes; the limit is {limit} ({setting})"

    async def _refuse(self, send: Send, size: int, limit: int, path: str) -> None:
        """413 in the shape of the route refused: OpenAI's on the OpenAI-compatible paths."""
        body: dict[str, Any] = {
            "detail": self._message(size, limit),
            "errors": [{"field": "body", "message": f"larger than {limit} bytes"}],
        }
        if path.startswith(OPENAI_PATHS):
            body = {
                "error": {
                    "message": self._message(size, limit),
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "request_too_large",
                }
            }
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
