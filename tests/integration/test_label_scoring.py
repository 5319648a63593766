"""Label scoring on the real development model (SmolLM2): scores from one prompt pass equal the
scores of each label's whole sequence, and calibration keeps the label prior from deciding:
over the project's labelled tickets no label takes most of the answers (uncalibrated, one
label took 52 of 60)."""

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from genroute.interfaces import GenerationRequest
from genroute.policies import load_catalog
from genroute.settings import Settings
from genroute.workers.claiming import calibration_prompts
from genroute.workers.engines.chat_prompts import chat_text
from genroute.workers.engines.models import SMOLLM2, resolve_model
from genroute.workers.engines.transformers_causal import CausalParams, TransformersCausalEngine

pytestmark = pytest.mark.integration
TICKETS = Path(__file__).resolve().parents[2] / "bench" / "data" / "labelled_tickets.jsonl"


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[TransformersCausalEngine]:
    source = resolve_model(SMOLLM2, settings.model_cache_dir)
    yield TransformersCausalEngine(SMOLLM2, source, CausalParams(), 1)


def _request(settings: Settings, ticket: str) -> GenerationRequest:
    task_type = load_catalog(settings.task_types_file).get("classification")
    return GenerationRequest(
        task_type.system_prompt,
        task_type.render_prompt(ticket),
        4,
        choices=tuple(task_type.validation.allowed_values),
        calibration_prompts=calibration_prompts(task_type),
    )


def test_one_prompt_pass_scores_as_each_whole_sequence_would(
    engine: TransformersCausalEngine, settings: Settings
) -> None:
    import torch

    request = _request(settings, json.loads(TICKETS.read_text().splitlines()[0])["input"])
    tokenizer, model, scorer = engine._tokenizer, engine._model, engine._labels
    prompt = tokenizer(chat_text(tokenizer, request))["input_ids"]
    endings = scorer.endings(request.choices)
    whole = []
    for ending in endings:
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([prompt + ending])).logits[0]
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        whole.append(sum(log_probs[len(prompt) - 1 + i, t].item() for i, t in enumerate(ending)))
    assert scorer.scores(prompt, endings) == pytest.approx(whole, abs=1e-3)


def test_calibrated_labels_are_not_the_models_prior(
    engine: TransformersCausalEngine, settings: Settings
) -> None:
    tickets = [json.loads(line) for line in TICKETS.read_text().splitlines()]
    answers = engine.generate([_request(settings, t["input"]) for t in tickets])
    assert all(a.facts["label_calibration"] for a in answers)
    [(_label, most)] = Counter(a.text for a in answers).most_common(1)
    assert most <= len(tickets) / 2, Counter(a.text for a in answers)
