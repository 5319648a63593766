"""The OpenAI-compatible Batch API, driven by the official `openai` package against the
running stack: a file of 120 lines (some malformed; six submission steps) runs to `completed`
with every custom_id in the output or error file exactly once; a cancelled batch and an expired
one deliver what finished; an API killed mid-submission loses and duplicates no line."""

import functools
import json
import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from sqlalchemy import text

from genroute.contract import Scope
from genroute.db.api_keys import create_key
from genroute.local.stack import Stack
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def _raw(custom_id: str | None, url: str = "/v1/chat/completions", **body: Any) -> str:
    line = {"method": "POST", "url": url, "body": body}
    return json.dumps(line if custom_id is None else {"custom_id": custom_id, **line})


HI = [{"role": "user", "content": "hi"}]
# Lines in the big batch: six of the suite's 20-line submission steps, malformed lines among them.
LINES = 120
# Line number: (its text, the custom_id its error line carries); each fails alone.
MALFORMED = {
    7: ("this is not json", None),
    19: (_raw(None, model="chat", messages=HI), None),
    33: (_raw("bad-model", model="gpt-4o", messages=HI), "bad-model"),
    48: (_raw("bad-url", url="/v1/embeddings", model="chat", messages=HI), "bad-url"),
    61: (_raw("no-messages", model="chat"), "no-messages"),
    77: (_raw("too-long", model="classification", max_tokens=500, messages=HI), "too-long"),
    90: (_raw("line-1", model="chat", messages=HI), "line-1"),
}


def _line(custom_id: str, words: str, max_tokens: int = 3) -> str:
    body = {
        "model": "chat",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": f"Say {words}."}],
    }
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    )


def batch_file(count: int, malformed: dict[int, tuple[str, str | None]], max_tokens: int = 3):
    """`count` lines numbered from 1; good lines are `line-N`. Returns the file and the custom
    ids its output and error files must hold, with how often each may appear (a repeated
    custom_id appears once per line that carries it)."""
    lines, expected = [], {}
    for number in range(1, count + 1):
        if number in malformed:
            raw, custom_id = malformed[number]
            lines.append(raw)
        else:
            custom_id = f"line-{number}"
            lines.append(_line(custom_id, f"hello {number}", max_tokens))
        if custom_id is not None:
            expected[custom_id] = expected.get(custom_id, 0) + 1
    return ("\n".join(lines) + "\n").encode(), expected


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    base_url = f"{stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=stack.api_key, max_retries=0) as client:
        yield client


def _run(sdk: openai.OpenAI, content: bytes, window: str = "24h") -> Any:
    uploaded = sdk.files.create(file=("tickets.jsonl", content), purpose="batch")
    assert uploaded.bytes == len(content) and uploaded.purpose == "batch"
    return sdk.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window=window,  # type: ignore[arg-type]  # genroute takes shorter ones
        metadata={"suite": "batch"},
    )


def _until(sdk: openai.OpenAI, batch_id: str, statuses: set[str], timeout_s: float) -> Any:
    return wait_until(
        lambda: (b := sdk.batches.retrieve(batch_id)).status in statuses and b,
        timeout_s,
        f"batch {batch_id} reaching {statuses}",
    )


def _results(sdk: openai.OpenAI, batch: Any) -> tuple[list[dict], list[dict]]:
    def lines(file_id: str | None) -> list[dict]:
        if file_id is None:
            return []
        return [json.loads(line) for line in sdk.files.content(file_id).text.splitlines()]

    return lines(batch.output_file_id), lines(batch.error_file_id)


def _held_once(outputs: list[dict], errors: list[dict], expected: dict[str, int]) -> None:
    seen: dict[str, int] = {}
    for line in outputs + errors:
        if line["custom_id"] is not None:
            seen[line["custom_id"]] = seen.get(line["custom_id"], 0) + 1
    assert seen == expected


@pytest.mark.timeout(600)
def test_a_120_line_batch_completes_with_every_line_once(
    sdk: openai.OpenAI, stack: Stack, sessions
) -> None:
    content, expected = batch_file(LINES, MALFORMED)
    batch = _run(sdk, content)
    assert batch.status == "validating" and batch.metadata == {"suite": "batch"}
    done = _until(sdk, batch.id, {"completed", "failed"}, 540)
    assert done.status == "completed", done
    assert done.request_counts.total == LINES
    outputs, errors = _results(sdk, done)
    _held_once(outputs, errors, expected)
    assert done.request_counts.completed == len(outputs)
    assert done.request_counts.failed == len(errors) >= len(MALFORMED)
    by_line = {
        e["response"]["body"]["error"].get("line"): e
        for e in errors
        if e["response"]["status_code"] == 400
    }
    assert set(MALFORMED) <= set(by_line), sorted(by_line)
    message = {line: e["response"]["body"]["error"]["message"] for line, e in by_line.items()}
    assert message[7].startswith("line 7: line: not a JSON object")
    assert "already the custom_id of line 1" in message[90]
    assert by_line[33]["response"]["body"]["error"]["param"] == "body.model"
    assert by_line[77]["response"]["body"]["error"]["param"] == "max_output_tokens"
    for output in outputs[:5]:  # each output is the task's accepted answer
        body = output["response"]["body"]
        task = sdk.get(f"/tasks/{body['genroute']['task_id']}", cast_to=object)
        assert task["status"] == "succeeded"
        assert body["choices"][0]["message"]["content"] == task["output"]
        assert output["response"]["status_code"] == 200
    with sessions() as session:
        tasks = session.execute(
            text("SELECT count(*) FROM tasks WHERE idempotency_key LIKE :key"),
            {"key": f"batch:{batch.id}:%"},
        ).scalar()
    assert tasks == LINES - len(MALFORMED)
    listed = [b.id for b in sdk.batches.list(limit=100)]
    assert batch.id in listed


