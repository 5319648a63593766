"""Migrations go up, down and up again on a real PostgreSQL."""

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect, text

from genroute.db.migrate import downgrade, upgrade
from genroute.db.session import sqlalchemy_url
from genroute.local.embedded import child_environment
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
    # Alembic cannot compare expression indexes with an operator class; check they exist.
    expressions = {"ix_tasks_metadata", "ix_tasks_request_attachments"}
    assert expressions <= indexes
    assert [d for d in diff if getattr(d[1], "name", None) not in expressions] == []


SEED_AT_0004 = """
INSERT INTO tasks (id, task_type, request, status, route_path, route_rule, policy_version,
    fallback_path, route_reason, route_health, max_output_tokens, queue, attempt_count,
    max_attempts, owner, created_at, updated_at, enqueued_at, published_at, finished_at)
VALUES
  ('00000000-0000-0000-0000-0000000000a1', 'ticket_summary', '{"input": "a"}', 'succeeded',
   'diffusion', 'r', 'v1', 'autoregressive', 'x', 'active', 96, 'fallback', 2, 3, 'billing',
   '2026-11-20 10:05+00', '2026-11-20 10:05+00', '2026-11-20 10:05+00',
   '2026-11-20 10:05+00', '2026-11-20 10:05:30+00'),
  ('00000000-0000-0000-0000-0000000000a2', 'ticket_summary', '{"input": "b"}', 'failed',
   'diffusion', 'r', 'v1', 'autoregressive', 'x', 'rolled_back', 96, 'fallback', 1, 1, 'billing',
   '2026-11-20 10:40+00', '2026-11-20 10:40+00', '2026-11-20 10:40+00',
   '2026-11-20 10:40+00', '2026-11-20 10:40:10+00'),
  ('00000000-0000-0000-0000-0000000000a3', 'extraction', '{"input": "c"}', 'queued',
   'autoregressive', 'r', 'v1', 'autoregressive', 'x', 'active', 96, 'autoregressive', 0, 3,
   NULL, '2026-11-20 11:00+00', '2026-11-20 11:00+00', '2026-11-20 11:00+00', NULL, NULL);
INSERT INTO attempts (id, task_id, attempt_no, path, queue, outcome, tokens_out, engine_facts,
    enqueued_at, started_at, first_output_at, finished_at)
VALUES
  ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000a1', 1,
   'diffusion', 'diffusion', 'invalid', 32, '{"gpu_seconds": 2.0, "cost": 0.004}',
   '2026-11-20 10:05+00', '2026-11-20 10:05:01+00', '2026-11-20 10:05:03+00',
   '2026-11-20 10:05:05+00'),
  ('00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000a1', 2,
   'autoregressive', 'fallback', 'succeeded', 20, '{"gpu_seconds": 1.0, "cost": 0.001}',
   '2026-11-20 10:05:05+00', '2026-11-20 10:05:07+00', '2026-11-20 10:05:08+00',
   '2026-11-20 10:05:30+00'),
  ('00000000-0000-0000-0000-0000000000b3', '00000000-0000-0000-0000-0000000000a2', 1,
   'diffusion', 'diffusion', 'timeout', NULL, '{"gpu_seconds": 3.0, "cost": 0.006}',
   '2026-11-20 10:40+00', '2026-11-20 10:40:02+00', NULL, '2026-11-20 10:40:10+00');
"""


def _rows(conn, table: str) -> list[tuple]:
    return sorted(tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}")))


def test_upgrade_backfills_a_database_holding_work(service_urls: tuple[str, str]) -> None:
    """Tasks and attempts written at revision 0004 reach head with costs moved into columns
    (0005), a purpose (0006), rollups filled by 0007's own frozen SQL, equal to what today's
    code computes from the same rows, and the route's path state renamed (0008)."""
    from genroute.db.rollups import rebuild

    with fresh_database(service_urls[0]) as url:
        upgrade(url, "0004")
        engine = create_engine(sqlalchemy_url(url))
        try:
            with engine.begin() as conn:
                conn.execute(text(SEED_AT_0004))
            upgrade(url)
            with engine.begin() as conn:
                costs = conn.execute(
                    text("SELECT attempt_no, gpu_seconds, cost FROM attempts ORDER BY cost")
                ).all()
                assert [tuple(r) for r in costs] == [
                    (2, 1.0, 0.001),
                    (1, 2.0, 0.004),
                    (1, 3.0, 0.006),
                ]
                assert set(conn.scalars(text("SELECT purpose FROM tasks"))) == {"production"}
                states = conn.execute(text("SELECT route_path_state FROM tasks ORDER BY id")).all()
                assert [s for (s,) in states] == ["active", "rolled_back", "active"]
                [rollup] = conn.execute(
                    text(
                        "SELECT requests, accepted, fell_back, attempts, invalid, timeouts, "
                        "cost, latency_sum FROM scorecard_rollups"
                    )
                ).all()
                # Both finished tasks fall in the 10:00 hour of one group; the queued one waits.
                assert tuple(rollup[:6]) == (2, 1, 2, 3, 1, 1)
                assert rollup[6] == pytest.approx(0.011) and rollup[7] == pytest.approx(40.0)
                migrated = (_rows(conn, "scorecard_rollups"), _rows(conn, "scorecard_histograms"))
                assert migrated[1], "no histogram rows were backfilled"
                rebuild(conn)
                rebuilt = (_rows(conn, "scorecard_rollups"), _rows(conn, "scorecard_histograms"))
            assert migrated == rebuilt
        finally:
            engine.dispose()


def test_db_check_passes_only_at_the_head_revision(settings) -> None:
    """What a pod's init container runs: it fails until the migration Job has upgraded."""
    with fresh_database(settings.database_url) as url:
        own = settings.model_copy(update={"database_url": url})
        empty = _db_check(own)
        upgrade(url)
        downgrade(url, "-1")
        behind = _db_check(own)
        upgrade(url)
        current = _db_check(own)
    assert empty.returncode == 1 and "no revision" in empty.stdout
    assert behind.returncode == 1 and "head is" in behind.stdout
    assert current.returncode == 0 and "database at head" in current.stdout


def _db_check(settings) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genroute", "db", "check"],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
