"""The client's I/O-free core: retry decisions, batch merging, call building, operations
driven by scripted answers, and the two shells kept to the same operations."""

import inspect

import httpx
import pytest

from genroute.client import AsyncClient, Client
from genroute.client.calls import Calls
from genroute.client.core import Operations, RetryPolicy, Sleep, merge, wait_chunk
from genroute.contract import BatchItemResult, BatchResult


def _response(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"retry-after": retry_after} if retry_after else {}
    return httpx.Response(status, headers=headers)


def test_retries_429_and_503_honouring_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, max_delay_s=10, base_delay_s=0.5)
    assert policy.delay(1, _response(429, "4"), draw=0.0) == 4  # Retry-After is a floor
    assert policy.delay(1, _response(503, "60"), draw=0.0) == 10  # capped
    assert policy.delay(2, _response(503), draw=0.999) == pytest.approx(1.0, rel=1e-3)  # backoff
    assert policy.delay(1, None, draw=0.999) == pytest.approx(0.5, rel=1e-3)  # nothing was sent
    assert policy.delay(4, _response(429, "1"), draw=0.5) is None  # out of retries


def test_retries_are_spread_so_clients_do_not_return_in_lockstep() -> None:
    policy = RetryPolicy(max_retries=8, max_delay_s=30, base_delay_s=0.5)
    after_429 = [policy.delay(1, _response(429, "10"), draw=d) for d in (0.0, 0.5, 0.99)]
    assert after_429[0] == 10 and after_429[0] < after_429[1] < after_429[2] <= 12
    backoffs = [policy.delay(3, None, draw=d) for d in (0.0, 0.5, 0.99)]
    assert backoffs[0] == 1.0 and backoffs[0] < backoffs[1] < backoffs[2] < 2.0


def test_other_answers_are_final() -> None:
    policy = RetryPolicy()
    for status in (200, 202, 400, 401, 404, 409, 422, 500):
        assert policy.delay(1, _response(status), draw=0.5) is None


def test_batches_merge_with_global_indexes() -> None:
    def result(n: int) -> BatchResult:
        items = [BatchItemResult(index=i, outcome="rejected") for i in range(n)]
        return BatchResult(accepted=0, duplicates=0, rejected=n, items=items)

    merged = merge([result(2), result(3)], [2, 3])
    assert [item.index for item in merged] == [0, 1, 2, 3, 4]


def test_wait_call_asks_the_server_to_hold() -> None:
    call = Calls.get("abc", 12)
    assert (call.path, call.params, call.timeout_s) == ("/v1/tasks/abc", {"wait": 12}, 42)
    assert Calls.tasks(None, {"status": "queued", "tag": None}).params == {"status": "queued"}


def test_long_polls_stop_at_the_deadline() -> None:
    assert wait_chunk(None, 100.0, 30) == 30
    assert wait_chunk(110.0, 100.0, 30) == 10
    assert wait_chunk(90.0, 100.0, 30) == 0


def _drive(operation, answers: list[httpx.Response | httpx.ConnectError]):
    """Run an operation against scripted answers; returns (calls made, sleeps, result)."""
    calls, sleeps, answer = [], [], None
    try:
        while True:
            step = operation.send(answer)
            if isinstance(step, Sleep):
                sleeps.append(step.seconds)
                answer = None
            else:
                calls.append(step)
                answer = answers.pop(0)
    except StopIteration as done:
        return calls, sleeps, done.value


def _view(status: str) -> httpx.Response:
    body = {
        "id": "00000000-0000-0000-0000-000000000001",
        "task_type": "ticket_summary",
        "status": status,
        "route": {
            "path": "diffusion",
            "rule": "r",
            "policy_version": "v",
            "fallback_path": None,
            "reason": "x",
            "max_output_tokens": 10,
            "health": "active",
        },
        "output": None,
        "error": None,
        "attempts": [],
        "created_at": "2026-12-01T00:00:00Z",
        "finished_at": None,
    }
    return httpx.Response(200, json=body)


def test_an_operation_retries_through_sleeps_then_answers() -> None:
    ops = Operations(RetryPolicy(max_retries=3), 100, 30.0, clock=lambda: 0.0, draw=lambda: 0.0)
    refused = httpx.ConnectError("refused")
    calls, sleeps, view = _drive(
        ops.get("abc"),
        [refused, httpx.Response(503, headers={"retry-after": "2"}), _view("queued")],
    )
    assert [c.path for c in calls] == ["/v1/tasks/abc"] * 3
    assert sleeps == [0.25, 2.0] and view.status.value == "queued"
    assert view.route.path_state == "active"  # `health` on the wire


def test_wait_long_polls_until_terminal_or_deadline() -> None:
    now = [0.0]
    ops = Operations(RetryPolicy(), 100, 30.0, clock=lambda: now[0], draw=lambda: 0.5)
    operation = ops.wait("abc", timeout_s=45)
    step = next(operation)
    assert step.params == {"wait": 30}
    now[0] = 30.0
    step = operation.send(_view("running"))
    assert step.params == {"wait": 15}  # what is left of the 45 s
    now[0] = 45.0
    step = operation.send(_view("running"))
    assert step.params == {}  # deadline reached: one last plain read
    with pytest.raises(StopIteration) as done:
        operation.send(_view("running"))
    assert done.value.value.status.value == "running"


def test_sync_and_async_clients_offer_the_same_operations() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, asynchronous = public(Client), public(AsyncClient)
    assert sync.keys() == asynchronous.keys()
    for name, signature in sync.items():
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
    operations = {n for n in vars(Operations) if not n.startswith("_")}
    assert set(sync) == operations
