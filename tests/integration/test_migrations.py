"""Migrations go up, down and up again on a real PostgreSQL."""

import pytest
from sqlalchemy import create_engine, inspect

from genroute.db.migrate import downgrade, upgrade
from genroute.db.session import sqlalchemy_url
from tests.helpers import fresh_database

pytestmark = pytest.mark.integration


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(service_urls: tuple[str, str]) -> None:
    with fresh_database(service_urls[0]) as url:
        upgrade(url)
        assert {"tasks", "attempts", "alembic_version"} <= _tables(url)
        downgrade(url, "base")
        assert _tables(url) == {"alembic_version"}
        upgrade(url)
        assert {"tasks", "attempts"} <= _tables(url)
