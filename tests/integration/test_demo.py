"""`genroute demo --json` against the test servers, watched while it runs: the API's and the
workers' `/metrics` carry every metric family, Flower (with the printed credentials) shows the
demo's workers and tasks, and at the end every ticket is terminal with real text."""

import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from genroute.db.models import Task
from genroute.db.session import make_engine, make_session_factory
from genroute.local.embedded import child_environment
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.worker_registry import ready_workers
from genroute.settings import Settings
from tests.helpers import isolated_settings, wait_until

pytestmark = pytest.mark.integration

API_FAMILIES = {"genroute_tasks_submitted", "genroute_queue_depth", "genroute_path_state"}
WORKER_FAMILIES = {
    "genroute_attempts",
    "genroute_tasks_finished",
    "genroute_fallbacks",
    "genroute_validation_failures",
    "genroute_tokens_generated",
    "genroute_task_latency_seconds",
    "genroute_queue_wait_seconds",
    "genroute_generation_seconds",
    "genroute_engine_batch_size",
}


def _counted(text: str) -> dict[str, float]:
    """Per family, the sum of its counters and histogram counts (gauges: sample count)."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.type == "gauge":
            totals[family.name] = float(len(family.samples))
        else:
            counted = [s for s in family.samples if s.name.endswith(("_total", "_count"))]
            totals[family.name] = sum(s.value for s in counted)
    return totals


class DemoWatcher:
    """Reads the demo's progress lines (standard error) as they come."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stderr:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        def matching_line() -> re.Match | None:
            return next(filter(None, (re.search(pattern, line) for line in list(self.lines))), None)

        return wait_until(matching_line, timeout_s, f"a line matching {pattern!r}")


