"""Prometheus metrics from the API and both workers while tasks run: every family is there
with samples, and the counters moved."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from genroute.readiness import ready_workers, redis_from_broker_url
from genroute.settings import Settings
from genroute.stack import Stack
from tests.helpers import ticket, wait_for_task

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


def _families(text: str) -> dict[str, list]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _worker_ports(settings: Settings, stack: Stack) -> dict[str, int]:
    """Each of the stack's workers' metrics port, from what it announced when ready."""
    client = redis_from_broker_url(settings.broker_url)
    try:
        ready = ready_workers(client)
    finally:
        client.close()
    ports = {}
    for path, process in stack.workers.items():
        mine = [w for w in ready if process.pid in (w["pid"], w.get("parent_pid"))]
        assert mine, f"the {path} worker announced nothing"
        ports[path] = mine[0]["metrics_port"]
    return ports


def test_api_and_workers_export_every_family(
    client: httpx.Client, stack: Stack, settings: Settings
) -> None:
    # A classification goes to diffusion, fails validation there and falls back.
    task = client.post("/v1/tasks", json=ticket(task_type="classification")).json()
    assert wait_for_task(client, task["id"]).status.value == "succeeded"

    api = _families(httpx.get(f"{stack.api_url}/metrics", timeout=10).text)
    assert set(api) >= API_FAMILIES, sorted(API_FAMILIES - set(api))
    assert all(api[name] for name in API_FAMILIES)
    submitted = [s for s in api["genroute_tasks_submitted"] if s.name.endswith("_total")]
    assert sum(s.value for s in submitted) >= 1

    seen: dict[str, list] = {}
    for port in _worker_ports(settings, stack).values():
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for name, samples in _families(text).items():
            seen.setdefault(name, []).extend(samples)
    assert set(seen) >= WORKER_FAMILIES, sorted(WORKER_FAMILIES - set(seen))
    for name in WORKER_FAMILIES:
        counted = [s for s in seen[name] if s.name.endswith(("_total", "_count"))]
        assert sum(s.value for s in counted) > 0, name
