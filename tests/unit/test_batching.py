"""The Batcher groups concurrent requests (a fake engine stands in for the model here)."""

import itertools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, datetime

import pytest

from genroute.errors import ClaimLost, EngineTimeout
from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.batching import Batcher, EngineRun, wait_for_result
from tests.helpers import wait_until


class RecordingEngine:
    name = "recording"
    model = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.batches.append(len(requests))
        if self.fail:
            raise RuntimeError("model exploded")
        now = datetime.now(UTC)
        return [
            Generation(r.prompt.upper(), 1, 1, now, now, now, {"batch_size": len(requests)})
            for r in requests
        ]


def _request(text: str) -> GenerationRequest:
    return GenerationRequest("system", text, 8)


def test_concurrent_requests_share_one_call_and_get_their_own_results() -> None:
    engine = RecordingEngine()
    batcher = Batcher(engine, max_batch=8, max_wait_s=0.3)
    futures = [batcher.submit(_request(f"r{i}")) for i in range(5)]
    results = [f.result(timeout=5) for f in futures]
    batcher.close()
    assert [r.text for r in results] == ["R0", "R1", "R2", "R3", "R4"]
    assert engine.batches == [5]


def test_batches_never_exceed_the_width() -> None:
    engine = RecordingEngine()
    batcher = Batcher(engine, max_batch=3, max_wait_s=0.2)
    futures = [batcher.submit(_request(str(i))) for i in range(7)]
    for future in futures:
        future.result(timeout=5)
    batcher.close()
    assert max(engine.batches) <= 3 and sum(engine.batches) == 7


def test_a_lone_request_waits_at_most_the_window() -> None:
    engine = RecordingEngine()
    batcher = Batcher(engine, max_batch=8, max_wait_s=0.05)
    started = time.monotonic()
    batcher.submit(_request("alone")).result(timeout=5)
    assert time.monotonic() - started < 2
    batcher.close()
    assert engine.batches == [1]


def test_an_engine_failure_reaches_every_waiter_and_the_batcher_goes_on() -> None:
    engine = RecordingEngine(fail=True)
    batcher = Batcher(engine, max_batch=4, max_wait_s=0.2)
    futures = [batcher.submit(_request(str(i))) for i in range(3)]
    for future in futures:
        with pytest.raises(RuntimeError, match="model exploded"):
            future.result(timeout=5)
    engine.fail = False
    assert batcher.submit(_request("after")).result(timeout=5).text == "AFTER"
    batcher.close()