@pytest.fixture
def demo(settings: Settings) -> Iterator[tuple[subprocess.Popen, DemoWatcher, Settings]]:
    # Servers of its own: the demo's workers must not serve the shared stack's queues.
    with isolated_settings(settings, redis_db=13) as own:
        process = subprocess.Popen(
            [sys.executable, "-m", "genroute", "demo", "--count", "6", "--json", "--judge"],
            env=child_environment(own),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            yield process, DemoWatcher(process), own
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()


@dataclass
class Seen:
    """What the metrics endpoints and Flower showed while the demo ran."""

    api: dict[str, float] = field(default_factory=dict)
    workers: dict[str, float] = field(default_factory=dict)
    flower_workers: set[str] = field(default_factory=set)
    flower_tasks: dict = field(default_factory=dict)


def _look(seen: Seen, ops_url: str, worker_ports: list[int], flower_url: str, auth) -> None:
    seen.api = _counted(httpx.get(f"{ops_url}/metrics", timeout=10).text)
    totals: dict[str, float] = {}
    for port in worker_ports:
        for name, value in _counted(httpx.get(f"http://127.0.0.1:{port}/metrics").text).items():
            totals[name] = totals.get(name, 0.0) + value
    seen.workers = totals
    assert httpx.get(f"{flower_url}/api/workers", timeout=10).status_code == 401
    seen.flower_workers = set(httpx.get(f"{flower_url}/api/workers", auth=auth, timeout=30).json())
    seen.flower_tasks = httpx.get(f"{flower_url}/api/tasks", auth=auth, timeout=30).json()


def test_demo_watched_through_metrics_and_flower(demo, tmp_path: Path) -> None:
    process, watcher, own = demo
    ops_url = watcher.wait_for(r"operators: (http://\S+)/metrics", 240).group(1)
    flower = watcher.wait_for(r"Flower (http://\S+) \(user (\S+), password (\S+)\)", 60)
    flower_url, auth = flower.group(1), (flower.group(2), flower.group(3))
    watcher.wait_for(r"submitted 6 tickets", 60)
    client = redis_from_broker_url(own.broker_url)
    worker_ports = [w["metrics_port"] for w in ready_workers(client)]
    client.close()

    seen = Seen()

    def seen_every_worker_family() -> bool:
        if process.poll() is not None:
            return True
        try:
            _look(seen, ops_url, worker_ports, flower_url, auth)
        except httpx.HTTPError:
            return True  # the demo finished and stopped its stack between two looks
        return all(seen.workers.get(name, 0) > 0 for name in WORKER_FAMILIES)

    wait_until(seen_every_worker_family, 240, "the demo's metrics and Flower seen", 0.5)

    assert all(seen.api.get(name, 0) > 0 for name in API_FAMILIES), seen.api
    assert all(seen.workers.get(name, 0) > 0 for name in WORKER_FAMILIES), seen.workers
    assert {name.split("-")[0] for name in seen.flower_workers} == {"autoregressive", "diffusion"}
    tasks = seen.flower_tasks
    assert tasks and all(task["name"] == "genroute.generate" for task in tasks.values())

    out, _ = process.communicate(timeout=280)
    assert process.returncode == 0, "".join(watcher.lines[-40:])
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["submitted"] == summary["terminal"] == 6
    assert summary["succeeded"] + summary["failed"] == 6
    assert set(summary["by_path"]) == {"autoregressive", "diffusion"}
    assert sum(p["count"] for p in summary["by_path"].values()) == 6
    assert all(sample["attempts"] for sample in summary["samples"])
    assert summary["by_path"]["diffusion"]["attempts"] >= 1
    assert isinstance(summary["rollback_events"], list)
    judge = summary["judge"]  # --judge: summaries that pass every check are put to the judge
    assert 0 <= judge["said_yes"] <= judge["judged_attempts"]
    assert 0 <= judge["judge_cost"] <= judge["cost"]
    assert (judge["judge_cost"] > 0) == (judge["judged_attempts"] > 0)
    report = Path(summary["report"]).read_text()  # the demo ends by writing its scorecard
    assert report.count("<figure data-chart=") == 4 and '"requests"' in report
    _replay_without_diffusion(own, summary["by_path"]["diffusion"]["count"], tmp_path)


def _replay_without_diffusion(own: Settings, routed_to_diffusion: int, tmp_path: Path) -> None:
    """`genroute replay` on the demo's stored traffic: a candidate whose diffusion rules send
    work to the autoregressive path moves exactly what was routed to diffusion."""
    policy = yaml.safe_load(Path(own.policy_file).read_text())
    policy["version"] = "candidate"
    for rule in policy["rules"]:
        if rule["path"] == "diffusion":
            rule["path"] = "autoregressive"
            rule.pop("shadow", None)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(policy))
    command = [sys.executable, "-m", "genroute", "replay", "--policy", str(candidate), "--json"]
    done = subprocess.run(
        command, env=child_environment(own), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["requests"] == 6 and report["policy_version"].startswith("candidate+")
    assert report["would_change_path"] == routed_to_diffusion
    for entry in report["by_task_type"].values():
        assert set(entry["moves"]) <= {"diffusion -> autoregressive"}
        assert set(entry["candidate"]["paths"]) <= {"autoregressive"}
        if entry["candidate"]["paths"]:  # measured on the demo's own autoregressive traffic
            assert "acceptance_rate" in entry["candidate"] or entry["candidate"]["unmeasured"]


def test_the_demo_refuses_servers_that_hold_unfinished_work(settings: Settings) -> None:
    """Configured servers with a task left queued: the demo's workers would run it first, so
    the demo says what it found and does not start."""
    with isolated_settings(settings, redis_db=13) as own:
        engine = make_engine(own.database_url, pool_size=1)
        with make_session_factory(engine).begin() as session:
            session.add(
                Task(
                    id=uuid.uuid4(), task_type="chat", request={"input": "left over"},
                    status="queued", route_path="autoregressive", route_rule="r",
                    policy_version="v1", route_reason="a leftover", max_output_tokens=8,
                    queue="autoregressive", attempt_count=0, max_attempts=3,
                )
            )  # fmt: skip
        engine.dispose()
        done = subprocess.run(
            [sys.executable, "-m", "genroute", "demo", "--count", "1"],
            env=child_environment(own),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert "1 unfinished tasks" in done.stderr and "GENROUTE_DATABASE_URL" in done.stderr
