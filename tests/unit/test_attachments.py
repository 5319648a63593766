"""Attachments without servers: decoding and bounding real image and video files, the request's
derived modality, routing by what each path's model takes, and the OpenAI content parts."""

import base64
import io
import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from genroute.analysis.replay import format_replay, replay
from genroute.api.auth import Principal
from genroute.api.openai_chat import part_param, part_params, task_request
from genroute.api.shadows import shadow_rows
from genroute.contract import (
    InputModality,
    Modality,
    PathName,
    PrivacyTier,
    Scope,
    StoredAttachment,
    TaskRequest,
)
from genroute.contract.openai import ChatCompletionRequest
from genroute.db.files import attachment_file_id
from genroute.errors import AttachmentRejected, PathUnavailable, PolicyError, RequestRejected
from genroute.interfaces import GenerationRequest, ImageInput
from genroute.local.demo import sample_tickets
from genroute.policies import load_catalog, load_policy
from genroute.runtime.file_store import FileStores, LargeObjects, S3Store
from genroute.runtime.media import MediaRejected, MediaTooLarge, decode_image, sample_video
from genroute.runtime.path_modalities import load_path_modalities
from genroute.workers.attachments import untaken_input
from genroute.workers.engines.openai_http import HttpParams, OpenAIHttpEngine
from genroute.workers.engines.registry import PathConfig
from tests.media import data_url, image_bytes, video_bytes

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "policies" / "task_types.yaml")
SEES = frozenset(Modality)
TEXT = frozenset({Modality.text})
# As the shipped paths file declares them: DiffusionGemma sees, SmolLM2 reads text only.
SHIPPED = load_path_modalities(ROOT / "workers" / "paths.yaml", environ={})
POLICY = load_policy(ROOT / "policies" / "default.yaml", CATALOG, modalities=SHIPPED)
PNG = image_bytes("Order ORD-4411")


def _image_request(**fields) -> TaskRequest:
    attachment = {"type": "image", "data": data_url(PNG)}
    return TaskRequest.model_validate(
        {"task_type": "ticket_summary", "input": "See screenshot", "attachments": [attachment]}
        | fields
    )


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_each_image_format_decodes_with_its_media_type(kind: str, media_type: str) -> None:
    decoded = decode_image(io.BytesIO(image_bytes("x", (40, 30), kind)), max_pixels=10_000)
    assert (decoded.media_type, decoded.width, decoded.height) == (media_type, 40, 30)


