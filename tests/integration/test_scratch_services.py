"""A benchmark on configured servers works in a scratch database and an empty Redis database,
and leaves both as it found them: nothing it queues is left for the user's workers."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from genroute.db.session import sqlalchemy_url
from genroute.local.scratch_services import scratch_services
from genroute.runtime.queueing import redis_from_broker_url, with_broker_database
from genroute.settings import Settings
from tests.helpers import fresh_database

pytestmark = pytest.mark.integration


def test_a_scratch_run_leaves_the_users_servers_as_it_found_them(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users_broker = with_broker_database(settings.broker_url, 3)
    users_redis = redis_from_broker_url(users_broker)
    users_redis.flushdb()
    users_redis.set("the-users-own-key", "1")
    with fresh_database(settings.database_url) as users_database:
        monkeypatch.setenv("GENROUTE_DATABASE_URL", users_database)
        monkeypatch.setenv("GENROUTE_BROKER_URL", users_broker)
        with scratch_services(tmp_path) as live:
            assert live.database_url != users_database and live.broker_url != users_broker
            scratch_redis = redis_from_broker_url(live.broker_url)
            scratch_redis.rpush("diffusion", "a queued benchmark task")
            engine = create_engine(sqlalchemy_url(live.database_url))
            with engine.begin() as connection:
                connection.execute(text("CREATE TABLE tasks (id int)"))
            engine.dispose()
        assert scratch_redis.dbsize() == 0  # emptied
        scratch_redis.close()
        users_engine = create_engine(sqlalchemy_url(users_database))
        assert inspect(users_engine).get_table_names() == []
        users_engine.dispose()
    assert users_redis.keys() == [b"the-users-own-key"]
    users_redis.flushdb()
    users_redis.close()
