"""Retry a worker's database writes through a PostgreSQL outage.

A generated output is only in this process's memory until it is recorded, so losing the
connection must not lose it: the write is retried with backoff for up to `budget_s`. The claim
still guards the result: if another worker took the task over meanwhile, the late write is
recorded as superseded, never accepted twice.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_connection_error(exc: BaseException) -> bool:
    """The database is out of reach (or dropped this connection): nothing was written."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def is_transient(exc: BaseException) -> bool:
    """Worth running the whole transaction again: an unreachable database, or a deadlock or
    serialization failure (PostgreSQL rolled the transaction back; a rerun may pass)."""
    if is_connection_error(exc):
        return True
    original = getattr(exc, "orig", None)
    return isinstance(
        original, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
    )


def with_db_retry(write: Callable[[], T], budget_s: float, what: str) -> T:
    """Run `write` (one whole transaction), retrying it through transient failures for up to
    `budget_s`, with jittered backoff so workers that failed together do not retry together."""
    deadline = time.monotonic() + budget_s
    delay = 0.5
    while True:
        try:
            return write()
        except DBAPIError as exc:
            pause = delay * (0.5 + random.random())
            if not is_transient(exc) or time.monotonic() + pause > deadline:
                raise
            problem = "unreachable" if is_connection_error(exc) else "rolled back a transaction"
            log.warning("database %s while %s; retrying in %.1fs", problem, what, pause)
            time.sleep(pause)
            delay = min(delay * 2, 5.0)