def test_submissions_from_many_threads() -> None:
    engine = RecordingEngine()
    batcher = Batcher(engine, max_batch=4, max_wait_s=0.1)
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        text = batcher.submit(_request(f"t{i}")).result(timeout=5).text
        with lock:
            results.append(text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert sorted(results) == sorted(f"T{i}" for i in range(12))
    assert max(engine.batches) <= 4


class ShortEngine(RecordingEngine):
    """Answers one request fewer than it was given: a bug around the engine's own call."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        return super().generate(requests)[:-1]


def test_a_failure_around_the_engine_fails_its_batch_and_not_the_thread() -> None:
    engine = ShortEngine()
    batcher = Batcher(engine, max_batch=2, max_wait_s=0.3)
    first = [batcher.submit(_request("a")), batcher.submit(_request("b"))]
    for future in first:
        with pytest.raises(Exception, match="answered 1 of 2"):
            future.result(timeout=5)
    engine.__class__ = RecordingEngine  # the engine recovers; the batcher must still run
    assert batcher.submit(_request("c")).result(timeout=5).text == "C"
    batcher.close()


def test_a_request_given_up_before_its_batch_is_not_run() -> None:
    engine = RecordingEngine()
    batcher = Batcher(engine, max_batch=4, max_wait_s=0.3)
    gone = threading.Event()
    gone.set()
    dropped = batcher.submit(GenerationRequest("system", "lost", 8, cancel=gone))
    kept = batcher.submit(_request("kept"))
    assert kept.result(timeout=5).text == "KEPT"
    assert dropped.cancelled() and engine.batches == [1]
    batcher.close()


def test_waiting_ends_when_the_claim_is_lost_or_time_is_up() -> None:
    slow = Future()  # a generation that would take far longer than the test
    lost = threading.Event()
    threading.Timer(0.2, lost.set).start()
    started = time.monotonic()
    with pytest.raises(ClaimLost):
        wait_for_result(slow, lost, timeout_s=30)
    assert time.monotonic() - started < 1.0 and slow.cancelled()
    with pytest.raises(EngineTimeout, match=r"soft limit of 0\.3s"):
        wait_for_result(Future(), None, timeout_s=0.3)


class SlowEngine(RecordingEngine):
    """Takes `seconds` per batch, as a model does."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started: list[float] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.started.append(time.monotonic())
        time.sleep(self.seconds)
        return super().generate(requests)


def test_requests_that_queued_during_a_batch_start_the_next_at_once() -> None:
    # The window is long; only an idle engine may wait it. Requests that arrived while the
    # first batch ran have waited already: the second batch starts as soon as the first ends.
    engine = SlowEngine(seconds=0.4)
    batcher = Batcher(engine, max_batch=2, max_wait_s=3.0)
    first = [batcher.submit(_request("a")), batcher.submit(_request("b"))]
    wait_until(lambda: engine.started, 5, "the first batch (full) running")
    queued = [batcher.submit(_request(c)) for c in "cde"]
    for future in first + queued:
        future.result(timeout=10)
    batcher.close()
    assert engine.batches == [2, 2, 1]
    gaps = [b - a for a, b in itertools.pairwise(engine.started)]
    assert all(gap < 0.4 + 0.3 for gap in gaps), gaps


def test_a_request_finding_the_engine_idle_waits_the_window_for_company() -> None:
    engine = SlowEngine(seconds=0.0)
    batcher = Batcher(engine, max_batch=4, max_wait_s=0.5)
    lone = batcher.submit(_request("first"))
    # The batcher holds the lone request (taken off its queue) while its window is open.
    wait_until(batcher._queue.empty, 0.4, "the lone request taken into a batch")
    company = batcher.submit(_request("second"))
    lone.result(timeout=5), company.result(timeout=5)
    batcher.close()
    assert engine.batches == [2]


def test_the_time_limit_counts_from_the_batch_start_not_the_wait_for_it() -> None:
    """A claimed-ahead request waits a whole batch before its own: the soft limit is for the
    engine's work on it, so waiting must not time it out (nor be taken for its service)."""
    engine = SlowEngine(seconds=0.4)
    batcher = Batcher(engine, max_batch=1, max_wait_s=0.0)
    ahead_run, behind_run = EngineRun(), EngineRun()
    ahead = batcher.submit(_request("ahead"), ahead_run)
    behind = batcher.submit(_request("behind"), behind_run)
    wait_for_result(ahead, None, timeout_s=0.6, run=ahead_run)
    assert wait_for_result(behind, None, timeout_s=0.6, run=behind_run).text == "BEHIND"
    batcher.close()
    assert behind_run.started is not None and ahead_run.started is not None
    assert behind_run.started - ahead_run.started >= 0.35  # it waited the batch ahead
    assert behind_run.batch_size == 1


def test_an_engine_run_shares_its_batch_time() -> None:
    engine = SlowEngine(seconds=0.3)
    batcher = Batcher(engine, max_batch=2, max_wait_s=0.5)
    runs = [EngineRun(), EngineRun()]
    futures = [batcher.submit(_request(c), run) for c, run in zip("ab", runs, strict=True)]
    for future in futures:
        future.result(timeout=5)
    batcher.close()
    assert [run.batch_size for run in runs] == [2, 2]
    assert 0.14 <= runs[0].share_s() < 2.0  # half the batch's time (and what passed since)
    assert EngineRun().share_s() == 0.0  # never started: waiting for a batch costs nothing
