"""Operators' details belong to operators. The producers' port serves no metrics, no docs page
and no readiness errors (those are on the internal operators' listener), and a producer's
key reads its attempts without the worker's host, process, GPU or the engine server's URL;
an admin key sees them."""

import httpx
import pytest

from genroute.contract import Scope
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration


def test_the_producers_port_carries_no_operator_endpoints(stack: Stack) -> None:
    for path in ("/metrics", "/docs"):
        assert httpx.get(f"{stack.api_url}{path}", timeout=10).status_code == 404, path
    ready = httpx.get(f"{stack.api_url}/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert httpx.get(f"{stack.api_url}/openapi.json", timeout=10).status_code == 200

    metrics = httpx.get(f"{stack.ops_url}/metrics", timeout=10)
    assert metrics.status_code == 200 and "genroute_tasks_submitted" in metrics.text
    assert set(httpx.get(f"{stack.ops_url}/readyz", timeout=30).json()["checks"]) == {
        "database",
        "broker",
        "policy_files",
    }
    docs = httpx.get(f"{stack.ops_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_a_producer_reads_its_attempts_without_where_they_ran(
    stack: Stack, client: httpx.Client, settings: Settings
) -> None:
    key = issue_key(settings, "producer-x", (Scope.submit, Scope.read))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as producer:
        accepted = producer.post("/v1/tasks", json=ticket(task_type="classification")).json()
        mine = wait_for_task(producer, accepted["id"])
    assert mine.attempts
    for attempt in mine.attempts:
        assert (attempt.worker_host, attempt.worker_name, attempt.worker_pid) == (None,) * 3
        assert attempt.gpu_id is None and "server" not in attempt.engine_facts
        assert attempt.engine and attempt.model  # what ran it is the producer's business
    admin_view = wait_for_task(client, accepted["id"])  # the stack's own key is admin
    assert all(a.worker_host and a.worker_pid for a in admin_view.attempts)


def test_embedding_outputs_in_the_api_needs_an_admin_key(
    stack: Stack, client: httpx.Client, settings: Settings
) -> None:
    key = issue_key(settings, "reader-y", (Scope.read,))
    headers = {"Authorization": f"Bearer {key}"}
    refused = httpx.get(
        f"{stack.api_url}/v1/scorecard", params={"diversity": "true"}, headers=headers, timeout=30
    )
    assert refused.status_code == 403 and "admin key" in refused.json()["detail"]
    plain = httpx.get(f"{stack.api_url}/v1/scorecard", headers=headers, timeout=30)
    assert plain.status_code == 200
    assert client.get("/v1/scorecard", params={"diversity": "true"}, timeout=120).status_code == 200
