"""Worker readiness in Redis: a worker child announces itself once its model is loaded, so the
demo and operators can wait for real capacity rather than for a process to exist."""

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import redis

from genroute.db.attempts import WorkerIdentity
from genroute.runtime.redis_keys import WORKER_READY_PREFIX, worker_ready_key

READY_TTL_S = 24 * 3600


@dataclass(frozen=True)
class WarmUp:
    """A worker's timed warm-up generation (canvases only for engines that decode in them)."""

    seconds: float
    tokens_out: int
    canvases: int | None = None
    canvas_length: int | None = None

    def seconds_per_unit(self) -> float:
        """Seconds a canvas (if it decoded in canvases) or an output token took."""
        units = self.canvases if self.canvases else self.tokens_out
        return self.seconds / max(1, units)


def mark_ready(client: redis.Redis, identity: WorkerIdentity, warmup: WarmUp | None) -> None:
    """Announce this process with its warm-up; `parent_pid` ties a prefork child to the worker
    that started it."""
    key = worker_ready_key(identity.name, identity.pid)
    payload = {
        **asdict(identity),
        "parent_pid": os.getppid(),
        "metrics_port": int(os.environ.get("GENROUTE_METRICS_PORT_BOUND", "0")) or None,
        "warmup": asdict(warmup) if warmup else None,
    }
    client.set(key, json.dumps(payload), ex=READY_TTL_S)


def clear_ready(client: redis.Redis, identity: WorkerIdentity) -> None:
    client.delete(worker_ready_key(identity.name, identity.pid))


def ready_workers(client: redis.Redis) -> list[dict[str, Any]]:
    """Identities of every worker process that has loaded its model and not shut down."""
    keys = list(client.scan_iter(match=f"{WORKER_READY_PREFIX}*"))
    values = client.mget(keys) if keys else []
    return [json.loads(value) for value in values if value]
