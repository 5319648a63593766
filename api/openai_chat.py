"""Translating between OpenAI's chat completions and genroute's tasks, without I/O: a request
becomes a TaskRequest (refused, naming the field, where it asks for what genroute cannot do),
and a finished task becomes a `chat.completion` or an OpenAI-shaped error."""

import re
import uuid
from typing import Any

from genroute.contract import TaskRequest, TaskStatus, TaskView
from genroute.contract.openai import (
    AUTO_MODEL,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    FilePart,
    ImageUrlPart,
    JsonObjectFormat,
    JsonSchemaResponseFormat,
    TaskRecord,
    TextPart,
    Usage,
    VideoUrlPart,
)
from genroute.errors import RequestRejected, UnknownModel
from genroute.policies import TaskTypeCatalog

# OpenAI's `user` field is kept among the task's metadata under this key.
USER_METADATA_KEY = "openai_user"
_FILE_ID = re.compile(r"^file-[A-Za-z0-9_-]{1,59}$")


def completion_id(task_id: uuid.UUID) -> str:
    return f"chatcmpl-{task_id.hex}"


def task_request(
    body: ChatCompletionRequest, catalog: TaskTypeCatalog, idempotency_key: str | None
) -> TaskRequest:
    """The task a chat completion asks for. A task type's own prompt wraps the user's text, so
    only user messages go to one; a conversational type takes every message as given."""
    if body.model not in catalog.task_types and body.model != AUTO_MODEL:
        known = ", ".join(sorted(catalog.task_types))
        raise UnknownModel(
            "model", f"the model '{body.model}' does not exist; the models are: {known}"
        )
    if body.max_tokens is not None and body.max_completion_tokens is not None:
        raise RequestRejected(
            "max_completion_tokens", "send max_completion_tokens or max_tokens, not both"
        )
    options = body.genroute
    fields: dict[str, Any] = {
        "task_type": body.model,
        "max_output_tokens": body.max_completion_tokens or body.max_tokens,
        "latency_budget_ms": options.latency_budget_ms,
        "privacy_tier": options.privacy_tier,
        "priority": options.priority,
        "fallback": options.fallback,
        "idempotency_key": options.idempotency_key or idempotency_key,
        "user_facing": options.user_facing,
        "requires_tool_calls": options.requires_tool_calls,
        "requires_deep_reasoning": options.requires_deep_reasoning,
        "best_effort": options.best_effort,
        "metadata": _metadata(body),
        "stream": body.stream,
        "temperature": body.temperature,
        **_schema_fields(body),
        "attachments": [attachment for _, attachment in attachments_of(body)],
    }
    if body.model == AUTO_MODEL:  # the classifier reads the user's words; a conversation
        fields["input"] = "\n\n".join(m.text() for m in body.messages if m.role == "user")
        fields["messages"] = _turns(body)  # kept only if it resolves to one
    elif catalog.get(body.model).conversation:
        fields["messages"] = _turns(body)
    else:
        fields["input"] = _user_text(body)
    return TaskRequest.model_validate(fields)


def attachments_of(body: ChatCompletionRequest) -> list[tuple[str, dict[str, Any]]]:
    """Each image or video part of the user messages as an attachment, with the `param` that
    names the part (`messages[i].content[j]`), in order."""
    found = []
    for i, message in enumerate(body.messages):
        if isinstance(message.content, str):
            continue
        for j, part in enumerate(message.content):
            if isinstance(part, TextPart):
                continue
            param = f"messages[{i}].content[{j}]"
            if message.role != "user":
                raise RequestRejected(param, "only user messages may show images or video")
            found.append((param, _attachment(part, param)))
    return found


def _attachment(part: ImageUrlPart | VideoUrlPart | FilePart, param: str) -> dict[str, Any]:
    if isinstance(part, FilePart):
        return {"type": "image", "file_id": part.file.file_id, "name": part.file.filename}
    kind, url = (
        ("image", part.image_url.url)
        if isinstance(part, ImageUrlPart)
        else ("video", part.video_url.url)
    )
    if url[:5].lower() == "data:":
        return {"type": kind, "data": url}
    if _FILE_ID.match(url):
        return {"type": kind, "file_id": url}
    raise RequestRejected(
        param,
        f"a {kind} is sent as a data URL or as the id of a file uploaded to /v1/files "
        "(purpose vision); genroute does not fetch URLs",
    )


def part_params(body: ChatCompletionRequest) -> tuple[str, ...]:
    """The `param` of each attachment the body's content parts make, in order."""
    return tuple(param for param, _ in attachments_of(body))


def part_param(params: tuple[str, ...], error: RequestRejected) -> RequestRejected:
    """`error` naming the content part where it names an attachment (`attachments[k]...`
    becomes `params[k]...`, e.g. `messages[i].content[j]`), as OpenAI's `param` does."""
    match = re.match(r"^attachments\[(\d+)\]", error.field)
    if match is None or int(match.group(1)) >= len(params):
        return error
    renamed = params[int(match.group(1))] + error.field[match.end() :]
    return type(error)(renamed, error.message, error.retry_after_s)