def test_corrupt_truncated_foreign_and_oversized_images_are_refused() -> None:
    big = image_bytes("text", (800, 600))
    with pytest.raises(MediaRejected, match="corrupt or truncated"):
        decode_image(io.BytesIO(big[: len(big) // 2]), max_pixels=10**7)
    with pytest.raises(MediaRejected, match="not a PNG"):
        decode_image(io.BytesIO(b"%PDF-1.7 not an image"), max_pixels=10**7)
    with pytest.raises(MediaTooLarge, match="480000 pixels"):
        decode_image(io.BytesIO(big), max_pixels=100_000)


@pytest.mark.parametrize(
    ("container", "media_type"), [("mp4", "video/mp4"), ("webm", "video/webm")]
)
def test_a_video_is_sampled_at_the_rate_asked(container: str, media_type: str) -> None:
    video = sample_video(io.BytesIO(video_bytes(4, container=container)), 2.0, 32, 60, 10**6)
    assert video.media_type == media_type and (video.width, video.height) == (64, 48)
    assert [frame.at_s for frame in video.frames] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert all(frame.png.startswith(b"\x89PNG") for frame in video.frames)
    # Past the frame cap, fewer frames a second, spread over the whole video: none of it unseen.
    capped = sample_video(io.BytesIO(video_bytes(4, container=container)), 2.0, 3, 60, 10**6)
    assert [frame.at_s for frame in capped.frames] == [0.0, 1.4, 2.8]


def test_long_corrupt_and_non_video_files_are_refused() -> None:
    with pytest.raises(MediaTooLarge, match="more than 2 s"):
        sample_video(io.BytesIO(video_bytes(4)), 1.0, 8, 2, 10**6)
    with pytest.raises(MediaRejected, match="corrupt"):
        sample_video(io.BytesIO(b"\x00" * 4096), 1.0, 8, 60, 10**6)
    with pytest.raises(MediaRejected):
        sample_video(io.BytesIO(PNG), 1.0, 8, 60, 10**6)


def test_input_modality_is_derived_and_a_wrong_one_is_named() -> None:
    assert _image_request().input_modality is InputModality.image
    video = {"type": "video", "file_id": "file-abc"}
    both = _image_request(attachments=[{"type": "image", "file_id": "file-a"}, video])
    assert both.input_modality is InputModality.mixed
    with pytest.raises(ValidationError, match="input_modality") as refused:
        _image_request(input_modality="text")
    assert refused.value.errors()[0]["loc"] == ("input_modality",)
    with pytest.raises(ValidationError, match="exactly one of data"):
        _image_request(attachments=[{"type": "image", "data": "aGk=", "file_id": "file-a"}])


def test_the_record_keeps_what_was_stored_never_the_inline_bytes() -> None:
    assert "attachments" not in TaskRequest(task_type="x", input="hi").record()
    assert _image_request().record([])["attachments"] == []


def test_an_image_request_goes_only_where_the_model_sees() -> None:
    decision = POLICY.decide(_image_request())
    assert decision.path is PathName.diffusion and decision.rule == "attachments-diffusion"
    assert decision.fallback_path is None  # SmolLM2 cannot see it: fail rather than drop it
    assert POLICY.decide(_image_request(task_type="extraction")).path is PathName.diffusion
    assert POLICY.allowed_paths(_image_request()) == [PathName.diffusion]
    # A text request keeps its route and fallback.
    text = POLICY.decide(TaskRequest(task_type="ticket_summary", input="x"))
    assert text.fallback_path is PathName.autoregressive


def test_document_fields_decode_under_their_schema_where_a_seeing_path_can() -> None:
    document = _image_request(task_type="document_fields")
    assert POLICY.decide(document).path is PathName.diffusion  # SmolLM2 cannot see it
    everywhere = {PathName.diffusion: SEES, PathName.autoregressive: SEES}
    production = load_policy(ROOT / "policies" / "default.yaml", CATALOG, modalities=everywhere)
    decision = production.decide(document)
    assert (decision.path, decision.rule) == (PathName.autoregressive, "documents-structured")


def test_without_the_modality_rule_the_default_finds_a_path_that_sees() -> None:
    policy = load_policy(
        ROOT / "tests" / "data" / "policy-no-rules.yaml", CATALOG, modalities=SHIPPED
    )
    decision = policy.decide(_image_request())
    assert decision.path is PathName.diffusion
    assert "autoregressive does not take image input, diffusion does" in decision.reason


def test_no_path_that_sees_refuses_naming_the_attachments() -> None:
    blind = load_policy(ROOT / "policies" / "default.yaml", CATALOG, modalities={})
    with pytest.raises(RequestRejected, match="no path takes image input") as refused:
        blind.decide(_image_request())
    assert refused.value.field == "attachments"


def test_a_rolled_back_path_never_sends_images_to_a_blind_fallback() -> None:
    decision = POLICY.decide(_image_request())
    with pytest.raises(PathUnavailable, match="does not take image input") as refused:
        POLICY.with_path_state(decision, "rolled_back", False, _image_request())
    assert refused.value.field == "attachments"


def test_a_restricted_image_stays_on_paths_its_tier_admits() -> None:
    locations = {
        PathName.diffusion: PrivacyTier.external,
        PathName.autoregressive: PrivacyTier.node,
    }
    seeing_everywhere = {PathName.diffusion: SEES, PathName.autoregressive: SEES}
    policy = load_policy(ROOT / "policies" / "default.yaml", CATALOG, locations, seeing_everywhere)
    decision = policy.decide(_image_request(privacy_tier="cluster"))
    assert decision.path is PathName.autoregressive  # passed over diffusion: it is external
    assert "privacy_tier cluster" in decision.reason
    assert policy.shadow_path(_image_request(privacy_tier="cluster"), decision, 0.0) is None


def test_paths_declare_what_they_take_and_a_text_only_engine_cannot_claim_images(
    tmp_path: Path,
) -> None:
    assert {PathName.diffusion: SEES, PathName.autoregressive: TEXT} == SHIPPED
    override = {"GENROUTE_DIFFUSION_CAPABILITIES": json.dumps({"modalities": ["text"]})}
    overridden = load_path_modalities(ROOT / "workers" / "paths.yaml", environ=override)
    assert overridden[PathName.diffusion] == TEXT
    with pytest.raises(ValidationError, match="takes text only"):
        PathConfig(
            queues=["autoregressive"],
            engine="transformers-causal",
            model="m",
            capabilities={"modalities": ["text", "image"]},
        )
    with pytest.raises(ValidationError, match="must include text"):
        PathConfig(
            queues=["diffusion"],
            engine="diffusion-gemma",
            model="m",
            capabilities={"modalities": ["image"]},
        )
    bad = tmp_path / "paths.yaml"
    bad.write_text("paths:\n  diffusion: {capabilities: {modalities: [smell]}}\n")
    with pytest.raises(PolicyError, match=r"capabilities\.modalities"):
        load_path_modalities(bad, environ={})


def _chat(*content, model: str = "ticket_summary", role: str = "user") -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": model, "messages": [{"role": role, "content": list(content)}]}
    )


def test_openai_content_parts_become_attachments_in_order() -> None:
    body = _chat(
        {"type": "text", "text": "Login fails, see"},
        {"type": "image_url", "image_url": {"url": data_url(PNG), "detail": "high"}},
        {"type": "file", "file": {"file_id": "file-abc", "filename": "shot.png"}},
        {"type": "video_url", "video_url": {"url": "file-def"}},
    )
    request = task_request(body, CATALOG, None)
    assert request.input == "Login fails, see"
    assert [(a.type, a.file_id, a.name) for a in request.attachments] == [
        ("image", None, None),
        ("image", "file-abc", "shot.png"),
        ("video", "file-def", None),
    ]
    assert request.input_modality is InputModality.mixed
    refused = part_param(part_params(body), AttachmentRejected("attachments[2]", "corrupt"))
    assert (refused.field, refused.status_code) == ("messages[0].content[3]", 400)


def test_web_urls_and_images_outside_user_turns_are_refused_naming_the_part() -> None:
    web = {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data"}}
    with pytest.raises(RequestRejected, match="does not fetch URLs") as refused:
        task_request(_chat({"type": "text", "text": "hi"}, web), CATALOG, None)
    assert refused.value.field == "messages[0].content[1]"
    image = {"type": "image_url", "image_url": {"url": data_url(PNG)}}
    with pytest.raises(RequestRejected, match="only user messages") as refused:
        task_request(_chat(image, model="chat", role="assistant"), CATALOG, None)
    assert refused.value.field == "messages[0].content[0]"


def test_the_http_engine_sends_images_as_openai_content_parts() -> None:
    engine = OpenAIHttpEngine("m", "m", HttpParams(base_url="http://127.0.0.1:1/v1", api="chat"), 1)
    request = GenerationRequest(
        "Summarise.", "the ticket", 64, images=(ImageInput("image/png", PNG, "attachments[0]"),)
    )
    _, body = engine._body(request)
    parts = body["messages"][-1]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url", "text"]
    assert parts[1]["image_url"]["url"] == data_url(PNG)
    assert parts[2]["text"] == "the ticket" and body["messages"][0]["role"] == "system"
    completions = OpenAIHttpEngine(
        "m", "m", HttpParams(base_url="http://127.0.0.1:1/v1", api="completions"), 1
    )
    with pytest.raises(Exception, match="chat API"):
        completions._body(request)


def test_an_image_may_stand_without_text_but_nothing_may_stand_alone() -> None:
    assert _image_request(input="").input == ""
    with pytest.raises(ValidationError, match="at least 1 character") as refused:
        TaskRequest(task_type="ticket_summary", input="")
    assert refused.value.errors()[0]["loc"] == ("input",)
    image_only = _chat({"type": "image_url", "image_url": {"url": data_url(PNG)}})
    assert task_request(image_only, CATALOG, None).input == ""


def test_a_worker_refuses_a_task_its_model_cannot_see() -> None:
    record = _image_request().record([])
    assert untaken_input(record, TEXT) == (
        "this path's model does not take image input (image task)"
    )
    assert untaken_input(record, SEES) is None
    assert untaken_input(TaskRequest(task_type="chat", input="hi").record(), TEXT) is None


def _stored_image_record() -> dict:
    stored = StoredAttachment(
        type="image",
        file_id="file-abc",
        name="shot.png",
        media_type="image/png",
        bytes=len(PNG),
        sha256="0" * 64,
        width=480,
        height=160,
    )
    return _image_request().record([stored])


def test_a_replay_decides_a_stored_image_request_by_what_its_paths_see() -> None:
    record = _stored_image_record()
    assert TaskRequest.from_record(record).attachments[0].file_id == "file-abc"
    report = replay([("diffusion", record)], POLICY, {})
    assert report["by_task_type"]["ticket_summary"]["would_be_rejected"] == 0
    assert report["would_change_path"] == 0
    blind = load_policy(ROOT / "policies" / "default.yaml", CATALOG, modalities={})
    text = TaskRequest(task_type="ticket_summary", input="x").record()
    refused = replay([("diffusion", record), ("diffusion", text)], blind, {})
    assert refused["by_task_type"]["ticket_summary"]["would_be_rejected"] == 1
    assert refused["by_input_modality"] == {
        "image": {"requests": 1, "would_change_path": 0, "would_be_rejected": 1},
        "text": {"requests": 1, "would_change_path": 0, "would_be_rejected": 0},
    }
    assert "image requests: 1, 0 would change path, 1 would be refused" in format_replay(refused)


def test_a_shadow_copy_keeps_the_attachments_of_its_original() -> None:
    seeing = {PathName.diffusion: SEES, PathName.autoregressive: SEES}
    policy = load_policy(ROOT / "tests" / "policy.yaml", CATALOG, modalities=seeing)
    request = TaskRequest.from_record(_stored_image_record() | {"task_type": "batch_summary"})
    decision = policy.decide(request)
    assert decision.rule == "batch-summary-shadowed"
    row = {"id": uuid.uuid4(), "request": _stored_image_record()}
    principal = Principal(uuid.uuid4(), "o", frozenset({Scope.submit}), None)
    [shadow] = shadow_rows(policy, principal, [(row, request, decision)], draw=lambda: 0.0)
    assert shadow["request"]["attachments"] == row["request"]["attachments"]
    assert shadow["route_path"] == "autoregressive"


def test_the_demo_shows_tickets_with_screenshots() -> None:
    tickets = sample_tickets(12)
    shown = [t for t in tickets if t.get("attachments")]
    assert [t["task_type"] for t in shown] == ["ticket_summary", "document_fields"]
    for ticket in shown:
        request = TaskRequest.model_validate(ticket)
        assert request.input_modality is InputModality.image
        data = request.attachments[0].data or ""
        png = base64.b64decode(data.partition(",")[2])
        assert decode_image(io.BytesIO(png), 10**7).media_type == "image/png"
    assert not any(t.get("attachments") for t in sample_tickets(6))  # the quick demo: text


def test_attachments_are_kept_only_where_their_privacy_tier_admits() -> None:
    database = LargeObjects(None)  # type: ignore[arg-type]  # nothing is stored here
    bucket = S3Store("s3://attachments/genroute", "", "us-east-1")
    aws = FileStores(database, bucket, PrivacyTier.external)
    assert aws.for_tier(PrivacyTier.external) is bucket
    assert aws.for_tier(PrivacyTier.cluster) is database  # kept beside the task's text
    assert aws.for_tier(PrivacyTier.node) is database
    in_cluster = FileStores(database, bucket, PrivacyTier.cluster)
    assert in_cluster.for_tier(PrivacyTier.cluster) is bucket
    assert FileStores(database, None).for_tier(PrivacyTier.external) is database
    # One content kept in two places is two files: neither names the other's bytes.
    assert attachment_file_id("o", "0" * 64, "bucket") != attachment_file_id(
        "o", "0" * 64, "database"
    )
