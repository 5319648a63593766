"""The web console at `/console/`, served by the API itself (the producers' listener: reviewers
and operators reach it where producers reach the API, and it answers only to an API key):
sign in with a key, which stays in a cookie only this path reads; review sampled outputs. A
page shows only what the key's scopes allow; a key without them is refused with a page saying
which scope it lacks."""

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from genroute.api import console_pages as pages
from genroute.api.auth import Principal, principal_of
from genroute.api.console_auth import COOKIE, allowed, landing, signed_in
from genroute.api.deps import FileStoreDep, SessionsDep, SettingsDep
from genroute.api.errors import field_errors
from genroute.contract import FeedbackIn, Scope, TaskStatus
from genroute.contract.attachments import ShownImage, StoredAttachment
from genroute.db.feedback import record_feedback
from genroute.db.files import get_file
from genroute.db.models import Task
from genroute.db.pairwise import Pair, next_pair, pair_of, record_preference
from genroute.db.review_queue import next_to_review
from genroute.runtime.file_store import content_chunks

router = APIRouter(prefix="/console", include_in_schema=False)


def _reviewer(request: Request, sessions: SessionsDep) -> Principal | Response:
    return allowed(request, sessions, Scope.review)


@router.get("/")
def console_home(request: Request, sessions: SessionsDep) -> Response:
    principal = signed_in(request, sessions)
    if principal is None:
        return HTMLResponse(pages.sign_in())
    return RedirectResponse(landing(principal), status_code=303)


