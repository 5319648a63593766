"""Translating OpenAI chat completions to genroute tasks and back, without I/O."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from genroute.api.openai_chat import chat_completion, task_request, unfinished_error
from genroute.contract import TaskRequest, TaskView
from genroute.contract.openai import ChatCompletionRequest
from genroute.errors import RequestRejected
from genroute.interfaces import GenerationRequest
from genroute.policies import load_catalog

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "policies" / "task_types.yaml")


def _request(**fields) -> ChatCompletionRequest:
    body = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}], **fields}
    return ChatCompletionRequest.model_validate(body)


def test_a_conversation_keeps_its_turns_and_developer_means_system() -> None:
    body = _request(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
        ]
    )
    request = task_request(body, CATALOG, None)
    assert [(m.role, m.content) for m in request.messages] == [
        ("system", "Be brief."),
        ("user", "Hello"),
    ]
    assert request.input == "Hello"


def test_a_task_type_takes_the_user_text_and_its_own_bounds() -> None:
    body = _request(
        model="ticket_summary",
        messages=[{"role": "user", "content": "Order #1"}, {"role": "user", "content": "late"}],
        max_completion_tokens=40,
        user="u-1",
        metadata={"team": "support"},
        genroute={"priority": 8, "idempotency_key": "k-1", "privacy_tier": "node"},
    )
    request = task_request(body, CATALOG, "header-key")
    assert request.messages is None and request.input == "Order #1\n\nlate"
    assert request.max_output_tokens == 40 and request.priority == 8
    assert request.idempotency_key == "k-1" and request.privacy_tier == "node"
    assert request.metadata == {"team": "support", "openai_user": "u-1"}
    header_only = task_request(_request(), CATALOG, "header-key")
    assert header_only.idempotency_key == "header-key"


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        ({"type": "json_object"}, {"type": "object"}),
        (
            {"type": "json_schema", "json_schema": {"name": "o", "schema": {"type": "array"}}},
            {"type": "array"},
        ),
    ],
)
def test_response_format_binds_the_output_to_a_schema(response_format, schema) -> None:
    request = task_request(_request(response_format=response_format), CATALOG, None)
    assert request.json_schema == schema and request.schema_required


def test_auto_leaves_the_type_to_the_classifier_with_the_users_words() -> None:
    body = _request(
        model="auto",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    )
    request = task_request(body, CATALOG, None)
    assert request.task_type == "auto" and request.input == "Hi"
    assert [m.role for m in request.messages] == ["system", "user"]  # kept if it is a chat


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "nope"}, "model"),
        ({"max_tokens": 5, "max_completion_tokens": 5}, "max_completion_tokens"),
        (
            {"model": "extraction", "messages": [{"role": "assistant", "content": "x"}]},
            "messages[0].role",
        ),
    ],
)
def test_refusals_name_the_field(fields, field) -> None:
    with pytest.raises(RequestRejected) as refused:
        task_request(_request(**fields), CATALOG, None)
    assert refused.value.field == field


def _view(status: str, **extra) -> TaskView:
    now = datetime.now(UTC)
    attempt = {
        "id": uuid.uuid4(), "attempt_no": 1, "path": "autoregressive", "queue": "autoregressive",
        "engine": "e", "model": "m", "worker_host": None, "worker_name": None,
        "worker_pid": None, "gpu_id": None, "outcome": "succeeded", "error": None,
        "output_text": "Hello", "tokens_in": 7, "tokens_out": 3, "enqueued_at": now,
        "started_at": now, "first_output_at": now, "finished_at": now,
        "engine_facts": {"finish_reason": "length"},
    }  # fmt: skip
    route = {
        "path": "autoregressive", "rule": "r", "policy_version": "v", "fallback_path": None,
        "reason": "why", "max_output_tokens": 8,
    }  # fmt: skip
    return TaskView.model_validate(
        {
            "id": uuid.uuid4(),
            "task_type": "chat",
            "status": status,
            "route": route,
            "output": "Hello",
            "error": None,
            "attempts": [attempt],
            "created_at": now,
            "finished_at": now,
            **extra,
        }
    )


def test_a_succeeded_task_is_a_chat_completion() -> None:
    view = _view("succeeded")
    answer = chat_completion(view)
    assert answer.choices[0].message.content == "Hello"
    assert answer.choices[0].finish_reason == "length"
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (7, 10)
    assert answer.genroute.task_id == view.id and answer.genroute.attempt_paths == [
        "autoregressive"
    ]


def test_unfinished_tasks_answer_openai_errors_naming_the_task() -> None:
    failed = _view("failed", error="attempt budget spent")
    code, body = unfinished_error(failed, 5)
    assert code == 422 and body["error"]["code"] == "task_failed"
    assert "attempt budget spent" in body["error"]["message"]
    assert body["error"]["task_id"] == str(failed.id)
    assert unfinished_error(_view("cancelled"), 5)[0] == 409
    code, body = unfinished_error(_view("running"), 5)
    assert code == 408 and f"/v1/tasks/{body['error']['task_id']}" in body["error"]["message"]


def test_a_conversation_reaches_the_engine_with_the_system_prompt_first() -> None:
    request = GenerationRequest("System.", "ignored", 8, messages=(("user", "Hi"),))
    assert request.chat_messages() == [
        {"role": "system", "content": "System."},
        {"role": "user", "content": "Hi"},
    ]
    own = GenerationRequest("System.", "x", 8, messages=(("system", "Mine."), ("user", "Hi")))
    assert own.chat_messages()[0] == {"role": "system", "content": "Mine."}


def test_a_request_without_messages_records_as_before_they_existed() -> None:
    """Tasks stored before conversations existed have no `messages` key: an idempotent replay
    of one must compare equal, not answer 409."""
    request = TaskRequest(task_type="ticket_summary", input="Order #1 is late")
    assert "messages" not in request.record()
    chat = TaskRequest(task_type="chat", messages=[{"role": "user", "content": "Hi"}])
    assert chat.record()["messages"] == [{"role": "user", "content": "Hi"}]
    assert chat.input == "Hi"
