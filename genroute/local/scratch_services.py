"""Servers for a benchmark or a one-off run that leave nothing in the user's own stack: where
no server is configured, embedded ones in a scratch folder; on configured servers, a scratch
PostgreSQL database (dropped afterwards) and a Redis database that was empty (emptied
afterwards), so no task a benchmark queues is ever left for the user's workers to run."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from genroute.db.scratch import scratch_database
from genroute.errors import ConfigurationError
from genroute.local.embedded import services
from genroute.runtime.queueing import (
    broker_database,
    redis_from_broker_url,
    with_broker_database,
)
from genroute.settings import Settings

# Held in a scratch Redis database while it is in use, so two runs never pick the same one.
_CLAIM_KEY = "genroute:scratch:claimed"


@contextlib.contextmanager
def scratch_services(folder: Path) -> Iterator[Settings]:
    """Settings whose servers are this run's own (see the module's docstring)."""
    base = Settings(data_dir=folder)
    with contextlib.ExitStack() as stack:
        updates: dict[str, str] = {}
        if base.database_url:
            updates["database_url"] = stack.enter_context(
                scratch_database(base.database_url, "genroute_bench")
            )
        if base.broker_url:
            updates["broker_url"] = stack.enter_context(_empty_redis_database(base.broker_url))
        yield stack.enter_context(services(base.model_copy(update=updates)))


@contextlib.contextmanager
def _empty_redis_database(broker_url: str) -> Iterator[str]:
    """The same Redis server's first empty database above 0 (the default, never used), held
    while the block runs and emptied when it ends."""
    current = broker_database(broker_url)
    for number in range(1, 16):
        if number == current:
            continue
        url = with_broker_database(broker_url, number)
        client = redis_from_broker_url(url)
        try:
            if client.dbsize() == 0 and client.set(_CLAIM_KEY, "1", nx=True):
                try:
                    yield url
                finally:
                    client.flushdb()
                return
        finally:
            client.close()
    raise ConfigurationError(
        f"no empty Redis database beside {broker_url} for a scratch run; set "
        "GENROUTE_BROKER_URL to an empty one, or unset it to use an embedded Redis"
    )
