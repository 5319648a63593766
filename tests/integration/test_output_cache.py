"""The cache of accepted outputs on the running stack (the suite's catalog adds `cached_label`,
cached within an owner, and `shared_label`, cached for every owner): a repeat is answered at
submit without a model call, as an attempt of its own that costs nothing and that the
scorecard counts apart; another owner misses unless the cache is global; the OpenAI route
answers a repeat too; and an output that failed its checks is never kept."""

import uuid

import httpx
import openai
import pytest
from sqlalchemy import delete, func, select

from genroute.contract import AttemptOutcome, Scope, TaskRequest
from genroute.db.attempts import AttemptResult, WorkerIdentity, claim_task, record_attempt
from genroute.db.models import OutputCacheEntry, Task
from genroute.db.tasks import create_task, mark_published
from genroute.interfaces import Verdict
from genroute.local.stack import Stack, issue_key
from genroute.runtime.routing_policy import load_routing_policy
from tests.helpers import wait_for_task

pytestmark = pytest.mark.integration


def _client(stack: Stack, owner: str) -> httpx.Client:
    secret = issue_key(stack.settings, owner, (Scope.submit, Scope.read))
    return httpx.Client(base_url=stack.api_url, headers={"X-API-Key": secret}, timeout=60)


def _ticket() -> str:
    return f"I was charged twice for order #{uuid.uuid4().hex[:6].upper()}; please refund one."


def _label(client: httpx.Client, task_type: str, text: str) -> dict:
    answer = client.post("/v1/tasks", json={"task_type": task_type, "input": text})
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_a_repeat_is_answered_from_the_cache_without_a_model_call(stack: Stack) -> None:
    text = _ticket()
    with _client(stack, f"cache-{uuid.uuid4().hex[:6]}") as client:
        first = _label(client, "cached_label", text)
        assert first["status"] == "queued"
        original = wait_for_task(client, first["id"])
        assert original.status == "succeeded", original.error  # label scoring: always a label
        # The same words, spaced differently: the same request.
        again = _label(client, "cached_label", "  " + text.replace(" ", "   ") + "\n")
        assert again["status"] == "succeeded"
        repeat = wait_for_task(client, again["id"], timeout_s=5)
        scorecard = client.get("/v1/scorecard", params={"by": "task_type"}).json()
        spend = client.get("/v1/spend", params={"by": "task_type"}).json()
    assert repeat.output == original.output
    [attempt] = repeat.attempts
    assert attempt.outcome == AttemptOutcome.cached and attempt.engine == "cache"
    assert attempt.cost == 0 and attempt.model == original.attempts[-1].model
    [row] = [r for r in scorecard["rows"] if r["task_type"] == "cached_label"]
    assert row["cached"] == 1 and row["requests"] == 1  # the hit is no evidence about a path
    [spent] = spend["rows"]
    assert spent["cached_outputs"] == 1 and spent["accepted_outputs"] == 2
    scraped = httpx.get(f"{stack.ops_url}/metrics").text
    assert 'genroute_cache_lookups_total{result="hit",task_type="cached_label"}' in scraped


def test_another_owner_misses_unless_the_cache_is_global(stack: Stack) -> None:
    text = _ticket()
    with _client(stack, "cache-owner-a") as first, _client(stack, "cache-owner-b") as second:
        for task_type in ("cached_label", "shared_label"):
            done = wait_for_task(first, _label(first, task_type, text)["id"])
            assert done.status == "succeeded", done.error
        assert _label(second, "cached_label", text)["status"] == "queued"  # owner scope
        shared = _label(second, "shared_label", text)
        assert shared["status"] == "succeeded"  # global scope: any owner's repeat
        assert second.get(f"/v1/tasks/{shared['id']}").json()["owner"] == "cache-owner-b"


def test_the_openai_route_answers_a_repeat_from_the_cache(stack: Stack) -> None:
    secret = issue_key(stack.settings, "cache-sdk", (Scope.submit, Scope.read))
    messages = [{"role": "user", "content": _ticket()}]
    with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=secret, max_retries=0) as sdk:
        first = sdk.chat.completions.create(model="cached_label", messages=messages)
        again = sdk.chat.completions.create(model="cached_label", messages=messages)
        chunks = list(
            sdk.chat.completions.create(model="cached_label", messages=messages, stream=True)
        )
    assert again.choices[0].message.content == first.choices[0].message.content
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == first.choices[0].message.content  # a hit streams as its one last chunk
    assert again.id != first.id


def test_an_output_that_failed_its_checks_is_never_kept(settings, sessions) -> None:
    policy = load_routing_policy(settings)
    request = TaskRequest(task_type="cached_label", input=_ticket())
    worker = WorkerIdentity("autoregressive", "e", "m", "host", "w", 1, None)
    with sessions.begin() as session:
        task = create_task(session, request, policy.decide(request), 1)
        task.cache = {"key": uuid.uuid4().hex * 2, "ttl_s": 60}
        mark_published(session, [task.id])  # the stack's sweeper leaves it alone
        task_id, key = task.id, task.cache["key"]
    with sessions.begin() as session:
        attempt = claim_task(session, task_id, "autoregressive", worker, 30).attempt
        refused = Verdict("allowed_values", False, {"found": "maybe"})
        result = AttemptResult(AttemptOutcome.succeeded, output_text="maybe")
        record_attempt(session, attempt.id, result, [refused])
    with sessions() as session:
        kept = session.scalar(select(func.count()).where(OutputCacheEntry.key == key))
    assert kept == 0


def test_an_entry_goes_with_the_task_that_produced_it(stack: Stack, sessions) -> None:
    """Retention deletes old tasks; their outputs must not live on in the cache."""
    with _client(stack, f"cache-{uuid.uuid4().hex[:6]}") as client:
        done = wait_for_task(client, _label(client, "cached_label", _ticket())["id"])
    assert done.status == "succeeded", done.error
    kept = select(func.count()).where(OutputCacheEntry.source_task_id == done.id)
    with sessions.begin() as session:
        assert session.scalar(kept) == 1
        session.execute(delete(Task).where(Task.id == done.id))
    with sessions() as session:
        assert session.scalar(kept) == 0
