"""One place that maps genroute's errors and request validation failures to HTTP answers,
each naming the field or thing that was wrong, with the headers the status calls for. The
OpenAI-compatible routes answer in OpenAI's error shape (`{"error": {message, type, param,
code}}`, 400 for an invalid request), so its SDKs raise their usual exceptions."""

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
from genroute.contract.openai import OpenAIErrorBody
from genroute.errors import (
    BudgetExceeded,
    NotFound,
    Overloaded,
    RequestRejected,
    Unauthenticated,
)
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
        429: "rate limit or spend budget spent (`code` budget_exceeded); see Retry-After",
        503: "no path can take the request right now; retry later",
    }.items()
}


# Paths served in OpenAI's shapes (the rest of /v1 is genroute's own).
OPENAI_PATHS = ("/v1/chat/", "/v1/models", "/v1/files", "/v1/batches")

# OpenAI's error `type` for each status genroute answers on those paths.
OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable_error",
}

_OPENAI_CODES = {401: "invalid_api_key", 413: "request_too_large", 429: "rate_limit_exceeded"}

# Statuses OpenAI's SDKs retry by default that are final when genroute answers them (a
# conflict with a task's state or an earlier idempotency key does not go away on retry).
_FINAL_STATUSES = (408, 409)

OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorBody, "description": text}
    for code, text in {
        400: "invalid request; `error.param` names the field",
        401: "missing, unknown or revoked API key",
        403: "the API key lacks the scope",
        404: "no such file or batch (or another owner's)",
        408: "the task had not ended when the wait did; `error.task_id` names it",
        409: "the task was cancelled, or the batch cannot change so",
        413: "body or file too large",
        422: "the task failed; `error.message` says why",
        429: "rate limit spent, or `code` budget_exceeded; see Retry-After",
        503: "no path can take the request right now; retry later",
    }.items()
}


def _speaks_openai(request: Request) -> bool:
    return request.url.path.startswith(OPENAI_PATHS)


def _openai_answer(
    status: int,
    message: str,
    param: str | None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> JSONResponse:
    status = 400 if status == 422 else status  # OpenAI answers invalid requests with 400
    error = {
        "message": message,
        "type": OPENAI_ERROR_TYPES.get(status, "api_error"),
        "param": param,
        "code": code or _OPENAI_CODES.get(status),
    }
    return JSONResponse(status_code=status, content={"error": error}, headers=headers)


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """pydantic errors as {field, message}, with clearer words for the common ones."""
    found = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        field = ".".join(str(part) for part in loc if part != "body") or "body"
        message = _CLEARER.get(error.get("type", ""), error.get("msg", "invalid"))
        found.append({"field": field, "message": message})
    return found


def _body(detail: str, errors: list[dict[str, str]], code: str | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors} | ({"code": code} if code else {})


async def _validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = field_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    if _speaks_openai(request):
        return _openai_answer(422, detail, errors[0]["field"] if errors else None)
    return JSONResponse(status_code=422, content=_body(detail, errors))


async def _rejected(request: Request, exc: RequestRejected) -> JSONResponse:
    headers = {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status_code in _FINAL_STATUSES or (isinstance(exc, BudgetExceeded) and exc.final):
        headers["x-should-retry"] = "false"  # the OpenAI SDKs would retry it in vain
    if _speaks_openai(request):
        return _openai_answer(exc.status_code, str(exc), exc.field, headers, exc.openai_code)
    content = _body(str(exc), [{"field": exc.field, "message": exc.message}], exc.openai_code)
    return JSONResponse(status_code=exc.status_code, content=content, headers=headers)


async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    if _speaks_openai(request):
        return _openai_answer(404, str(exc), None)
    return JSONResponse(status_code=404, content=_body(str(exc), []))


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = getattr(exc, "headers", None)
    if _speaks_openai(request):
        return _openai_answer(exc.status_code, str(exc.detail), None, headers)
    return JSONResponse(
        status_code=exc.status_code, content=_body(str(exc.detail), []), headers=headers
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
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(HTTPException, _http_error)
