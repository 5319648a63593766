"""Keeps a claim alive while a generation runs, from a background thread with its own session.

If the process dies the renewals stop, the lease expires, and a redelivered message or the
sweeper hands the task to another worker. Renewals also stop after `max_hold_s` (the hard time
limit): a generation stuck past it, which no time limit can interrupt on the threads pool,
gives its task up rather than holding it forever. When a renewal finds the claim taken over,
`lost` is set: the attempt gives up its generation (see `GenerationRequest.cancel`).
"""

import logging
import threading
import time
import uuid
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from genroute.db.attempts import renew_lease

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Context manager renewing `attempt_id`'s lease every third of `lease_s`, for at most
    `max_hold_s`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        attempt_id: uuid.UUID,
        lease_s: float,
        max_hold_s: float,
    ) -> None:
        self._sessions = sessions
        self._attempt_id = attempt_id
        self._lease_s = lease_s
        self._give_up_at = time.monotonic() + max_hold_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self.lost = threading.Event()

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._lease_s)

    def _run(self) -> None:
        while not self._stop.wait(self._lease_s / 3):
            if time.monotonic() > self._give_up_at:
                log.warning(
                    "attempt %s ran past its hard limit; its claim will lapse", self._attempt_id
                )
                return
            try:
                with self._sessions.begin() as session:
                    if not renew_lease(session, self._attempt_id, self._lease_s):
                        self.lost.set()
                        log.warning("claim of attempt %s was taken over", self._attempt_id)
                        return
            except Exception:  # a failed renewal must not kill the generation; the next may work
                log.exception("could not renew the lease of attempt %s", self._attempt_id)
