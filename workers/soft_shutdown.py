"""A soft shutdown that ends when the running tasks do. Celery's sleeps its whole timeout
(`worker_soft_shutdown_timeout`) whenever any task is running, however soon it finishes: every
deploy then took the full grace period (30 s by default) per worker, and a supervisor with a
shorter one killed workers that had long been idle. This one waits only while tasks run, at
most the timeout; what is still running then is requeued by the cold shutdown, as before."""

import logging
import time

from celery import Celery
from celery.apps.worker import Worker
from celery.worker import state

log = logging.getLogger(__name__)

_POLL_S = 0.1


class PromptSoftShutdownWorker(Worker):
    def wait_for_soft_shutdown(self) -> None:
        timeout = float(self.app.conf.worker_soft_shutdown_timeout or 0)
        if timeout <= 0 or not state.active_requests:
            return
        log.warning(
            "soft shutdown: waiting up to %gs for %d running tasks",
            timeout,
            len(state.active_requests),
        )
        deadline = time.monotonic() + timeout
        while state.active_requests and time.monotonic() < deadline:
            time.sleep(_POLL_S)


def use_prompt_soft_shutdown(app: Celery) -> None:
    """Make `app.worker_main` run the worker above (Celery builds its worker from `app.Worker`,
    a cached property this sets on the instance)."""
    app.Worker = app.subclass_with_self(PromptSoftShutdownWorker)  # type: ignore[method-assign]
