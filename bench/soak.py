"""Soak: the whole stack under steady load and faults, then an audit of every accepted task
from PostgreSQL. Embedded PostgreSQL and Redis (which the chaos restarts), the API and one
worker per path with the development models.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 2] [--waiters 200] [--quick]

First a quiet phase (submissions alone) measures submit latency; then the same submissions
run beside `--waiters` long-pollers and a chaos schedule: a worker SIGKILLed every minute (and
restarted, as a supervisor would), Redis restarted once, PostgreSQL once, the API once. Then
producers stop, every accepted task is waited for, and one JSON object is printed: `lost`
(accepted, never terminal), `double_accepted` (more than one accepted attempt), `api_5xx`
(5xx answers other than 503 with Retry-After) and submit p50/p99 against the quiet p99.
`--quick` is the 30-second run the test suite makes.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import statistics
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support.soak_audit import audit, lock_sampler

from genroute.db.migrate import upgrade
from genroute.local.embedded import embedded_redis
from genroute.local.stack import Stack, running_stack
from genroute.settings import Settings

MIX = (
    ("classification", 0.6, {}),
    ("synthetic_examples", 0.25, {"max_output_tokens": 16}),
    ("ticket_summary", 0.15, {"max_output_tokens": 32}),
)
TICKETS = [
    "Hi, I'm Maria Lopez. Order #A-10293 from 2026-11-02 ($149.99) arrived broken.",
    "Hello, this is Jonas Weber. I was charged twice for invoice INV-5521 on 2026-11-14.",
    "Priya Shah here: my password reset email never arrives at priya.shah@example.com.",
]


class Recorder:
    """What the producers and long-pollers saw; shared by the load's coroutines."""

    TERMINAL = ("succeeded", "failed", "cancelled")

    def __init__(self) -> None:
        self.submitted = 0
        self.accepted: set[str] = set()
        self.finished: set[str] = set()
        self.latencies: dict[str, list[float]] = {"quiet": [], "loaded": []}
        self.began = time.monotonic()
        self.slowest: list[tuple[float, float, int, str]] = []  # (ms, at_s, status, path)
        self.server_errors = self.retry_later = self.rate_limited = self.connection_errors = 0
        self.waiter_answers: Counter = Counter()
        # The producer and the long-pollers run in threads of their own (so the pollers'
        # work never delays the producer's clock); this guards what they share.
        self._lock = threading.Lock()

    def accept(self, tasks: list[dict]) -> None:
        with self._lock:
            self.accepted.update(task["id"] for task in tasks)

    def finish(self, task_id: str) -> None:
        with self._lock:
            self.finished.add(task_id)

    def pick_unfinished(self) -> str | None:
        with self._lock:
            waiting = list(self.accepted - self.finished)
        return random.choice(waiting) if waiting else None

    def answer(self, phase: str, response: Any, latency_ms: float | None) -> None:
        status = response.status_code
        if phase == "waiters":
            self.waiter_answers[str(status)] += 1
        elif latency_ms is not None:
            self.latencies[phase].append(latency_ms)
            at_s = time.monotonic() - self.began
            path = response.request.url.path
            self.slowest = sorted([*self.slowest, (latency_ms, at_s, status, path)])[-8:]
        if status == 503 and "retry-after" in response.headers:
            self.retry_later += 1
        elif status == 429:
            self.rate_limited += 1
        elif status >= 500:
            self.server_errors += 1


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=1000, method="inclusive")[int(share * 1000) - 1]


class Servers:
    """Embedded PostgreSQL and Redis in a folder, which the chaos restarts."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
        self._pgserver, self._folder = pgserver, folder
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Servers":
        self._pg = self._pgserver.get_server(self._folder / "pg", cleanup_mode="stop")
        self.database_url = self._pg.get_uri()
        self._redis = contextlib.ExitStack()
        self.broker_url = self._redis.enter_context(embedded_redis(self._folder))
        return self

    def __exit__(self, *_exc: object) -> None:
        self._redis.close()
        self._pg.cleanup()

    def settings(self, **updates: Any) -> Settings:
        own = {"database_url": self.database_url, "broker_url": self.broker_url}
        return Settings(data_dir=self._folder / "data", **own, **updates)

    def restart_redis(self, outage_s: float) -> None:
        self._redis.close()
        time.sleep(outage_s)  # Redis stays down this long
        self._redis = contextlib.ExitStack()
        self._redis.enter_context(embedded_redis(self._folder))

    def restart_postgres(self, outage_s: float) -> None:
        pg = self._pgserver
        pg.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=self._pg.pgdata, user=self._pg.system_user)
        time.sleep(outage_s)  # PostgreSQL stays down this long
        self._pg.cleanup()
        self._pg = pg.get_server(self._folder / "pg", cleanup_mode="stop")


def _request(kind_weights: list[float]) -> dict[str, Any]:
    task_type, _weight, extra = random.choices(MIX, weights=kind_weights)[0]
    return {
        "task_type": task_type,
        "input": random.choice(TICKETS),
        "idempotency_key": f"soak-{uuid.uuid4().hex}",
        "metadata": {"bench": "soak"},
        **extra,
    }


async def _post(http: Any, recorder: Recorder, phase: str, path: str, body: dict) -> Any:
    """One submission, retried (same idempotency keys) through refusals and restarts."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            answer = await http.post(path, json=body, timeout=60)
        except Exception:  # the API is restarting: try again shortly
            recorder.connection_errors += 1
            await asyncio.sleep(0.5)
            continue
        recorder.answer(phase, answer, (time.perf_counter() - started) * 1000)
        if answer.status_code < 400:
            return answer.json()
        if answer.status_code < 500 and answer.status_code != 429:
            raise SystemExit(f"the soak's own request was refused: {answer.text}")
        await asyncio.sleep(float(answer.headers.get("retry-after", 1)))
    return None