def _turns(body: ChatCompletionRequest) -> list[dict[str, str]]:
    return [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        for m in body.messages
    ]


def _user_text(body: ChatCompletionRequest) -> str:
    for index, message in enumerate(body.messages):
        if message.role != "user":
            raise RequestRejected(
                f"messages[{index}].role",
                f"task type '{body.model}' has its own system prompt and takes user messages "
                f"only (a {message.role} message was sent); use model 'chat' for a conversation",
            )
    return "\n\n".join(message.text() for message in body.messages)


def _schema_fields(body: ChatCompletionRequest) -> dict[str, Any]:
    """`response_format` as genroute's schema fields: the output must then meet the schema."""
    response_format = body.response_format
    if isinstance(response_format, JsonSchemaResponseFormat):
        return {"json_schema": response_format.json_schema.json_schema, "schema_required": True}
    if isinstance(response_format, JsonObjectFormat):
        return {"json_schema": {"type": "object"}, "schema_required": True}
    return {}


def _metadata(body: ChatCompletionRequest) -> dict[str, str]:
    metadata = dict(body.metadata or {})
    if body.user is not None:
        metadata[USER_METADATA_KEY] = body.user
    return metadata


def task_record(view: TaskView) -> TaskRecord:
    return TaskRecord(
        task_id=view.id,
        status=view.status.value,
        task_type=view.task_type,
        path=view.route.path.value,
        rule=view.route.rule,
        attempts=len(view.attempts),
        attempt_paths=[attempt.path for attempt in view.attempts],
        classification=view.classification,
    )


def chat_completion(view: TaskView) -> ChatCompletion:
    """A succeeded task as OpenAI's answer: the accepted output, the accepting attempt's
    token counts and finish reason."""
    accepted = view.accepted_attempt()
    tokens_in = (accepted.tokens_in or 0) if accepted else 0
    tokens_out = (accepted.tokens_out or 0) if accepted else 0
    finish = (accepted.engine_facts.get("finish_reason") if accepted else None) or "stop"
    return ChatCompletion(
        id=completion_id(view.id),
        created=int(view.created_at.timestamp()),
        model=view.task_type,
        choices=[
            Choice(
                index=0,
                message=AssistantMessage(content=view.output),
                finish_reason="length" if finish == "length" else "stop",
            )
        ],
        usage=Usage(
            prompt_tokens=tokens_in,
            completion_tokens=tokens_out,
            total_tokens=tokens_in + tokens_out,
        ),
        system_fingerprint=view.route.policy_version,
        genroute=task_record(view),
    )


def unfinished_error(view: TaskView, waited_s: float) -> tuple[int, dict[str, Any]]:
    """The status and OpenAI-shaped error for a task that did not succeed (failed, cancelled,
    or still running when the wait ran out)."""
    record = task_record(view)
    if view.status == TaskStatus.failed:
        message = f"task {view.id} failed after {record.attempts} attempts: {view.error}"
        return 422, _error(message, "task_failed_error", "task_failed", view.id)
    if view.status == TaskStatus.expired:
        message = f"task {view.id} expired: {view.error}"
        return 408, _error(message, "timeout_error", "deadline_expired", view.id)
    if view.status == TaskStatus.cancelled:
        message = f"task {view.id} was cancelled before it ran"
        return 409, _error(message, "task_cancelled_error", "task_cancelled", view.id)
    message = (
        f"task {view.id} is still {view.status.value} after {waited_s:.0f} s; read it later "
        f"with GET /v1/tasks/{view.id} (or wait longer with genroute.wait_s)"
    )
    return 408, _error(message, "timeout_error", "task_not_finished", view.id)


def unreadable_error(task_id: uuid.UUID, exc: Exception) -> dict[str, Any]:
    """The error for a call whose task exists but whose state could not be read while waiting
    (a database or broker blip): the task goes on, and the answer says where to read it."""
    message = (
        f"task {task_id} was accepted, but its state could not be read while waiting "
        f"({type(exc).__name__}); it goes on: read it with GET /v1/tasks/{task_id}"
    )
    return _error(message, "timeout_error", "task_unreadable", task_id)


def interrupted_error(view: TaskView, attempt: int, reason: str) -> dict[str, Any]:
    """The error that ends a stream whose shown text came from an attempt that then failed:
    shown text cannot be taken back, so the call fails and its task is cancelled if it can be
    (the view says what became of it)."""
    message = (
        f"task {view.id}'s attempt {attempt} failed after its text was streamed ({reason}); "
        f"the streamed text is not an answer, and the task is now {view.status.value}"
    )
    return _error(message, "stream_interrupted_error", "stream_interrupted", view.id)


def _error(message: str, kind: str, code: str, task_id: uuid.UUID) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": None,
            "code": code,
            "task_id": str(task_id),
        }
    }
