"""Policy replay streams the stored requests from a server-side cursor: 40,000 of them are
replayed in a few megabytes, where loading them all would take tens."""

import tracemalloc

import pytest
from sqlalchemy import text

from genroute.analysis.replay import load_requests, replay
from genroute.db.session import make_engine, make_session_factory
from genroute.policies import load_catalog, load_policy
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration

STORED = 40_000
SEED = """
INSERT INTO tasks (id, task_type, request, status, route_path, route_rule, policy_version,
    route_reason, max_output_tokens, queue, attempt_count, max_attempts)
SELECT gen_random_uuid(), 'ticket_summary',
    jsonb_build_object('task_type', 'ticket_summary', 'input', repeat('ticket text ', 60)
        || n::text),
    'succeeded', 'diffusion', 'r', 'v', 'x', 96, 'diffusion', 1, 3
FROM generate_series(1, :count) AS n
"""


def test_replay_runs_in_bounded_memory(settings: Settings) -> None:
    with isolated_settings(settings, redis_db=7) as own:
        engine = make_engine(own.database_url)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            session.execute(text(SEED), {"count": STORED})
        policy = load_policy(own.policy_file, load_catalog(own.task_types_file))
        tracemalloc.start()
        try:
            with sessions() as session:
                report = replay(load_requests(session, None), policy, {})
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            engine.dispose()
    assert report["requests"] == STORED
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
