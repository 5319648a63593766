"""One place that maps genroute's errors and request validation failures to HTTP answers,
each naming the field or thing that was wrong."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from genroute.errors import RequestRejected, TaskNotFound

_CLEARER = {
    "extra_forbidden": "unknown field; it is not part of the request contract",
    "missing": "required field is missing",
}


def _field_name(loc: tuple[object, ...]) -> str:
    parts = [str(part) for part in loc if part != "body"]
    return ".".join(parts) or "body"


async def _validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        field = _field_name(tuple(error.get("loc", ())))
        message = error.get("msg", "invalid")
        message = _CLEARER.get(error.get("type", ""), message)
        errors.append({"field": field, "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})


async def _rejected(_request: Request, exc: RequestRejected) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": str(exc), "errors": [{"field": exc.field, "message": exc.message}]},
    )


async def _not_found(_request: Request, exc: TaskNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc), "errors": []})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(RequestRejected, _rejected)
    app.add_exception_handler(TaskNotFound, _not_found)
