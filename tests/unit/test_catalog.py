from pathlib import Path

import pytest

from genroute.errors import PolicyError
from genroute.policies import load_catalog

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "ticket_summary",
    "batch_summary",
    "synthetic_examples",
    "short_transform",
    "extraction",
    "classification",
    "reasoning_answer",
}


def test_shipped_catalog_has_every_required_type() -> None:
    catalog = load_catalog(ROOT / "policies" / "task_types.yaml")
    assert set(catalog.task_types) >= REQUIRED
    assert catalog.get("extraction").output_format == "json"
    assert catalog.get("extraction").json_schema["type"] == "object"


def test_prompt_renders_input_verbatim() -> None:
    catalog = load_catalog(ROOT / "policies" / "task_types.yaml")
    prompt = catalog.get("ticket_summary").render_prompt("Order #A-1 {not a field}")
    assert "Order #A-1 {not a field}" in prompt


ENTRY = (
    "task_types:\n  summary:\n    description: d\n    system_prompt: s\n"
    "    prompt_template: '{template}'\n    default_max_output_tokens: {default}\n"
    "    max_output_tokens: 64\n"
)


@pytest.mark.parametrize(
    ("template", "default", "words"),
    [
        ("Summarise {input} for {audience}", 32, "exactly the placeholder {input}"),
        ("Summarise this", 32, "exactly the placeholder {input}"),
        ("Summarise {input}", 128, "default_max_output_tokens exceeds max_output_tokens"),
    ],
)
def test_broken_catalog_names_task_type_and_field(
    tmp_path: Path, template: str, default: int, words: str
) -> None:
    path = tmp_path / "types.yaml"
    path.write_text(ENTRY.format(template=template, default=default))
    with pytest.raises(PolicyError) as caught:
        load_catalog(path)
    assert str(path) in str(caught.value)
    assert "task type 'summary'" in str(caught.value)
    assert words in str(caught.value)
