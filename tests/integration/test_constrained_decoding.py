"""Grammar-constrained decoding in the in-process causal engine: the development model answers
JSON that meets a schema with nested objects, enums and arrays, while a free row of the same
batch is left alone; a path without the capability decodes freely. Real SmolLM2, no worker."""

import json
from collections.abc import Iterator

import pytest

from genroute.interfaces import GenerationRequest
from genroute.runtime.schemas import SafeValidator
from genroute.settings import Settings
from genroute.workers.engines.models import SMOLLM2, resolve_model
from genroute.workers.engines.transformers_causal import CausalParams, TransformersCausalEngine

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "object",
    "properties": {
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 40},
                "tier": {"enum": ["free", "pro", "enterprise"]},
            },
            "required": ["name", "tier"],
            "additionalProperties": False,
        },
        "order_id": {"type": ["string", "null"], "maxLength": 16},
        "action": {"enum": ["refund", "replace", "none"]},
        "items": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "maxLength": 12},
                    "qty": {"type": "integer"},
                },
                "required": ["sku", "qty"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["customer", "order_id", "action", "items"],
    "additionalProperties": False,
}
TICKET = (
    "Hi, I'm Maria Lopez (pro plan). Order #A-10293 had 2 of SKU-4411 and they arrived broken."
    " Please refund me."
)


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[TransformersCausalEngine]:
    source = resolve_model(SMOLLM2, settings.model_cache_dir)
    yield TransformersCausalEngine(SMOLLM2, source, CausalParams(structured_output=True), 1)


def _request(**fields: object) -> GenerationRequest:
    prompt = f"Extract the ticket as JSON.\n\nTicket:\n{TICKET}"
    return GenerationRequest("You reply with one JSON object.", prompt, **fields)


def test_a_schema_bound_row_answers_schema_valid_json(engine: TransformersCausalEngine) -> None:
    bound, free = engine.generate(
        [_request(max_output_tokens=200, json_schema=SCHEMA), _request(max_output_tokens=8)]
    )
    value = json.loads(bound.text)
    assert list(SafeValidator(SCHEMA).iter_errors(value)) == []
    assert bound.facts["constrained_decoding"] is True and bound.facts["finish_reason"] == "stop"
    assert free.facts["constrained_decoding"] is False


def test_a_path_without_the_capability_decodes_freely(settings: Settings) -> None:
    source = resolve_model(SMOLLM2, settings.model_cache_dir)
    engine = TransformersCausalEngine(SMOLLM2, source, CausalParams(), 1)
    [generation] = engine.generate([_request(max_output_tokens=8, json_schema=SCHEMA)])
    assert generation.facts["constrained_decoding"] is False
