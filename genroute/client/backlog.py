"""Reading a backlog file (JSONL or CSV) into task requests, and turning finished tasks into
result rows. Each row's idempotency key is derived from the row (its id column, else its
position and content), so a re-run after a crash resubmits nothing twice. A row may name image
or video files (paths relative to the backlog file); they are uploaded when the row is
submitted, never all read at once."""

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genroute.contract import TaskView
from genroute.errors import GenrouteError


@dataclass(frozen=True)
class ColumnMap:
    """Which columns hold the input, the row id (optional), metadata to carry along, and (for
    evaluations) each row's expected output."""

    input: str = "input"
    row_id: str | None = None
    metadata: tuple[str, ...] = ()
    expected: str | None = None
    # Image or video files shown with the row: a path, or several (a JSON list, or `;` in CSV).
    attachments: str | None = None


ATTACHMENT_KINDS = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
    ".gif": "image",
    ".mp4": "video",
    ".webm": "video",
}


@dataclass(frozen=True)
class BacklogRow:
    row_id: str
    request: dict[str, Any]
    # What an evaluation scores this row's answers against (a label, fields or facts).
    expected: Any = None
    # (kind, file) of each image or video the row shows, uploaded when it is submitted.
    attachments: tuple[tuple[str, Path], ...] = ()

    def with_uploads(self, upload: Callable[[Path], str]) -> dict[str, Any]:
        """The row's request, its files uploaded by `upload` (which answers a file id)."""
        if not self.attachments:
            return self.request
        shown = [
            {"type": kind, "file_id": upload(file), "name": file.name}
            for kind, file in self.attachments
        ]
        return {**self.request, "attachments": shown}


def _records(path: Path, file_format: str) -> Iterator[dict[str, Any]]:
    kind = file_format if file_format != "auto" else ("csv" if path.suffix == ".csv" else "jsonl")
    with path.open(newline="" if kind == "csv" else None, encoding="utf-8") as handle:
        if kind == "csv":
            yield from csv.DictReader(handle)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GenrouteError(f"{path}: line {number}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise GenrouteError(f"{path}: line {number}: expected a JSON object")
            yield record


def read_backlog(
    path: Path,
    task_type: str,
    columns: ColumnMap,
    file_format: str = "auto",
    extra: dict[str, Any] | None = None,
) -> list[BacklogRow]:
    """Every row as a request, in file order; a row without its input column is an error
    naming the row, since skipping it silently would lose work."""
    rows = []
    for number, record in enumerate(_records(path, file_format), start=1):
        shown = _attachments(path, number, record.get(columns.attachments or ""))
        if not shown and record.get(columns.input) in (None, ""):
            raise GenrouteError(f"{path}: row {number} has no '{columns.input}' value")
        text = str(record.get(columns.input) or "")
        if columns.row_id:
            if record.get(columns.row_id) in (None, ""):
                raise GenrouteError(f"{path}: row {number} has no '{columns.row_id}' value")
            row_id = str(record[columns.row_id])
        else:
            row_id = f"row-{number}"
        digest_source = row_id if columns.row_id else f"{row_id}:{text}"
        digest = hashlib.sha256(f"{task_type}|{digest_source}".encode()).hexdigest()[:32]
        metadata = {name: _scalar(record.get(name)) for name in columns.metadata}
        request = {
            "task_type": task_type,
            "input": text,
            "idempotency_key": f"backlog:{digest}",
            "metadata": {**metadata, "backlog_row": row_id},
            **(extra or {}),
        }
        expected = (
            _expected(path, number, record.get(columns.expected)) if columns.expected else None
        )
        rows.append(BacklogRow(row_id, request, expected, shown))
    return rows


def _attachments(path: Path, number: int, value: Any) -> tuple[tuple[str, Path], ...]:
    """The files a row names, relative to the backlog file, checked to exist and be of a kind
    genroute takes before anything is submitted."""
    if value in (None, ""):
        return ()
    names = value if isinstance(value, list) else str(value).split(";")
    shown = []
    for name in (str(n).strip() for n in names if str(n).strip()):
        file = (path.parent / name).resolve()
        kind = ATTACHMENT_KINDS.get(file.suffix.lower())
        if kind is None:
            known = ", ".join(sorted(ATTACHMENT_KINDS))
            raise GenrouteError(f"{path}: row {number}: '{name}' is not one of {known}")
        if not file.is_file():
            raise GenrouteError(f"{path}: row {number}: no file '{name}' (at {file})")
        shown.append((kind, file))
    return tuple(shown)


def _expected(path: Path, number: int, value: Any) -> Any:
    """A row's expected output: as the JSONL line holds it, or a CSV cell's text (a JSON object
    in a cell is parsed); blank means none."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise GenrouteError(
                f"{path}: row {number}: expected output is not JSON ({exc.msg})"
            ) from exc
    return value


def _scalar(value: Any) -> str | int | float | bool | None:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def result_row(row_id: str, view: TaskView) -> dict[str, Any]:
    """What the results file says about one finished task."""
    last = view.attempts[-1] if view.attempts else None
    return {
        "row": row_id,
        "task_id": str(view.id),
        "status": view.status.value,
        "output": view.output,
        "path": last.path if last else view.route.path.value,
        "error": view.error,
        "attempts": [
            {"attempt_no": a.attempt_no, "path": a.path, "queue": a.queue, "outcome": a.outcome}
            for a in view.attempts
        ],
        "validation": [
            {"validator": v.validator, "passed": v.passed}
            for v in (last.validations if last else [])
        ],
    }
