import pytest
from pydantic import ValidationError

from genroute.contract import MAX_METADATA_BYTES, PrivacyTier, TaskRequest, TaskStatus


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in error["loc"]) for error in exc.errors()}


def test_minimal_request_has_safe_defaults() -> None:
    request = TaskRequest(task_type="ticket_summary", input="  hello  ")
    assert request.input == "hello"
    assert request.fallback == "auto"
    assert request.privacy_tier == "cluster"
    assert not request.requires_tool_calls


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": 10_000}, "max_output_tokens"),
        ({"priority": 10}, "priority"),
        ({"fallback": "sometimes"}, "fallback"),
        ({"input_modality": "video"}, "input_modality"),
        ({"metadata": {"note": "x" * (MAX_METADATA_BYTES + 1)}}, "metadata"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata.nested"),
        ({"json_schema": {"enum": ["x" * 100] * 200}}, "json_schema"),
        ({"task_type": "Ticket Summary"}, "task_type"),
    ],
)
def test_invalid_fields_are_named(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TaskRequest.model_validate({"task_type": "ticket_summary", "input": "x", **overrides})
    assert any(name.startswith(field) for name in _fields(caught.value))


def test_terminal_statuses() -> None:
    assert {s for s in TaskStatus if s.is_terminal} == {
        TaskStatus.succeeded,
        TaskStatus.failed,
        TaskStatus.cancelled,
        TaskStatus.expired,
    }


def test_privacy_tiers_are_ordered() -> None:
    node, cluster, external = PrivacyTier.node, PrivacyTier.cluster, PrivacyTier.external
    assert external.admits(node) and external.admits(cluster) and external.admits(external)
    assert cluster.admits(node) and cluster.admits(cluster) and not cluster.admits(external)
    assert node.admits(node) and not node.admits(cluster)
