"""`task_type: auto` and `model: auto`: the task classifier (all-MiniLM-L6-v2 and character
n-grams over the catalog's descriptions and examples) resolves the type at submit, the task
keeps what it resolved to, and a request it is unsure of goes to the default type."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from genroute.analysis.task_classifier import TaskClassifier
from genroute.local.stack import Stack, running_stack
from genroute.policies import load_catalog
from genroute.settings import Settings
from tests.helpers import isolated_settings, wait_until

pytestmark = pytest.mark.integration
CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "policies" / "task_types.yaml")
EXTRACT = "Extract the customer name, email and order id as JSON: Ana (ana@example.com), order A-1."


def test_the_classifier_picks_by_wording_and_falls_back_below_its_threshold() -> None:
    confident = TaskClassifier(CATALOG, 0.5, "chat")
    found = confident.classify(EXTRACT)
    assert (found.task_type, found.used_default) == ("extraction", False)
    assert abs(sum(found.scores.values()) - 1) < 1e-6 and found.confidence >= 0.5
    spanish = confident.classify("Clasifica este mensaje en una categoría: no puedo entrar.")
    assert spanish.task_type == "classification", spanish
    unsure = TaskClassifier(CATALOG, 1.0, "chat").classify(EXTRACT)  # nothing is that sure
    assert (unsure.task_type, unsure.used_default) == ("chat", True)
    assert max(unsure.scores, key=unsure.scores.__getitem__) == "extraction"


def test_auto_is_resolved_at_submit_and_kept_on_the_task(
    client: httpx.Client, settings: Settings
) -> None:
    key = f"auto-{uuid.uuid4()}"
    request = {
        "task_type": "auto",
        "input": EXTRACT,
        "max_output_tokens": 16,
        "idempotency_key": key,
    }
    accepted = client.post("/v1/tasks", json=request)
    assert accepted.status_code == 202, accepted.text
    task = client.get(f"/v1/tasks/{accepted.json()['id']}").json()
    assert task["task_type"] == "extraction"
    record = task["classification"]
    assert record["task_type"] == "extraction" and not record["used_default"]
    assert set(record["scores"]) == set(load_catalog(settings.task_types_file).task_types)
    assert accepted.json()["route"]["rule"] == "structured-autoregressive"  # routed as its type
    again = client.post("/v1/tasks", json=request)  # an idempotent replay resolves the same
    assert again.status_code == 200 and again.json()["id"] == accepted.json()["id"]
    named = client.post(
        "/v1/tasks", json={**request, "task_type": "extraction", "idempotency_key": None}
    )
    assert client.get(f"/v1/tasks/{named.json()['id']}").json()["classification"] is None


@pytest.fixture
def sdk(stack: Stack) -> Iterator[openai.OpenAI]:
    base_url = f"{stack.api_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key=stack.api_key, max_retries=0) as client:
        yield client


@pytest.mark.timeout(300)
def test_model_auto_answers_as_the_type_it_resolved_to(sdk: openai.OpenAI) -> None:
    assert "auto" in {model.id for model in sdk.models.list()}
    answer = sdk.chat.completions.create(
        model="auto",
        messages=[
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hello! How are you today?"},
        ],
        max_tokens=8,
    )
    record = answer.model_extra["genroute"]
    assert answer.model == record["task_type"] == record["classification"]["task_type"] == "chat"


def test_an_auto_request_that_cannot_resolve_refuses_itself_not_its_batch(
    settings: Settings, tmp_path: Path
) -> None:
    """An API whose classifier cannot be built (its default type is not in the catalog): each
    `auto` item of a batch is refused naming `task_type`, the others are accepted, and a Batch
    API file's `model: auto` line ends as an error line while the other lines are submitted
    (it made every step of the batch fail, until the batch expired)."""
    with (
        isolated_settings(settings, redis_db=2, classify_default_task_type="no_such_type") as own,
        running_stack(own, [], tmp_path / "logs") as stack,
        stack.http() as client,
    ):
        items = [{"task_type": "auto", "input": EXTRACT}, {"task_type": "chat", "input": "Hi"}]
        answer = client.post("/v1/tasks/batch", json={"items": items})
        assert answer.status_code == 200, answer.text
        first, second = answer.json()["items"]
        assert first["outcome"] == "rejected" and "no_such_type" in str(first), first
        assert second["outcome"] == "accepted"

        sdk = openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=stack.api_key)
        lines = [
            {"custom_id": name, "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": model, "messages": [{"role": "user", "content": EXTRACT}]}}
            for name, model in (("a", "auto"), ("b", "chat"), ("c", "chat"))
        ]  # fmt: skip
        content = "\n".join(json.dumps(line) for line in lines).encode()
        upload = sdk.files.create(file=("in.jsonl", content), purpose="batch")
        batch = sdk.batches.create(
            input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
        )

        def submitted() -> openai.types.Batch | None:
            seen = sdk.batches.retrieve(batch.id)
            return seen if (seen.model_extra or {})["genroute"]["lines_done"] == 3 else None

        seen = wait_until(submitted, 30, "every line of the batch submitted")
        assert seen.request_counts.failed == 1 and seen.request_counts.total == 3
