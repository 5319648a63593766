"""Retry a worker's database writes through a PostgreSQL outage.

A generated output is only in this process's memory until it is recorded, so losing the
connection must not lose it: the write is retried with backoff for up to `budget_s`. The claim
still guards the result: if another worker took the task over meanwhile, the late write is
recorded as superseded, never accepted twice.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def with_db_retry(write: Callable[[], T], budget_s: float, what: str) -> T:
    """Run `write` (one whole transaction), retrying it while the database is unreachable."""
    deadline = time.monotonic() + budget_s
    delay = 0.5
    while True:
        try:
            return write()
        except DBAPIError as exc:
            if not is_connection_error(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("database unreachable while %s; retrying in %.1fs", what, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
