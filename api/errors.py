"""One place that maps genroute's errors and request validation failures to HTTP answers,
each naming the field or thing that was wrong, with the headers the status calls for."""

import logging
import math
from collections.abc import Sequence
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from genroute.contract import ErrorBody
from genroute.errors import Overloaded, RequestRejected, TaskNotFound, Unauthenticated
from genroute.runtime.db_retry import is_connection_error

log = logging.getLogger(__name__)

_CLEARER = {
    "extra_forbidden": "unknown field; it is not part of the request contract",
    "missing": "required field is missing",
}

# Every error status a route may answer, with its body, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "malformed request",
        401: "missing, unknown or revoked API key",
        403: "the API key lacks the scope",
        404: "no such task (or another owner's)",
        409: "conflict with the task's state or an earlier idempotency key",
        413: "body or input too large",
        422: "invalid request; `errors` names each field",
        429: "rate limit spent; see Retry-After",
        503: "no path can take the request right now; retry later",
    }.items()
}


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """pydantic errors as {field, message}, with clearer words for the common ones."""
    found = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        field = ".".join(str(part) for part in loc if part != "body") or "body"
        message = _CLEARER.get(error.get("type", ""), error.get("msg", "invalid"))
        found.append({"field": field, "message": message})
    return found


def _body(detail: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"detail": detail, "errors": errors}


async def _validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = field_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content=_body(detail, errors))


async def _rejected(_request: Request, exc: RequestRejected) -> JSONResponse:
    headers = {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    content = _body(str(exc), [{"field": exc.field, "message": exc.message}])
    return JSONResponse(status_code=exc.status_code, content=content, headers=headers)


async def _not_found(_request: Request, exc: TaskNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content=_body(str(exc), []))


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content=_body(str(exc.detail), []),
        headers=getattr(exc, "headers", None),
    )


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A store the call needs is out of reach or out of connections: 503 with Retry-After,
    never a 500, so clients back off and retry."""
    if isinstance(exc, PoolTimeout):
        problem = "every database connection of this API process is in use"
    elif isinstance(exc, redis.RedisError):
        problem = "the broker (Redis) is unreachable"
    elif isinstance(exc, DBAPIError) and not is_connection_error(exc):
        raise exc
    else:
        problem = "the database is unreachable"
    log.warning("answering 503 to %s %s: %s", request.method, request.url.path, problem)
    return await _rejected(request, Overloaded("service", f"{problem}; retry shortly"))


def install_error_handlers(app: FastAPI) -> None:
    for store_error in (PoolTimeout, DBAPIError, redis.ConnectionError, redis.TimeoutError):
        app.add_exception_handler(store_error, _store_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(RequestRejected, _rejected)
    app.add_exception_handler(TaskNotFound, _not_found)
    app.add_exception_handler(HTTPException, _http_error)
