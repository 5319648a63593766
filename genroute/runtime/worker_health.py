"""`genroute worker-health`: is a path's worker alive and is its queue moving? A worker that
answers pings but stopped consuming (a known Celery failure after a Redis reconnect) shows as
a queue with work waiting and no attempt started for `stall_s`."""

import socket
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from genroute.db.models import Attempt
from genroute.runtime.queueing import queue_depth


def check_worker(
    app: Celery,
    client: redis.Redis,
    sessions: sessionmaker[Session],
    path: str,
    queues: tuple[str, ...],
    *,
    stall_s: float,
    timeout_s: float,
    this_host_only: bool = True,
) -> dict[str, Any]:
    """A report with `healthy` and the reasons when not."""
    replies = app.control.ping(timeout=timeout_s) or []
    names = [name for reply in replies for name in reply]
    mine = [
        name
        for name in names
        if name.startswith(f"{path}-")
        and (not this_host_only or name.endswith(f"@{socket.gethostname()}"))
    ]
    waiting = {queue: queue_depth(client, queue) for queue in queues}
    with sessions() as session:
        last_start = session.scalar(
            select(func.max(Attempt.started_at)).where(Attempt.path == path)
        )
    idle_s = (datetime.now(UTC) - last_start).total_seconds() if last_start else None
    problems = []
    if not mine:
        problems.append(f"no {path} worker answered a ping within {timeout_s:g}s")
    if sum(waiting.values()) > 0 and (idle_s is None or idle_s > stall_s):
        problems.append(
            f"{sum(waiting.values())} messages wait but no {path} attempt started in "
            f"{stall_s:g}s (a consumer stuck after a broker reconnect?)"
        )
    return {
        "healthy": not problems,
        "path": path,
        "workers": mine,
        "queue_depth": waiting,
        "seconds_since_last_attempt": round(idle_s, 1) if idle_s is not None else None,
        "problems": problems,
    }
