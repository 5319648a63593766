"""Integration tests share one stack, and with it the rollback controller's state in Redis:
each test starts with every path active, so one test's failures never reroute another's.
Scorecard tests share a database seeded by hand."""

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session

from genroute.db.migrate import upgrade
from genroute.db.session import make_engine
from genroute.runtime.redis_keys import PATH_STATE_PREFIX
from tests.helpers import fresh_database
from tests.scorecard_seed import seed_scorecard


@pytest.fixture(autouse=True)
def every_path_active(redis_client: redis.Redis) -> Iterator[None]:
    keys = list(redis_client.scan_iter(match=f"{PATH_STATE_PREFIX}*"))
    if keys:
        redis_client.delete(*keys)
    yield


@pytest.fixture(scope="module")
def seeded(service_urls: tuple[str, str]) -> Iterator[Session]:
    """A fresh database holding the hand-made scorecard data of `tests.scorecard_seed`; the
    session's `info["seeded_at"]` says when the seeded tasks were created."""
    with fresh_database(service_urls[0]) as url:
        upgrade(url)
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            session.info["seeded_at"] = seed_scorecard(session)
            session.commit()
            yield session
        engine.dispose()
