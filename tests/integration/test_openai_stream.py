"""Streamed chat completions through the official `openai` package: chunks relayed while the
engine generates (token by token on the autoregressive path, a canvas at a time on the
diffusion path), a refused draft announced before its fallback streams, and the SDK's own
stream helper assembling the accepted answer."""

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import openai
import pytest

from genroute.local.stack import Stack
from tests.helpers import ticket

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "Write three short sentences about the sea."}]


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    base_url = f"{stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=stack.api_key, max_retries=0) as client:
        yield client


def _extension(chunk) -> dict:
    return (chunk.model_extra or {}).get("genroute") or {}


@pytest.mark.timeout(300)
def test_tokens_arrive_while_the_engine_generates(sdk: openai.OpenAI, client: httpx.Client) -> None:
    stream = sdk.chat.completions.create(
        model="chat",
        messages=ASK,
        max_tokens=40,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks, first_content_at = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and first_content_at is None:
            first_content_at = time.time()
        chunks.append(chunk)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    record = _extension(final)
    task = client.get(f"/v1/tasks/{record['task_id']}").raise_for_status().json()
    assert task["status"] == "succeeded" and record["output"] == task["output"]
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 5, pieces  # token by token, not the whole answer at once
    assert "".join(pieces) == task["output"]  # exactly: no blank the output was stripped of
    assert {c.id for c in chunks} == {f"chatcmpl-{record['task_id'].replace('-', '')}"}
    finished_at = datetime.fromisoformat(task["finished_at"]).timestamp()
    assert first_content_at is not None and first_content_at < finished_at
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == task["attempts"][-1]["tokens_out"]


@pytest.mark.timeout(300)
def test_the_sdk_stream_helper_assembles_the_answer(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    try:
        with sdk.chat.completions.stream(model="chat", messages=ASK, max_tokens=24) as stream:
            final = stream.get_final_completion()
    except openai.LengthFinishReasonError as cut:  # the helper refuses a reply cut at max_tokens
        final = cut.completion
        assert final.choices[0].finish_reason == "length"
    task_id = final.id.removeprefix("chatcmpl-")
    task = client.get(f"/v1/tasks/{task_id}").raise_for_status().json()
    assert final.choices[0].message.content.strip() == task["output"]
    assert final.choices[0].finish_reason in ("stop", "length")


@pytest.mark.timeout(300)
def test_a_plain_stream_shows_exactly_the_accepted_output(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    """The tiny random DiffusionGemma's canvases always fail validation, then the fallback
    answers: a client that did not ask for drafts sees the accepted output and nothing else
    (or nothing, and an error naming the task, when the task fails). The SDK's own helper
    assembles the same."""
    for _ in range(2):
        content, failure, task_id = "", None, None
        chunks: list = []
        try:
            for chunk in _summary_stream(sdk, chunks):
                task_id = task_id or _extension(chunk).get("task_id")
                if chunk.choices and chunk.choices[0].delta.content:
                    content += chunk.choices[0].delta.content
        except openai.APIError as exc:
            failure = exc.body
        task = client.get(f"/v1/tasks/{task_id}").raise_for_status().json()
        assert task["attempts"][0]["path"] == "diffusion"
        assert task["attempts"][0]["outcome"] != "succeeded", task["attempts"][0]
        if task["status"] == "succeeded":
            assert failure is None and content == task["output"], (content, task["output"])
        else:
            assert content == "" and failure is not None and failure["task_id"] == task_id
    try:
        with sdk.chat.completions.stream(
            model="ticket_summary",
            messages=[{"role": "user", "content": ticket()["input"]}],
            max_tokens=24,
        ) as stream:
            final = stream.get_final_completion()
    except openai.APIError as exc:  # the task failed: the helper raises, showing nothing
        assert exc.body["task_id"]
        return
    task = client.get(f"/v1/tasks/{final.id.removeprefix('chatcmpl-')}").json()
    assert final.choices[0].message.content == task["output"]


@pytest.mark.timeout(300)
def test_drafts_stream_to_a_client_that_asks_with_their_events(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    """With `genroute.stream_drafts` the refused draft streams as it is made, the stream says
    it is rejected, then the fallback's answer follows (or the task's failure, as an error)."""
    chunks: list = []
    failure = None
    try:
        for _chunk in _summary_stream(sdk, chunks, {"genroute": {"stream_drafts": True}}):
            pass
    except openai.APIError as exc:
        failure = exc.body
    task_id = _extension(chunks[0])["task_id"]
    task = client.get(f"/v1/tasks/{task_id}").raise_for_status().json()
    first = task["attempts"][0]
    assert first["path"] == "diffusion" and first["outcome"] != "succeeded", first
    rejected = [_extension(c) for c in chunks if _extension(c).get("event") == "draft_rejected"]
    assert rejected and rejected[0]["attempt"] == 1, [_extension(c) for c in chunks]
    canvas_pieces = [
        c
        for c in chunks
        if c.choices and c.choices[0].delta.content and _extension(c)["attempt"] == 1
    ]
    assert len(canvas_pieces) <= first["engine_facts"]["canvases"]  # a canvas at a time
    if task["status"] == "succeeded":
        assert _extension(chunks[-1])["output"] == task["output"]
        assert _extension(chunks[-1])["attempt_paths"][0] == "diffusion"
    else:
        assert failure is not None and failure["task_id"] == task_id


def _summary_stream(sdk: openai.OpenAI, chunks: list, extra_body: dict | None = None) -> Iterator:
    """A streamed ticket summary's chunks, each also kept in `chunks`."""
    for chunk in sdk.chat.completions.create(
        model="ticket_summary",
        messages=[{"role": "user", "content": ticket()["input"]}],
        max_tokens=24,
        stream=True,
        extra_body=extra_body,
    ):
        chunks.append(chunk)
        yield chunk


@pytest.mark.timeout(300)
def test_async_streams(stack: Stack, client: httpx.Client) -> None:
    async def stream_all() -> list[list]:
        async with openai.AsyncOpenAI(
            base_url=f"{stack.api_url}/v1", api_key=stack.api_key, max_retries=0
        ) as sdk:

            async def one(n: int) -> list:
                stream = await sdk.chat.completions.create(
                    model="chat",
                    messages=[{"role": "user", "content": f"Count to {n}."}],
                    max_tokens=12,
                    stream=True,
                )
                return [chunk async for chunk in stream]

            return await asyncio.gather(*(one(n) for n in (3, 4)))

    for chunks in asyncio.run(stream_all()):
        record = _extension(chunks[-1])
        task = client.get(f"/v1/tasks/{record['task_id']}").json()
        assert task["status"] == "succeeded" and record["output"] == task["output"]
