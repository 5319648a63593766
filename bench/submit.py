"""Submission throughput: tasks/s the API accepts into the queue through batch submits, next
to a bare Celery `send_task` loop on the same Redis, in one run (alternating rounds, median
of each) so the ratio holds on a shared, noisy machine. No worker runs: this measures the
front door (auth, validation, routing, path health, PostgreSQL insert, publish), not models.

    .venv/bin/python bench/submit.py [--tasks 2000] [--batch 200] [--clients 4] [--rounds 3]
        [--quick]

Prints one JSON object; `api_over_bare_celery` is the API's rate over the bare loop's.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from genroute.db.migrate import upgrade
from genroute.local.demo import sample_tickets
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import Stack, running_stack
from genroute.runtime.queueing import GENERATE_TASK, QUEUES, make_celery, redis_from_broker_url
from genroute.settings import Settings


def _items(count: int) -> list[dict[str, Any]]:
    return [
        {"task_type": t["task_type"], "input": t["input"], "metadata": {"bench": "submit"}}
        for t in sample_tickets(count)
    ]


def _empty_queues(settings: Settings) -> None:
    client = redis_from_broker_url(settings.broker_url)
    try:
        for queue in QUEUES:
            for key in client.scan_iter(match=f"{queue}*"):
                client.delete(key)
    finally:
        client.close()


def api_rate(stack: Stack, items: list[dict], batch: int, clients: int) -> float:
    """Tasks/s: `clients` threads each posting its share of `items` in batches."""
    chunks = [items[i : i + batch] for i in range(0, len(items), batch)]

    def post(chunk: list[dict]) -> int:
        with stack.http(timeout_s=120) as http:
            answer = http.post("/v1/tasks/batch", json={"items": chunk}).raise_for_status()
            return answer.json()["accepted"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        accepted = sum(pool.map(post, chunks))
    elapsed = time.perf_counter() - started
    if accepted != len(items):
        raise SystemExit(f"the API accepted {accepted} of {len(items)}")
    return len(items) / elapsed


def bare_celery_rate(settings: Settings, count: int) -> float:
    """Tasks/s: one `send_task` per message in a loop, as a producer without genroute would."""
    app = make_celery(settings, settings.broker_url)
    app.send_task(GENERATE_TASK, args=["warm-up"], queue="diffusion")  # connect first
    started = time.perf_counter()
    for number in range(count):
        app.send_task(GENERATE_TASK, args=[f"bench-{number}"], queue="diffusion", priority=5)
    elapsed = time.perf_counter() - started
    app.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one small round, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.batch, args.clients, args.rounds = 400, 100, 2, 1
    items = _items(args.tasks)
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        # A limit far above what this run sends: the bench measures the path, not the limiter.
        own = live.model_copy(update={"rate_limit_per_minute": 10**9})
        api, bare = [], []
        with running_stack(own, [], Path(tmp) / "logs") as stack:
            api_rate(stack, items[: args.batch], args.batch, 1)  # warm-up
            for _ in range(args.rounds):
                _empty_queues(own)
                api.append(api_rate(stack, items, args.batch, args.clients))
                _empty_queues(own)
                bare.append(bare_celery_rate(own, args.tasks))
            _empty_queues(own)
    api_median, bare_median = statistics.median(api), statistics.median(bare)
    result = {
        "bench": "submit",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "services": "embedded" if Settings().uses_embedded_services() else "configured",
        "tasks_per_round": args.tasks,
        "batch_size": args.batch,
        "api_clients": args.clients,
        "rounds": args.rounds,
        "api_tasks_per_s": round(api_median, 1),
        "bare_celery_tasks_per_s": round(bare_median, 1),
        "api_rounds": [round(r, 1) for r in api],
        "bare_celery_rounds": [round(r, 1) for r in bare],
        "api_over_bare_celery": round(api_median / bare_median, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
