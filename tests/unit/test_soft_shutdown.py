"""A worker's soft shutdown ends when its running tasks do, not a whole grace period later."""

import threading
import time

from celery import Celery
from celery.worker import state

from genroute.workers.soft_shutdown import PromptSoftShutdownWorker, use_prompt_soft_shutdown


class _Running:
    """Stands for a task request in Celery's registry of running ones (a weak set)."""


def _worker(timeout_s: float) -> PromptSoftShutdownWorker:
    app = Celery("soft-shutdown-test", set_as_current=False)
    app.conf.worker_soft_shutdown_timeout = timeout_s
    use_prompt_soft_shutdown(app)
    worker = app.Worker.__new__(app.Worker)  # only its soft shutdown is exercised
    worker.app = app
    return worker


def test_the_wait_ends_when_the_running_task_finishes() -> None:
    worker = _worker(timeout_s=30)
    running = _Running()
    state.active_requests.add(running)
    threading.Timer(0.2, state.active_requests.discard, args=(running,)).start()
    started = time.monotonic()
    worker.wait_for_soft_shutdown()
    assert time.monotonic() - started < 10  # Celery's own would sleep the whole 30 s
    assert not state.active_requests


def test_an_idle_worker_does_not_wait_and_a_stuck_task_waits_at_most_the_timeout() -> None:
    started = time.monotonic()
    _worker(timeout_s=30).wait_for_soft_shutdown()
    assert time.monotonic() - started < 1
    stuck = _Running()
    state.active_requests.add(stuck)
    try:
        started = time.monotonic()
        _worker(timeout_s=0.3).wait_for_soft_shutdown()
        assert 0.3 <= time.monotonic() - started < 5
    finally:
        state.active_requests.discard(stuck)
