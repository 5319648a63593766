"""Start and wait for the running pieces: the API and one worker per path, as subprocesses.
Used by `genroute demo` and by the integration tests, so both exercise the same stack."""

import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from genroute.contract import PathName, Scope
from genroute.db.api_keys import create_key
from genroute.db.session import make_engine, make_session_factory
from genroute.errors import GenrouteError
from genroute.local.embedded import child_environment
from genroute.local.processes import ManagedProcess, stop_all
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.worker_registry import ready_workers
from genroute.settings import Settings

ALL_PATHS = tuple(path.value for path in PathName)

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    """The running API and workers; `restart_worker` replaces one as a supervisor would."""

    settings: Settings
    api_url: str
    api: ManagedProcess
    log_dir: Path
    env: dict[str, str]
    api_key: str = ""
    worker_args: tuple[str, ...] = ()
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    flower: ManagedProcess | None = None
    # The API's operators' listener: /metrics, /readyz with each check, /docs.
    ops_url: str = ""

    def http(self, timeout_s: float = 30.0) -> httpx.Client:
        """An HTTP client for the API that sends this stack's API key."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.Client(base_url=self.api_url, timeout=timeout_s, headers=headers)

    def start_worker(self, path: str) -> ManagedProcess:
        """Start a worker for `path`, replacing (and reaping) any earlier one."""
        earlier = self.workers.get(path)
        if earlier is not None:
            earlier.stop(grace_s=5)
        args = ["worker", "--path", path, *self.worker_args]
        process = ManagedProcess(f"worker-{path}", args, self.env, self.log_dir)
        self.workers[path] = process
        return process

    def restart_exited_workers(self) -> list[str]:
        """Start another worker for every path whose worker exited, as a supervisor would (a
        worker can exit on its own: Celery gives up on an unrecoverable broker error); returns
        those paths."""
        exited = [path for path, process in self.workers.items() if not process.alive()]
        for path in exited:
            log.warning("the %s worker exited; starting another", path)
            self.start_worker(path)
        return exited

    def start_flower(self, user: str, password: str, timeout_s: float = 60.0) -> str:
        """Flower for this stack behind basic auth (replacing any earlier one); returns its URL
        once it answers."""
        if self.flower is not None:
            self.flower.stop(grace_s=5)
        port = free_port()
        env = {**self.env, "GENROUTE_FLOWER_USER": user, "GENROUTE_FLOWER_PASSWORD": password}
        args = ["flower", "--port", str(port)]
        self.flower = ManagedProcess("flower", args, env, self.log_dir)
        url = f"http://127.0.0.1:{port}"
        wait_for_http(self.flower, "Flower", f"{url}/healthcheck", timeout_s)
        return url

    def restart_api(self, timeout_s: float = 60.0) -> None:
        """Stop the API process (SIGTERM, as a deploy does) and start another on the same
        ports; returns once it answers."""
        self.api.stop()
        port, ops_port = urlsplit(self.api_url).port, urlsplit(self.ops_url).port
        assert port is not None and ops_port is not None
        self.api = start_api(port, ops_port, self.env, self.log_dir)
        wait_for_api(self.api, self.api_url, timeout_s)

    def restart_worker(self, path: str, timeout_s: float = 240.0) -> ManagedProcess:
        process = self.start_worker(path)
        wait_for_workers(self.settings, {path: process}, timeout_s)
        return process

    def stop(self) -> None:
        """Every process at once within one grace period (see processes.stop_all)."""
        everyone = [*self.workers.values(), self.api, self.flower]
        stop_all([process for process in everyone if process is not None])


def _fail(process: ManagedProcess, what: str) -> GenrouteError:
    return GenrouteError(f"{what}; last lines of {process.log_path}:\n{process.log_tail()}")


def wait_for_http(process: ManagedProcess, what: str, url: str, timeout_s: float) -> None:
    """Wait until `url` answers 2xx, failing early (with the log tail) if `process` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise _fail(process, f"{what} exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=2).raise_for_status()
            return
        time.sleep(0.2)
    raise _fail(process, f"{what} did not answer on {url} within {timeout_s}s")


def start_api(port: int, ops_port: int, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    args = ["api", "--host", "127.0.0.1", "--port", str(port), "--ops-port", str(ops_port)]
    return ManagedProcess("api", args, env, log_dir)


def wait_for_api(api: ManagedProcess, url: str, timeout_s: float) -> None:
    wait_for_http(api, "the API process", f"{url}/healthz", timeout_s)


def wait_for_workers(
    settings: Settings, workers: dict[str, ManagedProcess], timeout_s: float
) -> None:
    """Wait until each worker process (or its prefork child) has loaded its model and
    announced itself; entries left by earlier, killed processes do not count."""
    client = redis_from_broker_url(settings.broker_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for path, process in workers.items():
                if not process.alive():
                    raise _fail(process, f"the {path} worker exited during start-up")
            ready = {
                (worker["path"], pid)
                for worker in ready_workers(client)
                for pid in (worker["pid"], worker.get("parent_pid"))
            }
            if all((path, process.pid) in ready for path, process in workers.items()):
                return
            time.sleep(0.3)
    finally:
        client.close()
    raise GenrouteError(f"workers for {sorted(workers)} were not ready within {timeout_s}s")


def issue_key(settings: Settings, owner: str, scopes: tuple[Scope, ...]) -> str:
    """A new API key in `settings`' database (migrated), for the stack's own client."""
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with make_session_factory(engine).begin() as session:
            return create_key(session, owner, list(scopes), name=f"{owner} (genroute stack)").secret
    finally:
        engine.dispose()


@contextlib.contextmanager
def running_stack(
    settings: Settings,
    paths: list[str],
    log_dir: Path,
    start_timeout_s: float = 240.0,
    worker_args: tuple[str, ...] = (),
    key_owner: str = "operator",
    key_scopes: tuple[Scope, ...] = (Scope.admin,),
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """API plus one worker per path (`worker_args` added, e.g. `--gpu 0`), against `settings`'
    servers, with a fresh API key for `key_owner` (`Stack.http()` sends it), the API on `port`
    (default: a free one) and `extra_env` in every process's environment; all stopped on exit."""
    env = {**child_environment(settings), **(extra_env or {})}
    port, ops_port = port or free_port(), free_port()
    api_key = issue_key(settings, key_owner, key_scopes)
    stack = Stack(
        settings,
        f"http://127.0.0.1:{port}",
        start_api(port, ops_port, env, log_dir),
        log_dir,
        env,
        api_key,
        worker_args,
        ops_url=f"http://127.0.0.1:{ops_port}",
    )
    try:
        for path in paths:
            stack.start_worker(path)
        wait_for_api(stack.api, stack.api_url, start_timeout_s)
        wait_for_workers(settings, stack.workers, start_timeout_s)
        yield stack
    finally:
        stack.stop()
