"""A finished batch's output and error files: each line's end, in line order, as OpenAI's
result lines (succeeded tasks in the output file, everything else in the error file), written
with the batch's final status in the caller's transaction."""

import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import IO, Any

from sqlalchemy.orm import Session

from genroute.api.batch_lines import (
    InputLine,
    LineError,
    custom_id_of,
    error_line,
    result_line,
    unrun_line,
)
from genroute.api.schemas import task_view
from genroute.contract import TaskStatus
from genroute.db.batch_lines import batch_lines, tasks_with_attempts
from genroute.db.batches import set_status
from genroute.db.models import Batch, BatchLine
from genroute.runtime.file_store import FileStore, save_file

log = logging.getLogger(__name__)

_PAGE = 1000
# A line's task that a cancelled or expired batch did not run to its end.
_UNRUN = (TaskStatus.queued, TaskStatus.running, TaskStatus.cancelled)
# The input's lines from a line number on, read as they are wanted.
LinesFrom = Callable[[int], Iterator[InputLine]]


def write_results(
    session: Session, store: FileStore, batch: Batch, ending: str, lines_from: LinesFrom
) -> None:
    """Write both files and end `batch` as `ending` (completed, cancelled or expired). Lines
    the batch never submitted (read from the input by `lines_from`) end in the error file
    too, so every line of the input has exactly one result line."""
    with ResultFile() as outputs, ResultFile() as errors:
        _write_lines(session, batch, ending, lines_from, outputs, errors)
        for kind, found in (("output", outputs), ("error", errors)):
            if found.lines:
                name = f"{batch.id}_{kind}.jsonl"
                row = save_file(
                    session, store, batch.owner, "batch_output", name, found.rewound(), found.size
                )
                if kind == "output":
                    batch.output_file_id = row.id
                else:
                    batch.error_file_id = row.id
    batch.completed_count, batch.failed_count = outputs.lines, errors.lines
    set_status(session, batch, ending)
    log.info("batch %s %s: %d outputs, %d errors", batch.id, ending, outputs.lines, errors.lines)


class ResultFile:
    """One result file, written a line at a time to a temporary file that spills to disk past
    a few megabytes: a batch of any size is never held in memory whole."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed in __exit__
        self.lines = 0
        self.size = 0

    def append(self, line: str) -> None:
        data = (line + "\n").encode()
        self._file.write(data)
        self.lines += 1
        self.size += len(data)

    def rewound(self) -> IO[bytes]:
        self._file.seek(0)
        return self._file  # type: ignore[return-value]

    def __enter__(self) -> "ResultFile":
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()


def _write_lines(
    session: Session,
    batch: Batch,
    ending: str,
    lines_from: LinesFrom,
    outputs: ResultFile,
    errors: ResultFile,
) -> None:
    after = 0
    while page := batch_lines(session, batch.id, after, _PAGE):
        tasks = tasks_with_attempts(session, [line.task_id for line in page if line.task_id])
        for line in page:
            task = tasks.get(line.task_id) if line.task_id else None
            if task is None:
                errors.append(_json(error_line(_stored_error(line))))
            elif ending != "completed" and TaskStatus(task.status) in _UNRUN:
                errors.append(_json(unrun_line(line.custom_id, task.id, f"batch_{ending}")))
            else:
                is_output, rendered = result_line(line.custom_id, task_view(task, False))
                (outputs if is_output else errors).append(_json(rendered))
        after = page[-1].line_no
    if after >= batch.total_lines:
        return
    with closing(lines_from(after + 1)) as unsubmitted:
        for line in unsubmitted:
            errors.append(_json(unrun_line(custom_id_of(line.raw), None, f"batch_{ending}")))


def _stored_error(line: BatchLine) -> LineError:
    return LineError(line.line_no, line.custom_id, line.status_code or 400, line.error or {})


def _json(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))
