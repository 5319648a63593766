"""Migrations go up, down and up again on a real PostgreSQL."""

import pytest
from sqlalchemy import create_engine, inspect, text

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


def test_models_match_the_migrations(settings) -> None:
    """The SQLAlchemy models and the migrated schema agree (no change left un-migrated)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from genroute.db.models import Base

    engine = create_engine(sqlalchemy_url(settings.database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            indexes = set(conn.scalars(text("SELECT indexname FROM pg_indexes")))
    finally:
        engine.dispose()
    # Alembic cannot compare expression indexes with an operator class; check it exists.
    assert "ix_tasks_metadata" in indexes
    assert [d for d in diff if getattr(d[1], "name", None) != "ix_tasks_metadata"] == []
