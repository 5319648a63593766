"""Start and wait for the running pieces: the API and one worker per path, as subprocesses.
Used by `genroute demo` and by the integration tests, so both exercise the same stack."""

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from genroute.embedded import child_environment
from genroute.errors import GenrouteError
from genroute.processes import ManagedProcess, managed
from genroute.readiness import ready_workers, redis_from_broker_url
from genroute.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    api_url: str
    api: ManagedProcess
    workers: dict[str, ManagedProcess] = field(default_factory=dict)


def _fail(process: ManagedProcess, what: str) -> GenrouteError:
    return GenrouteError(f"{what}; last lines of {process.log_path}:\n{process.log_tail()}")


def wait_for_api(api: ManagedProcess, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not api.alive():
            raise _fail(api, "the API process exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise _fail(api, f"the API did not answer on {url} within {timeout_s}s")


def wait_for_workers(
    settings: Settings, workers: dict[str, ManagedProcess], timeout_s: float
) -> None:
    """Wait until every worker's child process has loaded its model and announced itself."""
    client = redis_from_broker_url(settings.broker_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for path, process in workers.items():
                if not process.alive():
                    raise _fail(process, f"the {path} worker exited during start-up")
            ready_paths = {worker["path"] for worker in ready_workers(client)}
            if set(workers) <= ready_paths:
                return
            time.sleep(0.3)
    finally:
        client.close()
    raise GenrouteError(f"workers for {sorted(workers)} were not ready within {timeout_s}s")


@contextlib.contextmanager
def running_stack(
    settings: Settings, paths: list[str], log_dir: Path, start_timeout_s: float = 240.0
) -> Iterator[Stack]:
    """API plus one worker per path, against `settings`' servers; all stopped on exit."""
    env = child_environment(settings)
    port = free_port()
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(
            managed("api", ["api", "--host", "127.0.0.1", "--port", str(port)], env, log_dir)
        )
        workers = {
            path: stack.enter_context(
                managed(f"worker-{path}", ["worker", "--path", path], env, log_dir)
            )
            for path in paths
        }
        url = f"http://127.0.0.1:{port}"
        wait_for_api(api, url, start_timeout_s)
        wait_for_workers(settings, workers, start_timeout_s)
        yield Stack(api_url=url, api=api, workers=workers)
