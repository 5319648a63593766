"""Logging set-up: JSON lines (the default) or plain text, and the task context that every
line logged while handling a task carries (task id, attempt, path, engine, worker), so one
request can be followed across the API and the workers with a single filter."""

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# Never mutated in place: each change sets a new mapping, so contexts cannot leak.
_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "genroute_log_context", default=MappingProxyType({})
)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every log line inside the block (nested blocks add to the outer)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def add_log_context(**fields: Any) -> None:
    """Add fields to the current block's context (e.g. the attempt, once claimed)."""
    _context.set({**_context.get(), **fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            **_context.get(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = dict(_context.get())
        return f"{line} {json.dumps(fields, default=str)}" if fields else line


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter("%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pgserver logs every pg_ctl call with its full output at INFO; httpx logs every request.
    for chatty in ("pgserver", "httpx"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
