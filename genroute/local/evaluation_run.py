"""`genroute eval`'s run: start (or use) the servers and a worker per path, submit the plan,
wait for every task, and write the report."""

import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from genroute.analysis.evaluation import (
    EVAL_OWNER,
    EvalPlan,
    evaluation_report,
    plan_rows,
    write_outputs,
)
from genroute.api.attachment_intake import (
    STORED_PURPOSE,
    AttachmentIntake,
    keep_pending,
    sha256_of,
)
from genroute.contract import Attachment, PrivacyTier, StoredAttachment, TaskStatus
from genroute.db.migrate import upgrade
from genroute.db.models import Task
from genroute.db.session import make_engine, make_session_factory
from genroute.db.submissions import insert_tasks
from genroute.errors import GenrouteError, RequestRejected
from genroute.local.embedded import services
from genroute.local.stack import running_stack
from genroute.policies import load_catalog, load_policy
from genroute.runtime.file_store import file_store, save_attachment_file
from genroute.runtime.publishing import publish_committed
from genroute.runtime.queueing import Message, make_celery
from genroute.settings import Settings


def submit_plan(settings: Settings, sessions: sessionmaker[Session], rows: list[dict]) -> None:
    """Persist, then publish (the sweeper republishes anything this misses)."""
    with sessions.begin() as session:
        insert_tasks(session, rows)
    celery = make_celery(settings, settings.broker_url)
    try:
        publish_committed(
            celery,
            sessions,
            [Message(row["id"], row["queue"], task_type=row["task_type"]) for row in rows],
        )
    finally:
        celery.close()


def store_attachments(
    settings: Settings, sessions: sessionmaker[Session], plan: EvalPlan, frames_per_s: float
) -> dict[str, list[StoredAttachment]]:
    """Each item's files stored (streamed from disk, named by content) and decoded as a
    submission's are, by row id; a file that does not decode stops the run, naming it."""
    store = file_store(settings, sessions)
    stored = {}
    with sessions.begin() as session:
        intake = AttachmentIntake(session, sessions, store, settings, EVAL_OWNER)
        for item in plan.items:
            if not item.attachments:
                continue
            named = []
            for kind, file in item.attachments:
                with file.open("rb") as content:
                    row = save_attachment_file(
                        session,
                        store.for_tier(PrivacyTier.external),
                        EVAL_OWNER,
                        STORED_PURPOSE,
                        file.name,
                        content,
                        file.stat().st_size,
                        sha256_of(content),
                    )
                named.append(Attachment(type=kind, file_id=row.id, name=file.name))
            try:
                taken = intake.take_in(named, frames_per_s)
            except RequestRejected as exc:
                raise GenrouteError(f"item {item.row_id}: {exc}") from exc
            keep_pending(session, EVAL_OWNER, taken.pending)  # a video's frames
            stored[item.row_id] = taken.stored
    return stored


def wait_for_run(sessions: sessionmaker[Session], run_id: str, count: int, timeout_s: float) -> int:
    """Poll until the run's `count` tasks are terminal; returns how many are."""
    terminal = [s.value for s in TaskStatus if s.is_terminal]
    deadline = time.monotonic() + timeout_s
    while True:
        with sessions() as session:
            done = session.scalar(
                select(func.count())
                .select_from(Task)
                .where(Task.eval_run == run_id, Task.status.in_(terminal))
            )
        if done >= count or time.monotonic() > deadline:
            return done
        time.sleep(1.0)


def run_evaluation(
    settings: Settings, plan: EvalPlan, out_dir: Path, timeout_s: float
) -> dict[str, Any]:
    """Start (or use) the servers, run a worker per path, submit the plan, wait, report."""
    with services(settings) as live:
        upgrade(live.database_url)
        catalog = load_catalog(live.task_types_file)
        policy = load_policy(live.policy_file, catalog)
        engine = make_engine(live.database_url, pool_size=2)
        sessions = make_session_factory(engine)
        try:
            frames_per_s = catalog.get(plan.task_type).video_frames_per_s
            shown = store_attachments(live, sessions, plan, frames_per_s)
            rows = plan_rows(plan, catalog, policy.version, shown)
            paths = [p.value for p in plan.paths]
            with running_stack(live, paths, live.data_dir.resolve() / "logs"):
                submit_plan(live, sessions, rows)
                done = wait_for_run(sessions, plan.run_id, len(rows), timeout_s)
            if done < len(rows):
                raise GenrouteError(
                    f"evaluation run {plan.run_id}: {done}/{len(rows)} finished in {timeout_s} s"
                )
            with sessions() as session:
                report = evaluation_report(session, plan)
        finally:
            engine.dispose()
    json_path, html_path = write_outputs(report, out_dir)
    return {**report, "json": str(json_path), "html": str(html_path)}
