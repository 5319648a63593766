"""A batch input file's lines, without I/O: each line becomes the task it asks for or an error
naming the line and what is wrong in it, and each line's end becomes a line of the output file
or of the error file (OpenAI's shapes: `custom_id`, `response.status_code`, `response.body`).
A malformed line fails alone (OpenAI instead fails the whole batch at validation)."""

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from genroute.api.errors import OPENAI_ERROR_TYPES, field_errors
from genroute.api.openai_chat import (
    chat_completion,
    part_param,
    part_params,
    task_request,
    unfinished_error,
)
from genroute.contract import TaskRequest, TaskStatus, TaskView
from genroute.contract.openai import ChatCompletionRequest
from genroute.errors import RequestRejected
from genroute.policies import TaskTypeCatalog

MAX_CUSTOM_ID_CHARS = 512


@dataclass(frozen=True)
class LineTask:
    line_no: int
    custom_id: str
    request: TaskRequest
    # The `param` naming each of its attachments (`body.messages[i].content[j]`).
    part_params: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineError:
    """A line that is no task, with the OpenAI error body its error-file line carries."""

    line_no: int
    custom_id: str | None
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class InputLine:
    """One line of an input file: its number from 1, its bytes (no line ending) and where it
    lies in the file (`start` of its first byte, `end` just past its newline)."""

    no: int
    raw: bytes
    start: int
    end: int


def split_lines(pieces: Iterable[bytes], line_no: int = 1, offset: int = 0) -> Iterator[InputLine]:
    """The lines of a file read in `pieces` from byte `offset`, where line `line_no` starts.
    Only the unfinished line is held between pieces. Lines are numbered by position; only the
    newline ending the last line is not a line of its own (a last line of blanks is none)."""
    tail = b""
    for piece in pieces:
        data, position = tail + piece, 0
        while (newline := data.find(b"\n", position)) >= 0:
            end = offset + newline + 1 - position
            yield InputLine(line_no, data[position:newline].rstrip(b"\r"), offset, end)
            line_no, offset, position = line_no + 1, end, newline + 1
        tail = data[position:]
    if tail.strip():
        yield InputLine(line_no, tail.rstrip(b"\r"), offset, offset + len(tail))


def custom_id_of(raw: bytes) -> str | None:
    """The line's custom_id, where it is a JSON object that has a string one."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    custom_id = document.get("custom_id") if isinstance(document, dict) else None
    return custom_id if isinstance(custom_id, str) else None


def line_key(batch_id: str, line_no: int) -> str:
    """The idempotency key of a line's task: a restarted API resubmitting it finds the task."""
    return f"batch:{batch_id}:line:{line_no}"


@dataclass(frozen=True)
class LineReader:
    """Reads the lines of one batch: its id, endpoint, catalog and the default priority."""

    batch_id: str
    endpoint: str
    catalog: TaskTypeCatalog
    priority: int

    def read(self, line_no: int, raw: bytes, first_line_of: dict[str, int]) -> LineTask | LineError:
        """The task line `line_no` asks for, or why it asks for none. `first_line_of` holds
        the custom ids seen on earlier lines (this call adds the line's own)."""
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error(line_no, None, "line", f"not a JSON object: {exc}")
        if not isinstance(document, dict):
            return self._error(line_no, None, "line", "not a JSON object")
        custom_id = document.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            return self._error(line_no, None, "custom_id", "missing, or not a non-empty string")
        if len(custom_id) > MAX_CUSTOM_ID_CHARS:
            message = f"longer than {MAX_CUSTOM_ID_CHARS} characters"
            return self._error(line_no, None, "custom_id", message)
        first = first_line_of.setdefault(custom_id, line_no)
        if first != line_no:
            message = f"'{custom_id}' is already the custom_id of line {first}"
            return self._error(line_no, custom_id, "custom_id", message)
        try:
            request, params = self._request(document, line_no)
        except RequestRejected as exc:
            return self._error(line_no, custom_id, exc.field, exc.message)
        return LineTask(line_no, custom_id, request, params)

    def _request(
        self, document: dict[str, Any], line_no: int
    ) -> tuple[TaskRequest, tuple[str, ...]]:
        unknown = sorted(set(document) - {"custom_id", "method", "url", "body"})
        if unknown:
            raise RequestRejected(
                unknown[0], "unknown field; a line has custom_id, method, url, body"
            )
        if document.get("method") != "POST":
            raise RequestRejected("method", "must be POST")
        if document.get("url") != self.endpoint:
            raise RequestRejected("url", f"must be the batch's endpoint, {self.endpoint}")
        try:
            body = ChatCompletionRequest.model_validate(document.get("body"))
        except ValidationError as exc:
            first = field_errors(exc.errors())[0]
            raise RequestRejected(f"body.{first['field']}", first["message"]) from exc
        if body.stream:
            raise RequestRejected("body.stream", "a batch line cannot stream")
        if "priority" not in body.genroute.model_fields_set:
            body.genroute.priority = self.priority
        body.genroute.idempotency_key = line_key(self.batch_id, line_no)
        try:
            request = task_request(body, self.catalog, None)
            return request, tuple(f"body.{param}" for param in part_params(body))
        except ValidationError as exc:
            first = field_errors(exc.errors())[0]
            raise RequestRejected(f"body.{first['field']}", first["message"]) from exc
        except RequestRejected as exc:
            raise RequestRejected(f"body.{exc.field}", exc.message) from exc

    def _error(self, line_no: int, custom_id: str | None, param: str, message: str) -> LineError:
        error = {
            "message": f"line {line_no}: {param}: {message}",
            "type": "invalid_request_error",
            "param": param,
            "code": "invalid_line",
            "line": line_no,
        }
        return LineError(line_no, custom_id, 400, {"error": error})


