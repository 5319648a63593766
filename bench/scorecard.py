"""Scorecard query time over a large history: seeds a scratch database with `--attempts`
attempts (about 30% of tasks fall back, so ~1.3 attempts per task) spread over a week, fills
the hourly rollups, then times the scorecard for the whole history and for the last day (a
window that starts inside an hour, so its first part is read from tasks and attempts).

    .venv/bin/python bench/scorecard.py [--attempts 1000000] [--repeats 3] [--quick]

Prints one JSON object: `attempts`, `tasks`, `query_s` (median, whole history, grouped by
path, task type and policy version), `cold_query_s` (the first run), `last_day_query_s`, and
`with_duplicates_query_s` (whole history plus the synthetic_examples duplicate figures).
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from genroute.analysis.scorecard import build_scorecard
from genroute.db.migrate import upgrade
from genroute.db.rollups import rebuild
from genroute.db.session import make_engine
from genroute.local.scratch_services import scratch_services
from genroute.settings import Settings

# One statement each; `:tasks` tasks, the first `:fallbacks` of them with a second attempt.
SEED_TASKS = """
INSERT INTO tasks (id, task_type, request, status, route_path, route_rule, policy_version,
    route_reason, max_output_tokens, queue, attempt_count, max_attempts, created_at,
    finished_at, purpose, output_text)
SELECT md5('t' || n)::uuid,
    (ARRAY['ticket_summary','classification','short_transform','extraction',
           'synthetic_examples','batch_summary'])[1 + n % 6],
    '{}'::jsonb,
    CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
    CASE WHEN n % 3 = 0 THEN 'autoregressive' ELSE 'diffusion' END,
    'bench', CASE WHEN n % 2 = 0 THEN 'v1' ELSE 'v2' END, 'bench', 256,
    CASE WHEN n <= :fallbacks THEN 'fallback' ELSE 'diffusion' END, 1, 3,
    now() - (n % 604800) * interval '1 second',
    now() - (n % 604800) * interval '1 second' + (0.5 + (n % 97) / 10.0) * interval '1 second',
    'production',
    CASE WHEN n % 10 = 0 THEN NULL ELSE 'Example ' || (n % 5000) || ': a customer asks ' ||
        'about order ' || n || ' and a refund.' END
FROM generate_series(1, :tasks) AS n
"""
SEED_ATTEMPTS = """
INSERT INTO attempts (id, task_id, attempt_no, path, queue, outcome, tokens_in, tokens_out,
    gpu_seconds, cost, enqueued_at, started_at, first_output_at, finished_at)
SELECT md5('a' || n || '-' || k)::uuid, md5('t' || n)::uuid, k,
    CASE WHEN k = 2 THEN 'autoregressive' ELSE 'diffusion' END,
    CASE WHEN k = 2 THEN 'fallback' ELSE 'diffusion' END,
    CASE WHEN k = 1 AND n <= :fallbacks THEN (ARRAY['invalid','timeout','error'])[1 + n % 3]
         WHEN n % 10 = 0 THEN 'invalid' ELSE 'succeeded' END,
    120, 60 + n % 200, 0.2 + (n % 50) / 100.0, (0.2 + (n % 50) / 100.0) * 2.5 / 3600,
    now() - (n % 604800) * interval '1 second',
    now() - (n % 604800) * interval '1 second' + (n % 13) / 10.0 * interval '1 second',
    now() - (n % 604800) * interval '1 second' + (n % 13) / 10.0 * interval '1 second'
        + interval '150 milliseconds',
    now() - (n % 604800) * interval '1 second' + (n % 13 + 5) / 10.0 * interval '1 second'
FROM generate_series(1, :tasks) AS n
CROSS JOIN LATERAL (SELECT 1 AS k UNION ALL SELECT 2 WHERE n <= :fallbacks) AS ks
"""


def seed(database_url: str, attempts: int) -> int:
    """Seed `attempts` attempts; returns the number of tasks."""
    tasks = round(attempts / 1.3)
    fallbacks = attempts - tasks
    engine = make_engine(database_url, pool_size=1)
    with engine.begin() as conn:
        params = {"tasks": tasks, "fallbacks": fallbacks}
        conn.execute(text(SEED_TASKS), params)
        conn.execute(text(SEED_ATTEMPTS), params)
        # Seeded behind the workers' back: fill the rollups as the migration's backfill does.
        rebuild(conn)
    # What a long-running database has: statistics and a visibility map (index-only scans).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tasks"))
        conn.execute(text("VACUUM ANALYZE attempts"))
    engine.dispose()
    return tasks


def timed(
    database_url: str, since: timedelta | None, diversity: tuple[str, ...] = ()
) -> tuple[float, int]:
    """Seconds for one scorecard (with exact-duplicate figures for `diversity` task types, as
    the CLI and API compute them; embeddings are left out), and the attempts it counted."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            started = time.perf_counter()
            card = build_scorecard(session, since=since, diversity_task_types=diversity)
            return time.perf_counter() - started, sum(row.attempts for row in card.rows)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 attempts, for the tests")
    args = parser.parse_args()
    if args.quick:
        args.attempts, args.repeats = 20_000, 1
    with tempfile.TemporaryDirectory() as tmp, scratch_services(Path(tmp)) as live:
        url = live.database_url
        upgrade(url)
        started = time.perf_counter()
        tasks = seed(url, args.attempts)
        seed_s = time.perf_counter() - started
        cold_s, counted = timed(url, None)
        runs = [timed(url, None)[0] for _ in range(args.repeats)]
        day = [timed(url, timedelta(days=1))[0] for _ in range(args.repeats)]
        diverse = [timed(url, None, ("synthetic_examples",))[0] for _ in range(args.repeats)]
    result = {
        "bench": "scorecard",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "services": "embedded" if Settings().uses_embedded_services() else "configured",
        "attempts": args.attempts,
        "attempts_counted": counted,
        "tasks": tasks,
        "seed_s": round(seed_s, 1),
        "cold_query_s": round(cold_s, 3),
        "query_s": round(statistics.median(runs), 3),
        "query_runs_s": [round(r, 3) for r in runs],
        "last_day_query_s": round(statistics.median(day), 3),
        "with_duplicates_query_s": round(statistics.median(diverse), 3),
        "goal_s": 1.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
