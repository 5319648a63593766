"""Images and video through the doors, against the running stack with real files: the official
`openai` SDK sends a ticket with a screenshot (a data URL, and an uploaded file's id), the REST
API takes a video, and a Batch API file takes image lines. Pixels reach DiffusionGemma's vision
tower (the attempt's `tokens_in` grows by the image's soft tokens); a text-only path never
attempts one; bad files are refused naming their part, before any task exists."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import text

from genroute.client import Client
from genroute.contract import TaskRequest, TaskView
from genroute.local.stack import Stack
from genroute.runtime.file_store import file_store
from genroute.runtime.retention import prune_once
from genroute.settings import Settings
from tests.helpers import wait_for_task, wait_until
from tests.media import data_url, image_bytes, video_bytes

pytestmark = pytest.mark.integration

TICKET = "Checkout fails at the payment step, see the screenshot. Customer: Ana Ruiz."
TEXT_PART = {"type": "text", "text": TICKET}
SCREENSHOT = image_bytes("Error: payment declined (ORD-4411)", (640, 200))
# A short reply keeps the tiny model's canvases few; no fallback keeps each task on one path.
OPTIONS = {"genroute": {"wait_s": 120, "fallback": "none"}}


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=stack.api_key, max_retries=0) as c:
        yield c


def _completed_task(sdk: openai.OpenAI, client: httpx.Client, content: object) -> TaskView:
    """Send a ticket_summary completion; the task it made, once terminal (an answer, or the
    422 of a task whose outputs the tiny model's noise never got past validation)."""
    try:
        answer = sdk.chat.completions.create(
            model="ticket_summary",
            messages=[{"role": "user", "content": content}],  # type: ignore[misc]
            max_tokens=32,
            extra_body=OPTIONS,
        )
        task_id = answer.genroute["task_id"]  # type: ignore[attr-defined]
    except openai.UnprocessableEntityError as exc:
        task_id = exc.body["task_id"]  # type: ignore[index]
    return wait_for_task(client, task_id)


@pytest.mark.timeout(300)
def test_a_screenshot_reaches_the_model_and_the_task_keeps_it(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    alone = _completed_task(sdk, client, TICKET)
    shown = _completed_task(
        sdk,
        client,
        [
            {"type": "text", "text": TICKET},
            {"type": "image_url", "image_url": {"url": data_url(SCREENSHOT)}},
        ],
    )
    for view in (alone, shown):
        assert view.status.is_terminal and view.attempts, view
    assert alone.input_modality == "text" and not alone.attachments
    assert shown.input_modality == "image" and shown.route.rule == "attachments-diffusion"
    [stored] = shown.attachments
    assert (stored.media_type, stored.width, stored.height) == ("image/png", 640, 200)
    assert stored.bytes == len(SCREENSHOT)
    # Pixels went through the vision tower: the prompt grew by the image's soft tokens.
    assert shown.attempts[0].engine_facts["images"] == 1
    assert shown.attempts[0].tokens_in > alone.attempts[0].tokens_in + 60
    assert {attempt.path for attempt in shown.attempts} == {"diffusion"}
    # The stored screenshot is the owner's file, byte for byte.
    assert sdk.files.content(stored.file_id).content == SCREENSHOT


@pytest.mark.timeout(300)
def test_an_uploaded_screenshot_is_named_by_its_file_id(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    uploaded = sdk.files.create(file=("shot.png", SCREENSHOT), purpose="vision")
    assert uploaded.purpose == "vision"
    view = _completed_task(
        sdk,
        client,
        [
            {"type": "text", "text": TICKET},
            {"type": "file", "file": {"file_id": uploaded.id, "filename": "shot.png"}},
        ],
    )
    [stored] = view.attachments
    assert (stored.file_id, stored.name, stored.type) == (uploaded.id, "shot.png", "image")
    assert view.attempts[0].engine_facts["images"] == 1
    # Grounding read the screenshot's text once (Tesseract); the same bytes again are not
    # read again, whichever task shows them.
    again = _completed_task(
        sdk, client, [TEXT_PART, {"type": "image_url", "image_url": {"url": data_url(SCREENSHOT)}}]
    )
    for attempt in [*view.attempts, *again.attempts]:
        facts = attempt.engine_facts
        assert facts["ocr_reader"].startswith("tesseract"), facts
        assert facts["ocr_images_read"] + facts["ocr_images_kept"] == 1, facts
        [grounding] = [v for v in attempt.validations if v.validator == "grounding"]
        assert "could_not_read" not in grounding.details, grounding.details
    assert again.attempts[0].engine_facts["ocr_images_kept"] == 1


def test_a_corrupt_image_is_refused_naming_its_part_before_any_task(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    key = f"corrupt-{uuid.uuid4()}"
    broken = SCREENSHOT[: len(SCREENSHOT) // 3]
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="ticket_summary",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": TICKET},
                        {"type": "image_url", "image_url": {"url": data_url(broken)}},
                    ],
                }
            ],
            metadata={"probe": key},
        )
    error = refused.value.body
    assert error["param"] == "messages[0].content[1]", error  # type: ignore[index]
    assert "image" in error["message"]  # type: ignore[index]
    listing = client.get("/v1/tasks", params={"tag": f"probe:{key}"}).json()
    assert listing["items"] == []
    someone_elses = {"type": "file", "file": {"file_id": "file-0000000000000000"}}
    with pytest.raises(openai.BadRequestError, match="among this key's files"):
        sdk.chat.completions.create(
            model="ticket_summary",
            messages=[{"role": "user", "content": [TEXT_PART, someone_elses]}],  # type: ignore[list-item]
        )


@pytest.mark.timeout(300)
def test_a_video_is_sampled_to_frames_that_reach_the_model(client: httpx.Client) -> None:
    video = video_bytes(seconds=3, container="webm")
    request = {
        "task_type": "ticket_summary",
        "input": "Screen recording of the checkout failing.",
        "attachments": [{"type": "video", "data": data_url(video, "video/webm"), "name": "rec"}],
        "fallback": "none",
        "max_output_tokens": 32,
    }
    accepted = client.post("/v1/tasks", json=request).raise_for_status().json()
    view = wait_for_task(client, accepted["id"])
    [stored] = view.attachments
    assert view.input_modality == "video" and stored.media_type == "video/webm"
    assert [frame.at_s for frame in stored.frames] == [0.0, 1.0, 2.0]  # one a second
    assert view.attempts[0].engine_facts["images"] == 3


def test_a_rest_batch_refuses_only_its_corrupt_image_item(client: httpx.Client) -> None:
    def item(image: bytes) -> dict:
        attachment = {"type": "image", "data": data_url(image)}
        return {"task_type": "visual_explanation", "input": "", "attachments": [attachment]}

    answer = client.post(
        "/v1/tasks/batch", json={"items": [item(SCREENSHOT), item(SCREENSHOT[:300])]}
    )
    result = answer.raise_for_status().json()
    assert (result["accepted"], result["rejected"]) == (1, 1), result
    good, broken = result["items"]
    assert good["outcome"] == "accepted" and good["task"]["route"]["path"] == "diffusion"
    assert broken["errors"][0]["field"] == "attachments[0]"
    assert "image" in broken["errors"][0]["message"]


def test_a_replayed_image_request_is_the_same_task_and_a_changed_one_conflicts(
    client: httpx.Client,
) -> None:
    def submit(image: bytes) -> httpx.Response:
        return client.post(
            "/v1/tasks",
            json={
                "task_type": "ticket_summary",
                "input": TICKET,
                "attachments": [{"type": "image", "data": data_url(image)}],
                "idempotency_key": key,
            },
        )

    key = f"replay-{uuid.uuid4()}"
    first = submit(SCREENSHOT).raise_for_status().json()
    again = submit(SCREENSHOT).raise_for_status().json()
    assert (again["id"], again["created"]) == (first["id"], False)
    changed = submit(image_bytes("another screenshot"))
    assert changed.status_code == 409, changed.text


@pytest.mark.timeout(400)
def test_a_batch_of_image_lines_completes_with_each_custom_id_once(sdk: openai.OpenAI) -> None:
    def line(custom_id: str, image: bytes) -> str:
        content = [
            {"type": "text", "text": f"{TICKET} ({custom_id})"},
            {"type": "image_url", "image_url": {"url": data_url(image)}},
        ]
        body = {
            "model": "ticket_summary",
            "max_tokens": 32,
            "messages": [{"role": "user", "content": content}],
            "genroute": {"fallback": "none"},
        }
        return json.dumps(
            {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
        )

    lines = [line(f"shot-{n}", image_bytes(f"ORD-{n}")) for n in range(3)]
    lines.append(line("broken", SCREENSHOT[:200]))
    uploaded = sdk.files.create(file=("shots.jsonl", "\n".join(lines).encode()), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = wait_until(
        lambda: (b := sdk.batches.retrieve(batch.id)).status in {"completed", "failed"} and b,
        360,
        "the image batch to end",
    )
    assert done.status == "completed", done

    def read(file_id: str | None) -> list[dict]:
        text = sdk.files.content(file_id).text if file_id else ""
        return [json.loads(row) for row in text.splitlines()]

    outputs, errors = read(done.output_file_id), read(done.error_file_id)
    seen = sorted(row["custom_id"] for row in outputs + errors)
    assert seen == ["broken", "shot-0", "shot-1", "shot-2"]
    [broken] = [row for row in errors if row["custom_id"] == "broken"]
    error = broken["response"]["body"]["error"]
    assert error["param"] == "body.messages[0].content[1]", error


@pytest.mark.timeout(300)
def test_a_backlog_with_a_screenshot_column_is_enqueued_and_rerun_without_doubles(
    stack: Stack, client: httpx.Client, tmp_path: Path
) -> None:
    """`genroute enqueue --attachment-column`: paths relative to the file are uploaded (one
    file each, however many rows show it) and shown with their rows; a re-run finds every row
    already submitted, since the same bytes upload as the same file."""
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "a.png").write_bytes(SCREENSHOT)
    (shots / "b.png").write_bytes(image_bytes("Refund REF-7781 pending"))
    rows = [
        {"id": "t1", "text": TICKET, "shot": "shots/a.png"},
        {"id": "t2", "text": "Refund not received.", "shot": "shots/b.png"},
        {"id": "t3", "text": "", "shot": ["shots/a.png", "shots/b.png"]},  # images alone
        {"id": "t4", "text": "No screenshot this time."},
    ]
    backlog = tmp_path / "backlog.jsonl"
    backlog.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {**os.environ, "GENROUTE_API_URL": stack.api_url, "GENROUTE_API_KEY": stack.api_key}
    command = [
        sys.executable,
        "-m",
        "genroute",
        "enqueue",
        str(backlog),
        "--task-type",
        "visual_explanation",
        "--id-column",
        "id",
        "--input-column",
        "text",
        "--attachment-column",
        "shot",
        "--max-output-tokens",
        "16",
    ]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    submitted = {row["row"]: row["task_id"] for row in map(json.loads, first.stdout.splitlines())}
    assert set(submitted) == {"t1", "t2", "t3", "t4"}
    views = {row: wait_for_task(client, task_id) for row, task_id in submitted.items()}
    assert [a.name for a in views["t3"].attachments] == ["a.png", "b.png"]
    assert views["t1"].attachments[0].file_id == views["t3"].attachments[0].file_id
    assert views["t4"].input_modality == "text" and views["t3"].input_modality == "image"
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "0 new, 4 already submitted, 0 rejected" in again.stderr


def test_the_python_client_uploads_a_screenshot_once_by_its_content(
    stack: Stack, tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    shot.write_bytes(SCREENSHOT)
    with Client(stack.api_url, stack.api_key) as genroute_client:
        first = genroute_client.upload_file(shot)
        second = genroute_client.upload_file(shot)
        accepted = genroute_client.submit(
            TaskRequest(
                task_type="visual_explanation",
                input="What does this dialog say?",
                attachments=[{"type": "image", "file_id": first.id}],
            )
        )
    assert (first.id, first.purpose, first.bytes) == (second.id, "vision", len(SCREENSHOT))
    assert accepted.route.path.value == "diffusion"


@pytest.mark.timeout(300)
def test_the_scorecard_splits_by_input_modality(client: httpx.Client) -> None:
    request = {
        "task_type": "visual_explanation",
        "input": "",
        "attachments": [{"type": "image", "data": data_url(image_bytes("Weekly tickets: 40"))}],
        "fallback": "none",
        "max_output_tokens": 16,
        "metadata": {"suite": "scorecard-modality"},
    }
    task_id = client.post("/v1/tasks", json=request).raise_for_status().json()["id"]
    assert wait_for_task(client, task_id).status.is_terminal
    card = client.get("/v1/scorecard", params={"by": "task_type,input_modality"}).json()
    rows = {
        (row["task_type"], row["input_modality"]): row
        for row in card["rows"]
        if row["purpose"] == "production"
    }
    image = rows[("visual_explanation", "image")]
    assert image["requests"] >= 1 and image["attempts"] >= 1
    assert all(modality in ("text", "image", "video", "mixed") for _, modality in rows)


def test_retention_deletes_expired_tasks_and_the_files_no_task_shows(
    client: httpx.Client, settings: Settings, sessions
) -> None:
    """Tasks finished before the retention age go, with their attempts; an image only they
    showed goes too, bytes and reading included; an image a newer task also shows stays."""

    def submit(marker: str) -> TaskView:
        request = {
            "task_type": "ticket_summary",
            "input": TICKET,
            "attachments": [{"type": "image", "data": data_url(image_bytes(marker))}],
            "fallback": "none",
            "max_output_tokens": 16,
        }
        accepted = client.post("/v1/tasks", json=request).raise_for_status().json()
        return wait_for_task(client, accepted["id"])

    marker = uuid.uuid4().hex[:8]
    alone, shared_old, shared_new = (
        submit(f"A {marker}"),
        submit(f"B {marker}"),
        submit(f"B {marker}"),
    )
    gone, kept = alone.attachments[0], shared_old.attachments[0]
    assert kept.file_id == shared_new.attachments[0].file_id
    old = [str(alone.id), str(shared_old.id)]
    with sessions.begin() as session:
        session.execute(
            text("UPDATE tasks SET finished_at = now() - interval '400 days' WHERE id = ANY(:ids)"),
            {"ids": old},
        )
        session.execute(
            text("UPDATE files SET created_at = now() - interval '400 days' WHERE id = ANY(:ids)"),
            {"ids": [gone.file_id, kept.file_id]},
        )
        session.execute(
            text(
                "UPDATE attachment_texts SET created_at = now() - interval '400 days' "
                "WHERE sha256 = :sha"
            ),
            {"sha": gone.sha256},
        )
        location = session.scalar(
            text("SELECT location FROM files WHERE id = :id"), {"id": gone.file_id}
        )
    pruned = prune_once(sessions, file_store(settings, sessions), age_s=300 * 86400)
    assert (pruned.tasks, pruned.files) == (2, 1) and pruned.readings >= 1
    assert client.get(f"/v1/tasks/{alone.id}").status_code == 404
    assert client.get(f"/v1/tasks/{shared_new.id}").status_code == 200
    with sessions() as session:
        files = set(session.scalars(text("SELECT id FROM files WHERE id = ANY(:ids)"),
                                    {"ids": [gone.file_id, kept.file_id]}))  # fmt: skip
        oid = int(location.removeprefix("pg-lo:"))
        objects = session.scalar(
            text("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = :oid"), {"oid": oid}
        )
        attempts = session.scalar(
            text("SELECT count(*) FROM attempts WHERE task_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": old},
        )
    assert files == {kept.file_id} and objects == 0 and attempts == 0


def test_a_refused_image_request_leaves_no_file_behind(
    sdk: openai.OpenAI, client: httpx.Client
) -> None:
    """Attachments are decoded before routing but their bytes are kept only for an accepted
    request: one refused by its latency budget stores nothing, an accepted one its image."""

    def files() -> set[str]:
        return {f.id for f in sdk.files.list(purpose="vision")}

    before = files()
    image = {"type": "image", "data": data_url(image_bytes(f"never kept {uuid.uuid4()}"))}
    request = {"task_type": "visual_explanation", "input": "", "attachments": [image]}
    hopeless = client.post("/v1/tasks", json={**request, "latency_budget_ms": 1})
    assert hopeless.status_code == 422, hopeless.text
    assert files() == before
    accepted = client.post("/v1/tasks", json=request).raise_for_status().json()
    [stored] = wait_for_task(client, accepted["id"]).attachments
    assert files() - before == {stored.file_id}