async def _produce(stack: Stack, recorder: Recorder, phase: str, rate: float, stop: Any) -> None:
    """`rate` tasks/s, alternating a single submission and a batch of four."""
    import httpx

    weights = [weight for _t, weight, _e in MIX]
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers) as http:
        single = True
        while not stop.is_set():
            if single:
                body = _request(weights)
                recorder.submitted += 1
                accepted = await _post(http, recorder, phase, "/v1/tasks", body)
                recorder.accept([accepted] if accepted else [])
            else:
                items = [_request(weights) for _ in range(4)]
                recorder.submitted += len(items)
                result = await _post(http, recorder, phase, "/v1/tasks/batch", {"items": items})
                recorder.accept([i["task"] for i in (result or {}).get("items", []) if i["task"]])
            await asyncio.sleep((1 if single else 4) / rate)
            single = not single


async def _wait_on_tasks(http: Any, recorder: Recorder, stop: Any, delay_s: float) -> None:
    """One long-poller: picks an unfinished accepted task and waits on it, over and over
    (starting after `delay_s`: the long-pollers arrive over the first seconds, as clients
    do, not all in one instant)."""
    await asyncio.sleep(delay_s)
    while not stop.is_set():
        task_id = recorder.pick_unfinished()
        if task_id is None:
            await asyncio.sleep(0.5)
            continue
        try:
            answer = await http.get(f"/v1/tasks/{task_id}", params={"wait": 15}, timeout=40)
        except Exception:
            recorder.connection_errors += 1
            await asyncio.sleep(1)
            continue
        recorder.answer("waiters", answer, None)
        if answer.status_code == 200 and answer.json()["status"] in recorder.TERMINAL:
            recorder.finish(task_id)
        elif answer.status_code >= 400:
            await asyncio.sleep(float(answer.headers.get("retry-after", 1)))


