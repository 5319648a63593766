"""Batch submission, listing with filters and cursors, cancelling, long-poll waits, path
health, privacy tiers, deadlines and latency budgets, on a stack of its own that starts with
no worker (so tasks stay queued until a test starts one). Its paths declare diffusion's data as
leaving the node (cluster) and the autoregressive path's as leaving the cluster (external)."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import text

from genroute.db.session import make_engine
from genroute.local.stack import Stack, running_stack, wait_for_workers
from genroute.policies.rollback import PathState, RollbackState
from genroute.runtime.queueing import QUEUES, read_path_backlog, redis_from_broker_url
from genroute.runtime.redis_keys import path_state_key
from genroute.settings import Settings
from tests.helpers import isolated_settings, ticket, wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def idle_stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("idle-stack")
    paths = yaml.safe_load((ROOT / "tests" / "paths.yaml").read_text())
    paths["paths"]["diffusion"]["data_location"] = "cluster"
    paths["paths"]["autoregressive"]["data_location"] = "external"
    # A diffusion attempt waits this long for its batch: slower than the autoregressive path,
    # so a latency budget can be met by one path and not the other.
    paths["paths"]["diffusion"]["batch_wait_ms"] = 4000
    paths_file = folder / "paths.yaml"
    paths_file.write_text(yaml.safe_dump(paths))
    # Bounded batch work goes where its accepted output is expected to cost least.
    policy = (
        (ROOT / "tests" / "policy.yaml")
        .read_text()
        .replace(
            "  - name: bounded-batch-diffusion\n",
            "  - name: bounded-batch-diffusion\n    prefer: cheapest_accepted\n",
        )
    )
    policy_file = folder / "policy.yaml"
    policy_file.write_text(policy)
    with (
        isolated_settings(
            settings, redis_db=9, paths_file=paths_file, policy_file=policy_file
        ) as own,
        running_stack(own, [], folder / "logs") as stack,
    ):
        yield stack


@pytest.fixture
def api(idle_stack: Stack) -> Iterator[httpx.Client]:
    with idle_stack.http() as client:
        yield client


def test_batch_answers_each_item(api: httpx.Client) -> None:
    items = [
        ticket(idempotency_key="row-1", metadata={"batch": "b1"}),
        ticket(colour="blue"),
        ticket(idempotency_key="row-1", metadata={"batch": "b1"}),
        ticket(task_type="poetry"),
        ticket(task_type="classification", metadata={"batch": "b1"}),
    ]
    answer = api.post("/v1/tasks/batch", json={"items": items})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 2)
    outcomes = [(item["index"], item["outcome"]) for item in body["items"]]
    assert outcomes == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "duplicate"),
        (3, "rejected"),
        (4, "accepted"),
    ]
    assert body["items"][2]["task"]["id"] == body["items"][0]["task"]["id"]
    assert body["items"][1]["errors"][0]["field"] == "colour"
    assert "unknown task type 'poetry'" in body["items"][3]["errors"][0]["message"]

    replay = api.post("/v1/tasks/batch", json={"items": items[:1]}).json()
    assert replay["items"][0]["outcome"] == "duplicate"
    assert replay["items"][0]["task"]["id"] == body["items"][0]["task"]["id"]

    too_many = api.post("/v1/tasks/batch", json={"items": [ticket()] * 501})
    assert too_many.status_code == 422 and "the limit is 500" in too_many.json()["detail"]


def test_list_filters_and_cursor_pages(api: httpx.Client) -> None:
    tag = f"list-{time.monotonic_ns()}"
    sent = [
        api.post("/v1/tasks", json=ticket(metadata={"run": tag, "n": str(i)})).json()["id"]
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        params = {"tag": f"run:{tag}", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/tasks", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(sent))  # newest first, each exactly once
    one = api.get("/v1/tasks", params={"tag": [f"run:{tag}", "n:3"]}).json()["items"]
    assert [item["id"] for item in one] == [sent[3]]
    queued = api.get("/v1/tasks", params={"tag": f"run:{tag}", "status": "queued"}).json()
    assert len(queued["items"]) == 5
    assert api.get("/v1/tasks", params={"tag": f"run:{tag}", "status": "failed"}).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert api.get("/v1/tasks", params={"cursor": "garbage"}).status_code == 422
    assert api.get("/v1/tasks", params={"tag": "no-colon"}).status_code == 422


def test_privacy_tier_keeps_requests_off_paths_it_forbids(api: httpx.Client) -> None:
    node = api.post("/v1/tasks", json=ticket(privacy_tier="node"))
    assert node.status_code == 422
    assert node.json()["errors"][0]["field"] == "privacy_tier"
    assert "diffusion sends data to cluster" in node.json()["detail"]

    cluster = api.post("/v1/tasks", json=ticket(privacy_tier="cluster")).json()["route"]
    assert (cluster["path"], cluster["fallback_path"]) == ("diffusion", None)

    # Extraction's rule picks the autoregressive path, whose data leaves the cluster.
    extraction = api.post("/v1/tasks", json=ticket(task_type="extraction"))
    assert extraction.status_code == 422

    external = api.post("/v1/tasks", json=ticket(privacy_tier="external")).json()["route"]
    assert (external["path"], external["fallback_path"]) == ("diffusion", "autoregressive")

    paths = {(p["path"], p["task_type"]): p for p in api.get("/v1/paths").json()}
    assert paths[("diffusion", "ticket_summary")]["data_location"] == "cluster"
    assert paths[("autoregressive", "ticket_summary")]["data_location"] == "external"
    assert paths[("diffusion", "ticket_summary")]["state"] == "active"


def test_cancel_a_queued_task_and_wait_for_others(idle_stack: Stack, api: httpx.Client) -> None:
    keep = api.post("/v1/tasks", json=ticket(task_type="classification", privacy_tier="external"))
    drop = api.post("/v1/tasks", json=ticket(task_type="classification", privacy_tier="external"))
    keep_id, drop_id = keep.json()["id"], drop.json()["id"]
    assert keep.json()["route"]["path"] == "diffusion"

    # Diffusion is rolled back for classification after `keep` was routed there (a long
    # cooldown, so it is still closed when the workers start): the diffusion worker hands
    # `keep` to the fallback queue without running it.
    client = redis_from_broker_url(idle_stack.settings.broker_url)
    closed = RollbackState(PathState.rolled_back, (), time.time(), 600.0)
    client.set(path_state_key("diffusion", "classification"), closed.to_json())
    client.close()

    cancelled = api.post(f"/v1/tasks/{drop_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/v1/tasks/{drop_id}/cancel").json()["status"] == "cancelled"

    # A budget while nothing consumes the queue can never be met: refused before any work.
    hopeless = api.post(
        "/v1/tasks",
        json=ticket(task_type="extraction", latency_budget_ms=300, privacy_tier="external"),
    )
    assert hopeless.status_code == 422, hopeless.text
    assert "no worker consuming its queue" in hopeless.json()["detail"]
    # One whose deadline passes while it waits in the queue: no attempt ever starts.
    late = api.post("/v1/tasks", json=ticket(task_type="extraction", privacy_tier="external"))
    late_id = late.json()["id"]
    _deadline_passes(idle_stack, late_id)
    # A full queue of the least urgent work, then one most urgent task behind it.
    unhurried = [
        api.post(
            "/v1/tasks",
            json=ticket(
                task_type="reasoning_answer", priority=9, fallback="none", privacy_tier="external"
            ),
        )
        for _ in range(10)
    ]
    urgent = api.post(
        "/v1/tasks",
        json=ticket(
            task_type="reasoning_answer", priority=0, fallback="none", privacy_tier="external"
        ),
    )

    started = time.monotonic()
    still_queued = api.get(f"/v1/tasks/{keep_id}", params={"wait": 1}).json()
    assert still_queued["status"] == "queued" and time.monotonic() - started >= 0.9

    worker = idle_stack.start_worker("diffusion")
    wait_for_workers(idle_stack.settings, {"diffusion": worker}, 240)
    worker_ar = idle_stack.start_worker("autoregressive")
    wait_for_workers(idle_stack.settings, {"autoregressive": worker_ar}, 240)
    finished = api.get(f"/v1/tasks/{keep_id}", params={"wait": 60}, timeout=90).json()
    assert finished["status"] == "succeeded"
    lineage = [(a["path"], a["queue"], a["outcome"]) for a in finished["attempts"]]
    assert lineage == [("autoregressive", "fallback", "succeeded")]
    assert "rerouted to fallback at claim" in finished["route"]["reason"]
    assert api.post(f"/v1/tasks/{keep_id}/cancel").status_code == 409

    expired = api.get(f"/v1/tasks/{late_id}", params={"wait": 60}, timeout=90).json()
    assert expired["status"] == "expired" and expired["attempts"] == [], expired
    assert "deadline passed" in expired["error"] and expired["deadline_at"]

    ids = [r.json()["id"] for r in (*unhurried, urgent)]
    views = [api.get(f"/v1/tasks/{i}", params={"wait": 60}, timeout=90).json() for i in ids]
    started_at = sorted((v["attempts"][0]["started_at"], v["id"]) for v in views)
    rank = [task_id for _, task_id in started_at].index(urgent.json()["id"])
    assert rank <= 1, started_at  # first, or second behind one the worker had prefetched

    # Every message, the cancelled task's too, was delivered and acknowledged; it claimed nothing.
    broker = redis_from_broker_url(idle_stack.settings.broker_url)
    everything = {"all": QUEUES}
    wait_until(lambda: read_path_backlog(broker, everything)["all"] == 0, 30, "the broker drained")
    broker.close()
    dropped = api.get(f"/v1/tasks/{drop_id}").json()
    assert dropped["status"] == "cancelled" and dropped["attempts"] == []


def _deadline_passes(stack: Stack, task_id: str) -> None:
    """Give a queued task a deadline that has passed (as a budget running out in the queue)."""
    engine = make_engine(stack.settings.database_url, pool_size=1)
    with engine.begin() as connection:
        statement = text("UPDATE tasks SET deadline_at = now() WHERE id = :id")
        connection.execute(statement, {"id": task_id})
    engine.dispose()


def _workers_running(stack: Stack) -> None:
    started = {
        p: stack.start_worker(p) for p in ("diffusion", "autoregressive") if p not in stack.workers
    }
    wait_for_workers(stack.settings, started, 240)


def test_latency_budgets_are_judged_by_live_estimates(idle_stack: Stack, api: httpx.Client) -> None:
    """After a few ticket summaries ran on both paths (diffusion first, then the fallback),
    a budget only the autoregressive path meets is rerouted there, and one no path meets is
    refused with the estimates. Before any attempt of a type, each path is estimated from its
    workers' warm-up."""
    _workers_running(idle_stack)
    time.sleep(idle_stack.settings.estimate_refresh_s + 0.2)  # past the figures' refresh
    query = {"task_type": "batch_summary", "max_output_tokens": 32}
    cold = {e["path"]: e for e in api.get("/v1/paths/estimates", params=query).json()}
    for estimate in cold.values():
        assert estimate["service_s"] and estimate["service_s"] > 0, cold
        assert "warm-up" in estimate["summary"], cold
    evidence = [
        api.post("/v1/tasks", json=ticket(privacy_tier="external", max_output_tokens=8)).json()[
            "id"
        ]
        for _ in range(3)
    ]
    for task_id in evidence:
        api.get(f"/v1/tasks/{task_id}", params={"wait": 60}, timeout=90)
    time.sleep(idle_stack.settings.estimate_refresh_s + 0.5)  # past the figures' refresh
    estimates = api.get("/v1/paths/estimates", params={"task_type": "ticket_summary"}).json()
    by_path = {e["path"]: e["completion_s"] for e in estimates}
    slow, fast = by_path["diffusion"], by_path["autoregressive"]
    assert slow is not None and fast is not None and fast < slow, estimates

    budget_ms = int(1000 * (fast + slow) / 2)
    moved = api.post(
        "/v1/tasks", json=ticket(privacy_tier="external", latency_budget_ms=budget_ms)
    ).json()
    assert moved["route"]["path"] == "autoregressive", moved
    assert "rerouted to autoregressive" in moved["route"]["reason"]

    hopeless = api.post("/v1/tasks", json=ticket(privacy_tier="external", latency_budget_ms=1))
    assert hopeless.status_code == 422
    error = hopeless.json()["errors"][0]
    assert error["field"] == "latency_budget_ms"
    assert "diffusion ~" in error["message"] and "autoregressive ~" in error["message"]
    anyway = api.post(
        "/v1/tasks",
        json=ticket(privacy_tier="external", latency_budget_ms=1, best_effort=True),
    )
    assert anyway.status_code == 202 and "best effort" in anyway.json()["route"]["reason"]
    ran = api.get(f"/v1/tasks/{anyway.json()['id']}", params={"wait": 90}, timeout=120).json()
    assert ran["deadline_at"] is None and ran["status"] != "expired", ran  # it runs anyway
    assert ran["attempts"], ran


