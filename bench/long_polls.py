"""Long polls one API process holds: `--waiters` concurrent `GET /v1/tasks/{id}?wait=` on
queued tasks (no worker runs, so they stay queued), while submissions are timed beside them and
against a baseline with nobody waiting; then the tasks are cancelled and each waiter's wake-up
is timed (the finish notification, not the 5 s re-read, should wake it).

    .venv/bin/python bench/long_polls.py [--waiters 1000] [--quick]

Prints one JSON object: `held` (the API's own gauge of long polls at the peak), the answers'
statuses, `submit_p50_ms` / `submit_p99_ms` with everyone waiting against `baseline_p99_ms`,
`wake_p50_ms` / `wake_p99_ms` from a task's cancel to its waiters' answers, and the API
process's memory.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from genroute.db.migrate import upgrade
from genroute.local.scratch_services import scratch_services
from genroute.local.stack import Stack, running_stack

TICKET = {"task_type": "classification", "input": "My invoice INV-5521 was charged twice."}


def _held(stack: Stack) -> float:
    text = httpx.get(f"{stack.ops_url}/metrics", timeout=30).text
    match = re.search(r"^genroute_long_polls (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _p(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def _submit_times(http: httpx.AsyncClient, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        (await http.post("/v1/tasks", json=TICKET)).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.1)
    return times


async def _measure(stack: Stack, waiters: int, tasks: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    limits = httpx.Limits(max_connections=waiters + 20, max_keepalive_connections=waiters + 20)
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers=headers, limits=limits, timeout=120
    ) as http:
        ids = [(await http.post("/v1/tasks", json=TICKET)).json()["id"] for _ in range(tasks)]
        baseline = await _submit_times(http, 20)
        wakes: list[float] = []
        cancelled_at: dict[str, float] = {}

        async def wait_on(number: int) -> int:
            task_id = ids[number % tasks]
            answer = await http.get(f"/v1/tasks/{task_id}", params={"wait": 60})
            wakes.append((time.monotonic() - cancelled_at[task_id]) * 1000)
            return answer.status_code

        polls = [asyncio.create_task(wait_on(n)) for n in range(waiters)]
        deadline = time.monotonic() + 120
        while _held(stack) < waiters and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        held = _held(stack)
        loaded = await _submit_times(http, 20)
        memory = _rss_mib(stack.api.pid)
        for task_id in ids:
            cancelled_at[task_id] = time.monotonic()
            await http.post(f"/v1/tasks/{task_id}/cancel")
        statuses = Counter(str(s) for s in await asyncio.gather(*polls))
    return {
        "held": held,
        "answers": dict(statuses),
        "baseline_p99_ms": round(_p(baseline, 0.99), 1),
        "submit_p50_ms": round(_p(loaded, 0.5), 1),
        "submit_p99_ms": round(_p(loaded, 0.99), 1),
        "wake_p50_ms": round(_p(wakes, 0.5), 1),
        "wake_p99_ms": round(_p(wakes, 0.99), 1),
        "api_rss_mib": round(memory, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100, help="queued tasks waited on")
    parser.add_argument("--quick", action="store_true", help="200 waiters, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.waiters, args.tasks = 200, 20
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        upgrade(live.database_url)
        own = live.model_copy(update={"max_long_polls": args.waiters, "max_wait_s": 120})
        with running_stack(own, [], Path(tmp) / "logs") as stack:
            figures = asyncio.run(_measure(stack, args.waiters, args.tasks))
    result = {
        "bench": "long_polls",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "waiters": args.waiters,
        **figures,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
