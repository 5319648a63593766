"""The client's I/O-free core: retry decisions, batch merging and call building."""

import httpx

from genroute.api_models import BatchItemResult, BatchResult
from genroute.client_core import Calls, RetryPolicy, merge, wait_chunk


def _response(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"retry-after": retry_after} if retry_after else {}
    return httpx.Response(status, headers=headers)


def test_retries_429_and_503_honouring_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, max_delay_s=10, base_delay_s=0.5)
    assert policy.delay(1, _response(429, "4")) == 4
    assert policy.delay(1, _response(503, "60")) == 10  # capped
    assert policy.delay(2, _response(503)) == 1.0  # backoff without the header
    assert policy.delay(1, None) == 0.5  # connection refused: nothing was sent
    assert policy.delay(4, _response(429, "1")) is None  # out of retries


def test_other_answers_are_final() -> None:
    policy = RetryPolicy()
    for status in (200, 202, 400, 401, 404, 409, 422, 500):
        assert policy.delay(1, _response(status)) is None


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