def refused_line(line: LineTask, refused: RequestRejected) -> LineError:
    """A well-formed line the submission refused (a limit of its task type, an attachment
    that does not decode, named by its content part)."""
    exc = part_param(line.part_params, refused)
    line_no = line.line_no
    status = 400 if exc.status_code == 422 else exc.status_code
    error = {
        "message": f"line {line_no}: {exc}",
        "type": OPENAI_ERROR_TYPES.get(status, "invalid_request_error"),
        "param": exc.field,
        "code": exc.openai_code or "rejected",
        "line": line_no,
    }
    return LineError(line_no, line.custom_id, status, {"error": error})


def line_refused_as(line: LineTask | LineError, earlier: LineError) -> LineError:
    """`line` refused as an earlier line was, once that refusal holds for the rest of the
    batch (its spend budget is spent)."""
    error = {**earlier.body["error"], "line": line.line_no}
    error["message"] = f"line {line.line_no}: not submitted; " + error["message"].split(": ", 1)[1]
    return LineError(line.line_no, line.custom_id, earlier.status_code, {"error": error})


def result_line(custom_id: str | None, view: TaskView) -> tuple[bool, dict[str, Any]]:
    """A finished line's task as (is it output?, its line): a succeeded task's completion,
    or the error a chat completion would have answered."""
    if view.status == TaskStatus.succeeded:
        response = {"status_code": 200, "request_id": str(view.id)}
        body = chat_completion(view).model_dump(mode="json")
        return True, _line(custom_id, {**response, "body": body}, None, view.id)
    code, body = unfinished_error(view, 0)
    response = {"status_code": code, "request_id": str(view.id), "body": body}
    return False, _line(custom_id, response, None, view.id)


def unrun_line(custom_id: str | None, task_id: uuid.UUID | None, ending: str) -> dict[str, Any]:
    """A line whose request never ran (or never ended) before the batch was cancelled or
    expired: as OpenAI writes it, no response and the batch's code (`task_id` names the task
    that was made for it, if any)."""
    reason = {
        "batch_cancelled": "the batch was cancelled before this request finished",
        "batch_expired": "the completion window ended before this request finished",
    }[ending]
    error = {"code": ending, "message": reason, "task_id": str(task_id) if task_id else None}
    return _line(custom_id, None, error, task_id)


def error_line(line: LineError) -> dict[str, Any]:
    response = {"status_code": line.status_code, "request_id": None, "body": line.body}
    return _line(line.custom_id, response, None, None)


def _line(
    custom_id: str | None,
    response: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
    task_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    line_id = f"batch_req_{(task_id or uuid.uuid4()).hex}"
    return {"id": line_id, "custom_id": custom_id, "response": response, "error": error}