def _run_load(
    stack: Stack, recorder: Recorder, phase: str, rate: float, waiters: int, stop: Any
) -> list[threading.Thread]:
    """The producer on one thread and event loop, the long-pollers on another."""
    import httpx

    async def poll() -> None:
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        limits = httpx.Limits(max_connections=waiters + 8, max_keepalive_connections=waiters)
        async with httpx.AsyncClient(
            base_url=stack.api_url, headers=headers, limits=limits
        ) as http:
            ramp_s = 10.0
            waiting = asyncio.gather(
                *(
                    _wait_on_tasks(http, recorder, stop, ramp_s * n / waiters)
                    for n in range(waiters)
                )
            )
            while not stop.is_set() and not waiting.done():
                await asyncio.sleep(0.2)
            waiting.cancel()  # at the stop, the long-pollers hang up, as clients do
            with contextlib.suppress(asyncio.CancelledError):
                await waiting

    jobs = [_produce(stack, recorder, phase, rate, stop)] + ([poll()] if waiters else [])
    threads = [threading.Thread(target=asyncio.run, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    return threads


def _chaos(stack: Stack, servers: Servers, seconds: float, log: list[dict], origin: float) -> None:
    """Kill a worker every minute (restarting it; the first kill comes early, so a short run
    has one), and restart Redis, PostgreSQL and the API once each, spread over `seconds`; the
    log's times count from `origin`."""
    began = time.monotonic()
    paths = ["diffusion", "autoregressive"]
    first_kill = min(30.0, 0.15 * seconds)
    kills = [
        (first_kill + 60 * n, f"kill {paths[n % 2]} worker") for n in range(int(seconds // 60) + 1)
    ]
    once = [(0.35, "restart redis"), (0.55, "restart postgresql"), (0.75, "restart api")]
    plan = sorted([*kills, *((share * seconds, what) for share, what in once)])
    for at, what in plan:
        if at >= seconds:
            continue
        time.sleep(max(0.0, at - (time.monotonic() - began)))
        log.append({"at_s": round(time.monotonic() - origin, 1), "event": what})
        if what.startswith("kill"):  # the supervisor starts another
            os.killpg(stack.workers[what.split()[1]].pid, signal.SIGKILL)
        elif what == "restart redis":
            servers.restart_redis(outage_s=3)
        elif what == "restart postgresql":
            servers.restart_postgres(outage_s=3)
        else:
            stack.restart_api()
    time.sleep(max(0.0, seconds - (time.monotonic() - began)))


@contextlib.contextmanager
def supervisor(stack: Stack, log: list[dict], origin: float) -> Iterator[None]:
    """What compose's `restart: unless-stopped` or `genroute serve` does: any worker that
    exits (killed by the chaos, or giving up on its own) is started again within a second."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(1.0):
            for path in stack.restart_exited_workers():
                log.append(
                    {
                        "at_s": round(time.monotonic() - origin, 1),
                        "event": f"restarted {path} worker",
                    }
                )

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    recorder = Recorder()
    chaos_log: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, Servers(Path(tmp)) as servers:
        settings = servers.settings(
            claim_lease_s=10,
            sweep_interval_s=2,
            unpublished_grace_s=5,
            republish_orphaned_after_s=30,
        )
        upgrade(settings.database_url)
        with running_stack(settings, ["autoregressive", "diffusion"], Path(tmp) / "logs") as stack:
            quiet = threading.Event()
            load = _run_load(stack, recorder, "quiet", args.rate, 0, quiet)
            time.sleep(args.quiet_s)
            quiet.set()
            for thread in load:
                thread.join()
            stop = threading.Event()
            load = _run_load(stack, recorder, "loaded", args.rate, args.waiters, stop)
            with (
                supervisor(stack, chaos_log, recorder.began),
                lock_sampler(settings.database_url) as locks,
            ):
                _chaos(stack, servers, args.minutes * 60, chaos_log, recorder.began)
                stop.set()
                for thread in load:
                    thread.join(timeout=120)
                drain_started = time.monotonic()
                counts = audit(settings.database_url, recorder.accepted, args.drain_s)
                drain_s = time.monotonic() - drain_started
    return _report(args, recorder, counts, locks, chaos_log, drain_s)


def _report(args, recorder: Recorder, counts: dict, locks: dict, chaos: list, drain_s: float):
    loaded, quiet = recorder.latencies["loaded"], recorder.latencies["quiet"]
    p99, p99_quiet = percentile(loaded, 0.99), percentile(quiet, 0.99)
    return {
        "bench": "soak",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "minutes": args.minutes,
        "rate_tasks_per_s": args.rate,
        "waiters": args.waiters,
        "submitted": recorder.submitted,
        "accepted_by_api": len(recorder.accepted),
        **counts,
        "api_5xx": recorder.server_errors,
        "api_503_with_retry_after": recorder.retry_later,
        "api_429": recorder.rate_limited,
        "connection_errors": recorder.connection_errors,
        "long_poll_answers": recorder.waiter_answers,
        "submit_calls": len(loaded) + len(quiet),
        "submit_p50_ms": round(percentile(loaded, 0.5), 1),
        "submit_p99_ms": round(p99, 1),
        "submit_p99_quiet_ms": round(p99_quiet, 1),
        "p99_over_quiet": round(p99 / p99_quiet, 2) if p99_quiet else None,
        "slowest_submits": [
            {"ms": round(ms), "at_s": round(at), "status": status, "path": path}
            for ms, at, status, path in reversed(recorder.slowest)
        ],
        "drain_s": round(drain_s, 1),
        # Workers that exited without being killed (the supervisor started them again).
        "unplanned_worker_exits": sum(e["event"].startswith("restarted") for e in chaos)
        - sum(e["event"].startswith("kill") for e in chaos),
        "lock_waits": locks,
        "chaos": chaos,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2.0, help="tasks submitted per second")
    parser.add_argument("--waiters", type=int, default=200, help="concurrent long-pollers")
    parser.add_argument("--quiet-s", type=float, default=45.0, help="the quiet phase's length")
    parser.add_argument("--drain-s", type=float, default=900.0, help="longest wait at the end")
    parser.add_argument("--quick", action="store_true", help="30 s, for the test suite")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.quiet_s, args.drain_s, args.rate = 0.5, 5.0, 600.0, 1.0
    print(json.dumps(soak(args)))


if __name__ == "__main__":
    main()
