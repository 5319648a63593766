"""The OpenAI-compatible chat completions and model list, driven by the official `openai`
package (sync and async) against the running stack: every answer is a real task, readable
back from `/v1/tasks` with the same output, and every refusal is an OpenAI-shaped error."""

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from genroute.contract import TaskView
from genroute.local.stack import Stack
from tests.helpers import ticket

pytestmark = pytest.mark.integration

TICKET = ticket()["input"]
# What each task type is given, as a user would send it.
USER_TEXT = {
    "ticket_summary": TICKET,
    "batch_summary": f"1. {TICKET}\n2. My parcel to Lyon is two weeks late.",
    "synthetic_examples": "My invoice INV-2231 shows a double charge of 20 EUR.",
    "short_transform": "send me my refund now",
    "extraction": TICKET,
    "classification": "I was charged twice for order #B-2231.",
    "reasoning_answer": "A box holds 3 mugs. How many boxes for 10 mugs?",
    "chat": "Say hello to a customer named Ana.",
    # Image task types take text alone too (the note a sender wrote beside the image).
    "document_fields": "Invoice INV-2231, total 20 EUR, due 2026-12-01.",
    "visual_explanation": "The dashboard shows 40 tickets this week, up from 25.",
    # The suite's copies of classification whose outputs are cached (tests/conftest.py).
    "cached_label": "I was charged twice for order #B-2231.",
    "shared_label": "I was charged twice for order #B-2231.",
}


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    base_url = f"{stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=stack.api_key, max_retries=0) as client:
        yield client


def _task(client: httpx.Client, task_id: str) -> TaskView:
    return TaskView.model_validate(client.get(f"/v1/tasks/{task_id}").raise_for_status().json())


def test_models_list_every_task_type(sdk: openai.OpenAI, client: httpx.Client) -> None:
    names = {model.id for model in sdk.models.list()}
    assert names == {*USER_TEXT, "auto"}, names


@pytest.mark.timeout(600)
def test_a_completion_per_task_type_is_the_task_it_ran(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    """The answer is the task's accepted output, or (where the tiny models fail validation
    three times) a 422 naming the failed task; either way the task is there to read. Chat has
    no check the tiny model can fail, so it must succeed (a test that passes when every task
    type fails proves nothing)."""
    succeeded = set()
    for model, text in USER_TEXT.items():
        try:
            answer = sdk.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": text}],
                max_completion_tokens=24,
                metadata={"suite": "openai-chat"},
            )
        except openai.UnprocessableEntityError as exc:
            error = exc.body
            assert isinstance(error, dict) and error["code"] == "task_failed", error
            task = _task(client, error["task_id"])
            assert task.status == "failed" and len(task.attempts) >= 1, (model, task)
            assert task.error and task.error in error["message"]
            continue
        task = _task(client, str(answer.model_extra["genroute"]["task_id"]))
        assert answer.id == f"chatcmpl-{task.id.hex}"
        assert answer.object == "chat.completion" and answer.model == model
        assert task.status == "succeeded" and task.task_type == model
        assert answer.choices[0].message.role == "assistant"
        assert answer.choices[0].message.content == task.output, model
        assert answer.choices[0].finish_reason in ("stop", "length")
        accepted = task.attempts[-1]
        assert answer.usage.completion_tokens == accepted.tokens_out
        assert answer.usage.total_tokens == accepted.tokens_in + accepted.tokens_out
        record = answer.model_extra["genroute"]
        assert record["path"] == task.route.path and record["rule"] == task.route.rule
        assert record["attempt_paths"] == [a.path for a in task.attempts]
        assert task.metadata == {"suite": "openai-chat"}
        succeeded.add(model)
    assert "chat" in succeeded, succeeded


@pytest.mark.timeout(300)
def test_async_client_and_conversation_turns(stack: Stack, client: httpx.Client) -> None:
    """Concurrent calls from AsyncOpenAI; a conversation's system and earlier turns reach the
    model as given (the recorded request keeps them)."""
    messages = [
        {"role": "developer", "content": "You answer in one short sentence."},
        {"role": "user", "content": "My name is Ana."},
        {"role": "assistant", "content": "Hello Ana."},
        {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]},
    ]

    async def ask_all() -> list:
        async with openai.AsyncOpenAI(
            base_url=f"{stack.api_url}/v1", api_key=stack.api_key, max_retries=0
        ) as sdk:
            calls = [
                sdk.chat.completions.create(
                    model="chat", messages=messages, max_tokens=16, user=f"user-{n}"
                )
                for n in range(3)
            ]
            return await asyncio.gather(*calls)

    answers = asyncio.run(ask_all())
    ids = {answer.model_extra["genroute"]["task_id"] for answer in answers}
    assert len(ids) == 3
    for answer in answers:
        task_id = answer.model_extra["genroute"]["task_id"]
        task = client.get(f"/v1/tasks/{task_id}").json()
        assert task["status"] == "succeeded" and answer.choices[0].message.content == task["output"]
        assert task["metadata"]["openai_user"].startswith("user-")
        assert task["attempts"][-1]["tokens_in"] > 20  # the whole conversation, not one turn