@pytest.mark.timeout(300)
def test_a_cancelled_batch_delivers_what_finished(sdk: openai.OpenAI) -> None:
    content, expected = batch_file(80, {}, max_tokens=24)
    batch = _run(sdk, content)
    wait_until(lambda: sdk.batches.retrieve(batch.id).request_counts.completed >= 3, 240, "3 done")
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    done = _until(sdk, batch.id, {"cancelled"}, 240)
    outputs, errors = _results(sdk, done)
    _held_once(outputs, errors, expected)
    assert len(outputs) >= 3 and errors
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert all(e["response"] is None for e in errors)  # as OpenAI: it never ran
    counts = done.request_counts
    assert (counts.completed, counts.failed) == (len(outputs), len(errors)), counts
    assert counts.completed + counts.failed == counts.total == 80
    assert sdk.batches.cancel(batch.id).status == "cancelled"  # harmless twice


@pytest.mark.timeout(300)
def test_an_expired_batch_delivers_what_finished(sdk: openai.OpenAI) -> None:
    content, expected = batch_file(120, {}, max_tokens=24)
    batch = _run(sdk, content, window="4s")
    done = _until(sdk, batch.id, {"expired", "completed"}, 240)
    assert done.status == "expired" and done.expired_at is not None
    outputs, errors = _results(sdk, done)
    _held_once(outputs, errors, expected)
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert all(e["response"] is None for e in errors)
    counts = done.request_counts  # never-submitted and expired lines count as failed
    assert (counts.completed, counts.failed) == (len(outputs), len(errors)), counts
    assert counts.completed + counts.failed == counts.total == 120


@pytest.mark.timeout(600)
def test_an_api_killed_mid_batch_loses_and_duplicates_nothing(
    sdk: openai.OpenAI, stack: Stack, sessions
) -> None:
    content, expected = batch_file(100, {})
    batch = _run(sdk, content)
    wait_until(
        lambda: 0 < sdk.batches.retrieve(batch.id).model_extra["genroute"]["lines_done"] < 100,
        120,
        "submission under way",
    )
    os.killpg(stack.api.process.pid, signal.SIGKILL)  # mid-step, no shutdown
    wait_until(lambda: stack.api.process.poll() is not None, 10, "the killed API gone")
    stack.restart_api()
    done = _until(sdk, batch.id, {"completed", "failed"}, 540)
    assert done.status == "completed"
    outputs, errors = _results(sdk, done)
    _held_once(outputs, errors, expected)
    with sessions() as session:
        keys = session.execute(
            text("SELECT idempotency_key FROM tasks WHERE idempotency_key LIKE :key"),
            {"key": f"batch:{batch.id}:%"},
        ).scalars()
        keys = list(keys)
    assert len(keys) == len(set(keys)) == 100


def test_files_and_batches_belong_to_their_owner(
    sdk: openai.OpenAI, stack: Stack, sessions
) -> None:
    content, _ = batch_file(2, {})
    uploaded = sdk.files.create(file=("two.jsonl", content), purpose="batch")
    assert sdk.files.retrieve(uploaded.id).filename == "two.jsonl"
    assert sdk.files.content(uploaded.id).content == content
    with sessions() as session:
        other = create_key(session, "someone-else", [Scope.submit, Scope.read]).secret
        session.commit()
    mine = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with openai.OpenAI(base_url=str(sdk.base_url), api_key=other, max_retries=0) as stranger:
        # Every file and batch endpoint: another owner's ids are not found, lists omit them.
        for attempt in (
            lambda: stranger.files.retrieve(uploaded.id),
            lambda: stranger.files.content(uploaded.id),
            lambda: stranger.files.delete(uploaded.id),
            lambda: stranger.batches.retrieve(mine.id),
            lambda: stranger.batches.cancel(mine.id),
            lambda: stranger.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            ),
        ):
            with pytest.raises(openai.NotFoundError):
                attempt()
        assert uploaded.id not in {f.id for f in stranger.files.list()}
        assert mine.id not in {b.id for b in stranger.batches.list()}
    sdk.batches.cancel(mine.id)
    wait_until(
        lambda: sdk.batches.retrieve(mine.id).status in ("cancelled", "completed"), 60, "ended"
    )
    with pytest.raises(openai.BadRequestError) as wrong_purpose:
        sdk.files.create(file=("x.jsonl", content), purpose="fine-tune")
    assert wrong_purpose.value.param == "purpose"
    with pytest.raises(openai.BadRequestError) as wrong_endpoint:
        sdk.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/embeddings",
            completion_window="24h",
        )
    assert wrong_endpoint.value.param == "endpoint"
    deleted = sdk.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(uploaded.id)


def test_an_idempotency_key_makes_a_retried_batch_the_same_batch(sdk: openai.OpenAI) -> None:
    content, _expected = batch_file(2, {})
    upload = sdk.files.create(file=("twice.jsonl", content), purpose="batch")
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    create = functools.partial(
        sdk.batches.create, endpoint="/v1/chat/completions", completion_window="24h"
    )
    first = create(input_file_id=upload.id, extra_headers=key)
    again = create(input_file_id=upload.id, extra_headers=key)
    assert again.id == first.id
    other = sdk.files.create(file=("other.jsonl", content), purpose="batch")
    with pytest.raises(openai.ConflictError) as conflict:
        create(input_file_id=other.id, extra_headers=key)
    assert first.id in conflict.value.message
    assert conflict.value.response.headers["x-should-retry"] == "false"
    assert create(input_file_id=upload.id).id != first.id  # no key: a new batch
