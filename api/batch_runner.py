"""Moves batches on, a step at a time, from the API process: validates the input file, turns
its lines into tasks `batch_step_lines` at a time (through the same submission as
`/v1/tasks`), cancels or expires what is left when asked or when the window ends, and writes
the output and error files once every line has ended.

Every step runs under the batch's row lock (another API process's runner skips a locked
batch) and is safe to repeat: a line's task has an idempotency key of the batch and line, so a
step resumed after a crash finds the tasks it made instead of making them again.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from itertools import islice
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from genroute.api.auth import Principal
from genroute.api.batch_lines import (
    InputLine,
    LineError,
    LineReader,
    LineTask,
    custom_id_of,
    line_refused_as,
    refused_line,
    split_lines,
)
from genroute.api.batch_results import write_results
from genroute.api.replays import Outcome, Submitted
from genroute.api.submission import Submission
from genroute.contract import Scope
from genroute.db.batch_lines import add_lines, cancel_queued_lines, first_lines_of, line_counts
from genroute.db.batches import advance_lines_done, locked_batch, set_status, unfinished_batch_ids
from genroute.db.models import Batch, StoredFile
from genroute.db.tasks import db_now
from genroute.errors import BudgetExceeded, RequestRejected
from genroute.policies import TaskTypeCatalog
from genroute.runtime.file_store import FileStore, content_chunks
from genroute.runtime.finish_events import announce_finished
from genroute.runtime.periodic import Periodic
from genroute.settings import Settings

log = logging.getLogger(__name__)

SubmissionFactory = Callable[[Session, Principal], Submission]


class BatchRunner(Periodic):
    """Runs `run_once` every `interval_s` on a daemon thread until stopped."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        submissions: SubmissionFactory,
        catalog: TaskTypeCatalog,
        broker: redis.Redis,
        store: FileStore,
        settings: Settings,
    ) -> None:
        super().__init__("batch-runner", settings.batch_interval_s, self.run_once, grace_s=30)
        self._store = store
        self._sessions = sessions
        self._submissions = submissions
        self._catalog = catalog
        self._broker = broker
        self._settings = settings
        # Where each batch's next line starts in its input, (line number, byte offset): a hint
        # that spares a step reading the file from its start.
        self._next_line_at: dict[str, tuple[int, int]] = {}

    def run_once(self) -> None:
        """One step for every unfinished batch."""
        with self._sessions() as session:
            batch_ids = unfinished_batch_ids(session)
        for batch_id in batch_ids:
            if self.stopping.is_set():
                return
            with self._sessions() as session:
                batch = locked_batch(session, batch_id)
                if batch is not None:
                    self._step(session, batch)
        for gone in set(self._next_line_at) - set(batch_ids):
            del self._next_line_at[gone]

    def _step(self, session: Session, batch: Batch) -> None:
        if batch.status == "validating":
            self._validate(session, batch)
        elif batch.status == "cancelling":
            self._wind_down(session, batch, "cancelled")
        elif batch.status == "finalizing":  # every line had ended: deliver, even if late
            self._write_results(session, batch, "completed")
        elif db_now(session) >= batch.expires_at:
            self._wind_down(session, batch, "expired")
        elif batch.lines_done < batch.total_lines:
            self._submit_lines(session, batch)
        elif line_counts(session, batch.id).unfinished == 0:
            set_status(session, batch, "finalizing")
            session.commit()

    def _validate(self, session: Session, batch: Batch) -> None:
        """The input file is there, is a batch file and holds 1 to max_batch_lines lines
        (counted as the file streams past, never held whole)."""
        stored = session.get(StoredFile, batch.input_file_id)
        if stored is None:
            return self._fail(session, batch, "file_not_found", "the input file was deleted")
        with closing(self._lines_from(batch.id, stored, 1)) as lines:
            total = sum(1 for _line in lines)
        limit = self._settings.max_batch_lines
        if not total:
            return self._fail(session, batch, "empty_file", "the input file has no lines")
        if total > limit:
            message = f"the input file has {total} lines; the limit is {limit}"
            return self._fail(session, batch, "too_many_lines", message)
        batch.total_lines = total
        set_status(session, batch, "in_progress")
        session.commit()

    def _fail(self, session: Session, batch: Batch, code: str, message: str) -> None:
        batch.errors = [{"code": code, "message": message, "param": "input_file_id"}]
        set_status(session, batch, "failed")
        session.commit()

    def _lines_from(self, batch_id: str, stored: StoredFile, first: int) -> Iterator[InputLine]:
        """The batch's input lines from line `first` on, read a piece at a time from the
        nearest known line start at or before it (a hint that can only be behind is safe: a
        hint ahead of `first` is ignored)."""
        known_no, offset = self._next_line_at.get(batch_id, (1, 0))
        if known_no > first:
            known_no, offset = 1, 0
        pieces = content_chunks(self._sessions, stored, self._store, offset)
        with closing(pieces):
            for line in split_lines(pieces, known_no, offset):
                if line.no >= first:
                    yield line

    def _submit_lines(self, session: Session, batch: Batch) -> None:
        """The next lines as tasks in one submission, recorded in the transaction that makes
        the tasks, under the batch's lock (this runner commits it, then publishes): a cancel
        or expiry in another API process cannot end the batch between the two. Lines the
        submission cannot take yet (every path rolled back, say) wait for a later step."""
        batch_id, start = batch.id, batch.lines_done
        stored = session.get(StoredFile, batch.input_file_id)
        if stored is None:
            return self._fail(session, batch, "file_not_found", "the input file was deleted")
        with closing(self._lines_from(batch_id, stored, start + 1)) as lines:
            chunk = list(islice(lines, self._settings.batch_step_lines))
        custom_ids = {found for line in chunk if (found := custom_id_of(line.raw))}
        first_line_of = first_lines_of(session, batch_id, custom_ids)
        reader = LineReader(batch_id, batch.endpoint, self._catalog, self._settings.batch_priority)
        read = [reader.read(line.no, line.raw, first_line_of) for line in chunk]
        tasks = [line for line in read if isinstance(line, LineTask)]

        stop = _budget_stop(batch)
        staged, by_line = None, {}
        if stop is None:
            owner = Principal(batch.api_key_id, batch.owner, frozenset({Scope.submit.value}), None)
            submission = self._submissions(session, owner)
            staged = submission.stage([t.request for t in tasks])
            by_line = dict(zip((t.line_no for t in tasks), staged.outcomes, strict=True))
        rows = _line_rows(read, by_line, stop)
        if stop is None:
            batch.budget_refusal = _first_budget_refusal(rows)
        add_lines(session, batch_id, rows)
        if rows:
            done = rows[-1]["line_no"]
            advance_lines_done(session, batch_id, done)
            ended = next(line for line in chunk if line.no == done)
            self._next_line_at[batch_id] = (done + 1, ended.end)
        session.commit()  # the tasks, their lines and the batch's progress; the lock goes
        if staged is not None:
            submission.publish(staged)

    def _wind_down(self, session: Session, batch: Batch, ending: str) -> None:
        """Cancel the batch's queued tasks, in one transaction with what follows: an expired
        batch delivers what finished now, a cancelled one once its running lines end."""
        reason = "the batch was cancelled" if ending == "cancelled" else "the batch expired"
        cancelled = cancel_queued_lines(session, batch.id, reason)
        if ending == "expired" or line_counts(session, batch.id).unfinished == 0:
            self._write_results(session, batch, ending)
        else:
            session.commit()
        announce_finished(self._broker, cancelled)

    def _write_results(self, session: Session, batch: Batch, ending: str) -> None:
        stored = session.get(StoredFile, batch.input_file_id)

        def lines_from(first: int) -> Iterator[InputLine]:
            if stored is not None:
                return self._lines_from(batch.id, stored, first)
            numbers = range(first, batch.total_lines + 1)  # deleted: still a line each
            return (InputLine(no, b"", 0, 0) for no in numbers)

        write_results(session, self._store, batch, ending, lines_from)
        session.commit()