def test_no_fallback_is_tried_past_the_deadline(idle_stack: Stack, api: httpx.Client) -> None:
    """A diffusion attempt here takes over 4 s (its batch wait) and the tiny random model's
    rewrite fails validation: with a 3.9 s budget (on a task type no path has measured yet, so
    the budget is judged at submit by the workers' warm-up, which a lone generation meets
    even on a loaded machine), the deadline passes during the attempt, and the task ends
    `expired` after it instead of trying the fallback. (At 1.5 s, then 2.4 s, a warm-up slowed
    by other test workers on the same cores sent the task to the other path.)"""
    _workers_running(idle_stack)
    request = ticket(task_type="short_transform", privacy_tier="external", latency_budget_ms=3900)
    accepted = api.post("/v1/tasks", json=request).json()
    assert accepted["route"]["path"] == "diffusion", accepted
    task = api.get(f"/v1/tasks/{accepted['id']}", params={"wait": 60}, timeout=90).json()
    assert task["status"] == "expired", task
    [attempt] = task["attempts"]
    assert attempt["path"] == "diffusion" and attempt["outcome"] == "invalid"
    assert "no fallback was tried" in task["error"]


def test_cheapest_accepted_goes_where_measured_outputs_cost_least(
    idle_stack: Stack, api: httpx.Client
) -> None:
    """Synthetic examples pass validation on both paths (random text is acceptable there): once
    each path has first attempts of the type (tool calls keep some on the autoregressive path),
    the rule's `prefer: cheapest_accepted` sends the next one to the cheaper path by the
    measured cost per canvas or token."""
    _workers_running(idle_stack)
    examples = ticket(task_type="synthetic_examples", privacy_tier="external", max_output_tokens=24)
    evidence = [api.post("/v1/tasks", json=examples).json() for _ in range(2)]
    evidence += [
        api.post("/v1/tasks", json={**examples, "requires_tool_calls": True}).json()
        for _ in range(2)
    ]
    assert {e["route"]["path"] for e in evidence} == {"diffusion", "autoregressive"}, evidence
    for task in evidence:
        api.get(f"/v1/tasks/{task['id']}", params={"wait": 60}, timeout=90)
    time.sleep(idle_stack.settings.estimate_refresh_s + 0.5)
    query = {"task_type": "synthetic_examples", "max_output_tokens": 24}
    figures = {e["path"]: e for e in api.get("/v1/paths/estimates", params=query).json()}
    costs = {path: e["cost_per_accepted_output"] for path, e in figures.items()}
    assert None not in costs.values(), figures
    cheaper = min(costs, key=costs.__getitem__)
    routed = api.post("/v1/tasks", json=examples).json()["route"]
    assert routed["path"] == cheaper, (routed, figures)
    assert (
        "cheapest" in routed["reason"] and figures["diffusion"]["cost_summary"] in routed["reason"]
    )
