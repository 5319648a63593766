"""The batch runner as API processes run it, on a database and Redis db of their own: the app
is built in this process (its own runner sleeps for the module) and each test steps batches
with runners of its own, as two API processes would. A step reads only the lines it needs, a
piece of the input at a time, and a step's lines are recorded in the transaction that makes
their tasks, so a cancel from another process cannot end the batch between the two."""

import json
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from genroute.api.app import batch_runner, create_app, submission_factory
from genroute.api.batch_runner import BatchRunner, SubmissionFactory
from genroute.contract import Scope, TaskStatus
from genroute.db.models import BatchLine, Task
from genroute.local.stack import issue_key
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration

STEP_LINES = 20


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    updates = {"batch_interval_s": 3600.0, "batch_step_lines": STEP_LINES}
    with isolated_settings(settings, redis_db=2, **updates) as own:
        key = issue_key(own, "batch-owner", (Scope.submit, Scope.read))
        with TestClient(create_app(own)) as http:
            http.headers["Authorization"] = f"Bearer {key}"
            yield http


def _batch(api: TestClient, content: bytes) -> str:
    uploaded = api.post(
        "/v1/files", files={"file": ("input.jsonl", content)}, data={"purpose": "batch"}
    )
    assert uploaded.status_code == 200, uploaded.text
    created = api.post(
        "/v1/batches",
        json={
            "input_file_id": uploaded.json()["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        },
    )
    assert created.status_code == 200, created.text
    return created.json()["id"]


def _recorded(api: TestClient, batch_id: str) -> list[BatchLine]:
    with api.app.state.sessions() as session:
        query = select(BatchLine).where(BatchLine.batch_id == batch_id)
        return list(session.scalars(query.order_by(BatchLine.line_no)))


def test_a_step_reads_a_piece_of_the_input_never_all_of_it(api: TestClient) -> None:
    padding = "x" * 100_000  # an unknown field: each line fails alone, cheaply
    lines = [
        json.dumps({"custom_id": f"c{n}", "method": "POST", "url": "/v1/x", "pad": padding})
        for n in range(400)
    ]
    content = ("\n".join(lines) + "\n").encode()  # 40 MB
    batch_id = _batch(api, content)
    runner = batch_runner(api.app.state, api.app.state.settings)
    tracemalloc.start()
    try:
        runner.run_once()  # validates: counts 400 lines
        runner.run_once()  # lines 1-20
        runner.run_once()  # lines 21-40, from where the last step ended
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    recorded = _recorded(api, batch_id)
    assert [line.line_no for line in recorded] == list(range(1, 2 * STEP_LINES + 1))
    assert [line.custom_id for line in recorded[:3]] == ["c0", "c1", "c2"]
    assert recorded[0].error is not None and recorded[0].error["error"]["param"] == "pad"
    assert api.get(f"/v1/batches/{batch_id}").json()["request_counts"]["total"] == 400
    assert peak < len(content) // 4, f"peak {peak} bytes for a {len(content)}-byte input"
    api.post(f"/v1/batches/{batch_id}/cancel")
    runner.run_once()


def _good_line(number: int) -> str:
    body = {"model": "chat", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}
    line = {"custom_id": f"line-{number}", "method": "POST", "url": "/v1/chat/completions"}
    return json.dumps({**line, "body": body})


def _pausing_at_commit(
    submissions: SubmissionFactory, committed: threading.Event, resume: threading.Event
) -> SubmissionFactory:
    """Submissions whose staged tasks, the moment their transaction commits, say so and wait
    to be resumed (whatever else that commit did or did not hold)."""

    def submission(session: Any, principal: Any) -> Any:
        made = submissions(session, principal)
        stage = made.stage

        def stage_then_pause_at_commit(*args: Any, **kwargs: Any) -> Any:
            staged = stage(*args, **kwargs)

            def pause(_session: Any) -> None:
                committed.set()
                resume.wait(60)

            event.listen(session, "after_commit", pause, once=True)
            return staged

        made.stage = stage_then_pause_at_commit  # type: ignore[method-assign]
        return made

    return submission


def test_a_cancel_from_another_process_mid_step_orphans_no_task(api: TestClient) -> None:
    """Process A's step pauses the moment its tasks commit; process B cancels the batch and
    winds it down meanwhile. Every task A made must be one of the batch's lines, and so
    cancelled with it: none is left queued behind a batch that has ended."""
    content = ("\n".join(_good_line(n) for n in range(1, 31)) + "\n").encode()
    batch_id = _batch(api, content)
    state, settings = api.app.state, api.app.state.settings
    committed, resume = threading.Event(), threading.Event()
    pausing = _pausing_at_commit(submission_factory(state, settings), committed, resume)
    process_a = BatchRunner(
        state.sessions, pausing, state.policy.catalog, state.redis, state.file_store, settings
    )
    process_b = batch_runner(state, settings)
    process_b.run_once()  # validates
    step = threading.Thread(target=process_a.run_once)
    step.start()
    try:
        assert committed.wait(60), "process A never committed its tasks"
        cancelled = api.post(f"/v1/batches/{batch_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        process_b.run_once()
    finally:
        resume.set()
        step.join(60)
    process_b.run_once()
    ended = api.get(f"/v1/batches/{batch_id}").json()
    assert ended["status"] == "cancelled", ended
    with state.sessions() as session:
        key = f"batch:{batch_id}:line:%"
        made = list(session.scalars(select(Task).where(Task.idempotency_key.like(key))))
    assert made, "process A made no task"
    lines = {line.task_id for line in _recorded(api, batch_id)}
    assert {task.id for task in made} <= lines
    assert {TaskStatus(task.status) for task in made} == {TaskStatus.cancelled}
    counts = ended["request_counts"]
    assert counts["total"] == 30 == counts["completed"] + counts["failed"]


def test_result_files_are_written_a_line_at_a_time(api: TestClient) -> None:
    """A batch of 40,000 lines cancelled before its first step: every line becomes a line of
    the error file (about 30 MB, each naming its 500-character custom_id), written to a file
    that spills to disk and stored a piece at a time, never held whole."""
    line = '{"custom_id":"%s","method":"POST","url":"/v1/chat/completions","body":{}}'
    content = "".join(line % f"{n:0500d}" + "\n" for n in range(40_000)).encode()
    batch_id = _batch(api, content)
    runner = batch_runner(api.app.state, api.app.state.settings)
    runner.run_once()  # validates
    assert api.post(f"/v1/batches/{batch_id}/cancel").status_code == 200
    tracemalloc.start()
    try:
        runner.run_once()  # nothing ran: every line is written to the error file
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ended = api.get(f"/v1/batches/{batch_id}").json()
    assert ended["status"] == "cancelled" and ended["request_counts"]["failed"] == 40_000
    errors = api.get(f"/v1/files/{ended['error_file_id']}").json()["bytes"]
    assert errors > 25_000_000
    assert peak < errors // 2, f"peak {peak} bytes for a {errors}-byte error file"