def test_refusals_are_openai_errors_naming_the_field(sdk: openai.OpenAI) -> None:
    user = [{"role": "user", "content": TICKET}]
    with pytest.raises(openai.NotFoundError) as unknown_model:  # as OpenAI: 404
        sdk.chat.completions.create(model="gpt-4o", messages=user)
    assert unknown_model.value.code == "model_not_found"
    assert unknown_model.value.param == "model" and "ticket_summary" in unknown_model.value.message
    with pytest.raises(openai.BadRequestError) as unknown_field:
        sdk.chat.completions.create(model="chat", messages=user, extra_body={"top_k": 3})
    assert unknown_field.value.param == "top_k"
    system = [{"role": "system", "content": "Be brief."}, *user]
    with pytest.raises(openai.BadRequestError) as own_prompt:
        sdk.chat.completions.create(model="ticket_summary", messages=system)
    assert own_prompt.value.param == "messages[0].role"
    with pytest.raises(openai.BadRequestError) as too_long:
        sdk.chat.completions.create(model="ticket_summary", messages=user, max_tokens=100_000)
    assert too_long.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as bounded:
        sdk.chat.completions.create(model="classification", messages=user, max_tokens=900)
    assert bounded.value.param == "max_output_tokens" and "32" in bounded.value.message
    last_not_user = [*user, {"role": "assistant", "content": "ok"}]
    with pytest.raises(openai.BadRequestError) as answered:
        sdk.chat.completions.create(model="chat", messages=last_not_user)
    assert answered.value.param == "messages"
    with (
        openai.OpenAI(base_url=str(sdk.base_url), api_key="nope", max_retries=0) as wrong_key,
        pytest.raises(openai.AuthenticationError) as denied,
    ):
        wrong_key.models.list()
    assert denied.value.code == "invalid_api_key"


def test_a_wait_that_runs_out_names_the_task_and_is_not_retried(
    stack: Stack, client: httpx.Client
) -> None:
    """The SDK retries 408s unless told not to: the answer says not to, so one call makes one
    task, which goes on and ends on its own."""
    retrying = openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=stack.api_key, max_retries=2)
    tag = uuid.uuid4().hex
    with retrying as sdk, pytest.raises(openai.APIStatusError) as late:
        sdk.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "Write a long story about a lighthouse."}],
            max_tokens=200,
            metadata={"tag": tag},
            extra_body={"genroute": {"wait_s": 0.05}},
        )
    assert late.value.status_code == 408 and late.value.code == "task_not_finished"
    task_id = late.value.body["task_id"]
    assert task_id in late.value.message
    listed = client.get("/v1/tasks", params={"tag": f"tag:{tag}"}).json()["items"]
    assert [item["id"] for item in listed] == [task_id]


def test_idempotency_key_makes_a_retry_the_same_task(sdk: openai.OpenAI) -> None:
    key = {"genroute": {"idempotency_key": f"chat-{uuid.uuid4()}"}}
    calls = [
        sdk.chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "Hello"}],
            max_tokens=8,
            extra_body=key,
        )
        for _ in range(2)
    ]
    first, second = (call.model_extra["genroute"]["task_id"] for call in calls)
    assert (
        first == second
        and calls[0].choices[0].message.content == calls[1].choices[0].message.content
    )


def test_a_body_over_the_limit_is_refused_in_openai_shape(sdk: openai.OpenAI) -> None:
    """9 MB of messages (the body limit is 8 MiB): 413 with OpenAI's error body, so the SDK
    raises its own error with the code rather than failing to read ours."""
    huge = [{"role": "user", "content": "x" * (9 * 1024 * 1024)}]
    with pytest.raises(openai.APIStatusError) as refused:
        sdk.chat.completions.create(model="chat", messages=huge)
    assert refused.value.status_code == 413
    assert refused.value.code == "request_too_large" and "GENROUTE_MAX_BODY_BYTES" in str(
        refused.value.message
    )
