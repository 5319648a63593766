"""What bench/soak.py reads back from PostgreSQL: lock waits while the load runs, and at the
end every accepted task's fate (terminal, lost, doubly accepted, and what the lost look like)."""

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text

from genroute.db.session import make_engine


@contextlib.contextmanager
def lock_sampler(database_url: str) -> Iterator[dict[str, Any]]:
    """Samples lock waits twice a second (which relations, how many backends) and counts the
    deadlocks PostgreSQL resolved, while the block runs."""
    found: dict[str, Any] = {"samples": 0, "samples_waiting": 0, "max_waiting": 0}
    by_relation: Counter = Counter()
    stop = threading.Event()
    waits = text(
        "SELECT coalesce(c.relname, l.locktype) FROM pg_locks l "
        "LEFT JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted"
    )
    deadlocks = text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")

    def sample() -> None:
        engine = make_engine(database_url, pool_size=1)
        while not stop.wait(0.5):
            with contextlib.suppress(Exception), engine.connect() as conn:  # the chaos stops it
                waiting = [name for (name,) in conn.execute(waits)]
                found["samples"] += 1
                found["samples_waiting"] += bool(waiting)
                found["max_waiting"] = max(found["max_waiting"], len(waiting))
                by_relation.update(waiting)
                found["deadlocks_total"] = conn.scalar(deadlocks)
        engine.dispose()

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(timeout=10)
        found["by_relation"] = dict(by_relation.most_common(8))


def audit(database_url: str, accepted: set[str], drain_s: float) -> dict[str, int]:
    """Wait (at most `drain_s`) until every accepted task is terminal, then count."""
    engine = make_engine(database_url, pool_size=1)
    ids = list(accepted)
    terminal = text(
        "SELECT count(*) FROM tasks WHERE id = ANY(CAST(:ids AS uuid[])) "
        "AND status IN ('succeeded', 'failed', 'cancelled')"
    )
    doubled = text(
        "SELECT count(*) FROM (SELECT task_id FROM attempts WHERE outcome = 'succeeded' "
        "AND task_id = ANY(CAST(:ids AS uuid[])) GROUP BY task_id HAVING count(*) > 1) d"
    )
    deadline = time.monotonic() + drain_s
    counts: dict[str, Any] = {"terminal": 0, "lost": len(ids), "double_accepted": 0}
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception), engine.connect() as conn:
                done = conn.scalar(terminal, {"ids": ids})
                double = conn.scalar(doubled, {"ids": ids})
                counts = {"terminal": done, "lost": len(ids) - done, "double_accepted": double}
            if counts["lost"] == 0:
                break
            time.sleep(2)
        if counts["lost"]:
            with engine.connect() as conn:
                counts["unfinished"] = _unfinished(conn, ids)
        return counts
    finally:
        engine.dispose()


def _unfinished(conn: Any, ids: list[str]) -> list[dict[str, Any]]:
    """What the tasks the drain gave up on look like, grouped, so a failed run explains itself."""
    rows = conn.execute(
        text(
            "SELECT t.status, t.queue, t.published_at IS NULL AS unpublished, "
            "t.lease_expires_at < now() AS lease_lapsed, "
            "(SELECT count(*) FROM attempts a WHERE a.task_id = t.id) AS attempts, "
            "round(extract(epoch FROM now() - t.updated_at)) AS idle_s "
            "FROM tasks t WHERE t.id = ANY(CAST(:ids AS uuid[])) "
            "AND t.status NOT IN ('succeeded', 'failed', 'cancelled')"
        ),
        {"ids": ids},
    )
    groups: Counter = Counter()
    idle: dict[tuple, float] = {}
    for status, queue, unpublished, lapsed, attempts, idle_s in rows:
        key = (status, queue, unpublished, lapsed, attempts)
        groups[key] += 1
        idle[key] = max(idle.get(key, 0.0), float(idle_s))
    fields = ("status", "queue", "unpublished", "lease_lapsed", "attempts")
    return [
        {**dict(zip(fields, key, strict=True)), "tasks": n, "longest_idle_s": idle[key]}
        for key, n in groups.most_common(10)
    ]