@router.post("/sign-in")
def sign_in(key: Annotated[str, Form()], sessions: SessionsDep, request: Request) -> Response:
    principal = principal_of(sessions, key)
    if principal is None:
        return HTMLResponse(pages.sign_in("That key is unknown or revoked."), status_code=401)
    answer = RedirectResponse(landing(principal), status_code=303)
    answer.set_cookie(
        COOKIE,
        key.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    return answer


@router.post("/sign-out")
def sign_out() -> Response:
    answer = RedirectResponse("/console/", status_code=303)
    answer.delete_cookie(COOKIE, path="/console")
    return answer


@router.get("/review")
def review_next(request: Request, sessions: SessionsDep, settings: SettingsDep) -> Response:
    principal = _reviewer(request, sessions)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        task = next_to_review(session, principal.owner_filter(), settings.review_sample_rate)
        if task is None:
            return HTMLResponse(pages.nothing_to_review())
        left = f"sampled at {settings.review_sample_rate:.0%}"
        body = pages.review(
            str(task.id),
            task.task_type,
            task.request.get("input", ""),
            task.output_text or "",
            left,
            _images(task),
        )
    return HTMLResponse(body)


def _shown(task: Task) -> list[tuple[str, ShownImage]]:
    """Every image the task's model was shown (a video as its sampled frames), labelled."""
    stored = [StoredAttachment.model_validate(a) for a in task.request.get("attachments", [])]
    return [
        (item.label(index) + (f" at {image.at_s:g} s" if image.at_s is not None else ""), image)
        for index, item in enumerate(stored)
        for image in item.shown()
    ]


def _images(task: Task) -> list[tuple[str, str]]:
    """(address, label) of each image the reviewer sees beside the input."""
    return [
        (f"/console/tasks/{task.id}/images/{number}", label)
        for number, (label, _image) in enumerate(_shown(task))
    ]


@router.get("/tasks/{task_id}/images/{number}")
def task_image(
    task_id: uuid.UUID,
    number: int,
    request: Request,
    sessions: SessionsDep,
    store: FileStoreDep,
) -> Response:
    """One image of a task under review, streamed from the file store (never held whole)."""
    principal = _reviewer(request, sessions)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        task = _visible_task(session, task_id, principal)
        shown = _shown(task) if task is not None else []
        if not 0 <= number < len(shown):
            return HTMLResponse(pages.refused("no such image of a task to review"), 404)
        image = shown[number][1]
        row = get_file(session, image.file_id, None)
        if row is None:
            return HTMLResponse(pages.refused("that image's file is gone"), 404)
    headers = {"content-length": str(row.bytes), "cache-control": "private, max-age=3600"}
    chunks = content_chunks(sessions, row, store)
    return StreamingResponse(chunks, media_type=image.media_type, headers=headers)


@router.post("/review/{task_id}")
def review_record(
    task_id: uuid.UUID,
    request: Request,
    sessions: SessionsDep,
    verdict: Annotated[str, Form()],
    edited_text: Annotated[str, Form()] = "",
    usefulness: Annotated[str, Form()] = "",
) -> Response:
    """Record the verdict (with the edit and its distance, and usefulness), then the next."""
    principal = _reviewer(request, sessions)
    if isinstance(principal, Response):
        return principal
    try:
        feedback = FeedbackIn.model_validate(
            {
                "verdict": verdict,
                "edited_text": edited_text if verdict == "edited" else None,
                "usefulness": usefulness or None,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc.errors()))
        return HTMLResponse(pages.refused(problems), status_code=422)
    with sessions.begin() as session:
        task = _visible_task(session, task_id, principal)
        if task is None:
            return HTMLResponse(pages.refused("no such task to review"), status_code=404)
        if task.status == TaskStatus.succeeded.value and task.output_text is not None:
            record_feedback(session, task.id, task.output_text, feedback, principal.key_id)
    return RedirectResponse("/console/review", status_code=303)


def _order(pair: Pair, key_id: uuid.UUID) -> tuple[str, str]:
    """The two paths in the order this reviewer sees their answers: drawn once per pair and
    reviewer, so a reload shows the same order and position says nothing about the path."""
    draw = hashlib.sha256(f"{pair.task_id}:{key_id}".encode()).digest()[0] % 2
    paths = (pair.task_path, pair.shadow_path)
    return paths if draw == 0 else paths[::-1]


@router.get("/pairs")
def pairs_next(request: Request, sessions: SessionsDep) -> Response:
    principal = _reviewer(request, sessions)
    if isinstance(principal, Response):
        return principal
    with sessions() as session:
        found = next_pair(session, principal.owner_filter(), principal.key_id)
        task = session.get(Task, found.task_id) if found is not None else None
        images = _images(task) if task is not None else []
    if found is None:
        return HTMLResponse(pages.no_pairs())
    first, second = _order(found, principal.key_id)
    outputs = {found.task_path: found.task_output, found.shadow_path: found.shadow_output}
    body = pages.pair(
        str(found.task_id),
        found.task_type,
        found.input or "",
        (outputs[first], outputs[second]),
        images,
    )
    return HTMLResponse(body)


@router.post("/pairs/{task_id}")
def pairs_record(
    task_id: uuid.UUID,
    request: Request,
    sessions: SessionsDep,
    choice: Annotated[str, Form()],
) -> Response:
    """Record which answer was preferred (`a` the first shown, `b` the second, or `tie`)."""
    principal = _reviewer(request, sessions)
    if isinstance(principal, Response):
        return principal
    if choice not in ("a", "b", "tie"):
        return HTMLResponse(pages.refused(f"choice: '{choice}' is not a, b or tie"), 422)
    with sessions.begin() as session:
        found = pair_of(session, task_id)
        if found is None or _visible_task(session, task_id, principal) is None:
            return HTMLResponse(pages.refused("no such pair to compare"), status_code=404)
        first, second = _order(found, principal.key_id)
        preferred = {"a": first, "b": second, "tie": None}[choice]
        record_preference(session, found, principal.key_id, preferred, first)
    return RedirectResponse("/console/pairs", status_code=303)


def _visible_task(session: Session, task_id: uuid.UUID, principal: Principal) -> Task | None:
    """The task, if this reviewer may see it (its owner's, or any for an admin key)."""
    task = session.get(Task, task_id)
    owner = principal.owner_filter()
    return task if task is not None and (owner is None or task.owner == owner) else None