def _line_rows(
    read: list[LineTask | LineError], outcomes: dict[int, Outcome], stop: LineError | None
) -> list[dict]:
    """Rows of the chunk's lines in order, up to the first the submission could not take yet
    (it and every line after it wait for a later step; their tasks, if any were made, are
    found again by their idempotency keys). Once the batch's budget is spent (`stop`), each
    request line is refused as the first was, unsubmitted."""
    rows: list[dict[str, Any]] = []
    for line in read:
        if stop is not None and isinstance(line, LineTask):
            rows.append(_error_row(line_refused_as(line, stop)))
            continue
        outcome = outcomes.get(line.line_no) if isinstance(line, LineTask) else None
        if isinstance(outcome, RequestRejected) and _comes_back(outcome):
            return rows
        rows.append(_line_row(line, outcome))
    return rows


def _comes_back(refused: RequestRejected) -> bool:
    """Whether a refusal is worth a later step: not a budget spent until its reset."""
    return refused.retry_after_s is not None and not (
        isinstance(refused, BudgetExceeded) and refused.final
    )


def _first_budget_refusal(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first row refused for a spent budget, as the batch stores it (None: no such row)."""
    for row in rows:
        if row["error"] and row["error"]["error"].get("code") == BudgetExceeded.openai_code:
            return {"status_code": row["status_code"], "body": row["error"]}
    return None


def _budget_stop(batch: Batch) -> LineError | None:
    refusal = batch.budget_refusal
    if refusal is None:
        return None
    return LineError(0, None, refusal["status_code"], refusal["body"])


def _line_row(line: LineTask | LineError, outcome: Outcome | None) -> dict[str, Any]:
    if isinstance(line, LineError):
        return _error_row(line)
    if isinstance(outcome, Submitted):
        return _task_line(line, outcome)
    assert isinstance(outcome, RequestRejected)
    return _error_row(refused_line(line, outcome))


def _task_line(line: LineTask, outcome: Submitted) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "custom_id": line.custom_id,
        "task_id": outcome.accepted.id,
        "error": None,
        "status_code": None,
    }


def _error_row(line: LineError) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "custom_id": line.custom_id,
        "task_id": None,
        "error": line.body,
        "status_code": line.status_code,
    }
