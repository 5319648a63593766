"""A round of background work every few seconds on a daemon thread (the sweeper, the batch
runner, the share controller): a round that raises is logged and the next one still runs,
because the broker or the database may be briefly away."""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `work` every `interval_s` until stopped; `stop` waits up to `grace_s` beyond one
    interval for the round in progress."""

    def __init__(
        self, name: str, interval_s: float, work: Callable[[], object], *, grace_s: float = 5.0
    ) -> None:
        self._name = name
        self._interval_s = interval_s
        self._work = work
        self._grace_s = grace_s
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=self._interval_s + self._grace_s)

    def _run(self) -> None:
        while not self.stopping.wait(self._interval_s):
            try:
                self._work()
            except Exception:
                log.exception("%s: this round failed; the next one runs in %gs", self._name,
                              self._interval_s)  # fmt: skip
