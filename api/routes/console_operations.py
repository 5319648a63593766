"""The console's operator pages: the live scorecard, path states with adaptive shares and their
events, batches with progress, and dead letters with their lineage. They need the `read` scope
and show the key's own owner's work (every owner's for an admin key); requeueing a dead letter
needs `admin`.

They are served by the API beside the review pages, not on the operators' listener: that
listener answers without a key (health and metrics for the cluster), while these pages show
tasks and their text, so they take the same API key, scopes and owner limits as the API."""

import uuid

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from genroute.analysis.console_figures import scorecard_with_charts
from genroute.analysis.durations import parse_duration
from genroute.api import console_operator_pages as pages
from genroute.api.console_auth import allowed
from genroute.api.console_pages import refused
from genroute.api.deps import CeleryDep, PathStatesDep, PolicyDep, SessionsDep, SettingsDep
from genroute.contract import Scope
from genroute.db.batch_lines import line_counts, request_counts
from genroute.db.batches import list_batches
from genroute.db.models import RollbackEvent, ShareEvent
from genroute.db.tasks import failed_tasks, requeue_failed
from genroute.runtime.path_state_views import path_state_views
from genroute.runtime.publishing import message_for, publish_committed
from genroute.runtime.share_controller import share_views

router = APIRouter(prefix="/console", include_in_schema=False)
# How many events, batches and dead letters a page lists (the newest).
SHOWN = 50


@router.get("/scorecard")
def scorecard(
    request: Request, sessions: SessionsDep, since: str = Query("24h", pattern=r"^\d+[mhd]$")
) -> Response:
    principal = allowed(request, sessions, Scope.read)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        card, charts = scorecard_with_charts(
            session, parse_duration(since), principal.owner_filter()
        )
    return HTMLResponse(pages.scorecard(card, charts, since))


@router.get("/paths")
def paths(
    request: Request, sessions: SessionsDep, policy: PolicyDep, store: PathStatesDep
) -> Response:
    principal = allowed(request, sessions, Scope.read)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        shares = share_views(session, policy)
        moves = session.scalars(select(ShareEvent).order_by(ShareEvent.id.desc()).limit(SHOWN))
        rollbacks = session.scalars(
            select(RollbackEvent).order_by(RollbackEvent.id.desc()).limit(SHOWN)
        )
        body = pages.paths(path_state_views(policy, store), shares, list(moves), list(rollbacks))
    return HTMLResponse(body)


@router.get("/batches")
def batches(request: Request, sessions: SessionsDep) -> Response:
    principal = allowed(request, sessions, Scope.read)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        found, _more = list_batches(session, principal.owner_filter(), None, SHOWN)
        rows = []
        for batch in found:
            counts = request_counts(batch, line_counts(session, batch.id))
            rows.append((batch, counts.total, counts.completed, counts.failed))
        body = pages.batches(rows)
    return HTMLResponse(body)


@router.get("/dead-letters")
def dead_letters(request: Request, sessions: SessionsDep) -> Response:
    principal = allowed(request, sessions, Scope.read)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        body = pages.dead_letters(
            failed_tasks(session, SHOWN, principal.owner_filter()), principal.is_admin
        )
    return HTMLResponse(body)


@router.post("/dead-letters/{task_id}/requeue")
def requeue_dead_letter(
    task_id: uuid.UUID,
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    celery: CeleryDep,
) -> Response:
    """A fresh attempt budget on its routed path's queue, as `genroute failed requeue` gives."""
    principal = allowed(request, sessions, Scope.admin)
    if isinstance(principal, Response):
        return principal
    with sessions.begin() as session:
        task = requeue_failed(session, task_id, None, settings.max_attempts)
        message = message_for(task) if task else None
    if message is None:
        return HTMLResponse(refused("that task is not a dead letter (any more)"), 409)
    publish_committed(celery, sessions, [message])
    return RedirectResponse("/console/dead-letters", status_code=303)
