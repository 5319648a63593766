from pathlib import Path

import pytest

from genroute.contract import PathName, PrivacyTier, TaskRequest
from genroute.errors import PathUnavailable, PolicyError, RequestRejected, UnknownTaskType
from genroute.policies import load_catalog, load_policy

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "policies" / "task_types.yaml")
POLICY = load_policy(ROOT / "policies" / "default.yaml", CATALOG)


def decide(**fields):
    return POLICY.decide(TaskRequest.model_validate({"input": "text", **fields}))


@pytest.mark.parametrize(
    ("fields", "path", "rule"),
    [
        ({"task_type": "ticket_summary"}, "diffusion", "bounded-batch-diffusion"),
        ({"task_type": "batch_summary"}, "diffusion", "bounded-batch-diffusion"),
        ({"task_type": "synthetic_examples"}, "diffusion", "bounded-batch-diffusion"),
        ({"task_type": "classification"}, "diffusion", "bounded-batch-diffusion"),
        ({"task_type": "extraction"}, "autoregressive", "structured-autoregressive"),
        ({"task_type": "reasoning_answer"}, "autoregressive", "reasoning-task-autoregressive"),
        (
            {"task_type": "ticket_summary", "requires_tool_calls": True},
            "autoregressive",
            "tool-calls-autoregressive",
        ),
        (
            {"task_type": "batch_summary", "requires_deep_reasoning": True},
            "autoregressive",
            "deep-reasoning-autoregressive",
        ),
    ],
)
def test_default_policy_split(fields: dict, path: str, rule: str) -> None:
    decision = decide(**fields)
    assert (decision.path.value, decision.rule) == (path, rule)
    assert decision.policy_version == POLICY.version
    assert decision.reason


def test_output_bound_uses_task_default_and_request_value() -> None:
    assert decide(task_type="ticket_summary").max_output_tokens == 96
    assert decide(task_type="ticket_summary", max_output_tokens=40).max_output_tokens == 40


def test_long_outputs_leave_diffusion() -> None:
    decision = decide(task_type="batch_summary", max_output_tokens=512)
    assert decision.path.value == "diffusion"
    decision = decide(task_type="synthetic_examples", max_output_tokens=512)
    assert decision.path.value == "diffusion"


def test_fallback_none_means_no_fallback_path() -> None:
    assert decide(task_type="ticket_summary").fallback_path.value == "autoregressive"
    assert decide(task_type="ticket_summary", fallback="none").fallback_path is None


def test_unknown_task_type_is_rejected_with_known_types() -> None:
    with pytest.raises(UnknownTaskType) as caught:
        decide(task_type="poetry")
    assert caught.value.field == "task_type"
    assert "ticket_summary" in caught.value.message


def test_output_bound_above_type_limit_is_rejected() -> None:
    with pytest.raises(RequestRejected) as caught:
        decide(task_type="classification", max_output_tokens=100)
    assert caught.value.field == "max_output_tokens"


def test_version_changes_with_content(tmp_path: Path) -> None:
    text = (ROOT / "policies" / "default.yaml").read_text()
    changed = tmp_path / "p.yaml"
    changed.write_text(text.replace("max_output_tokens_above: 512", "max_output_tokens_above: 400"))
    other = load_policy(changed, CATALOG)
    assert other.version.split("+")[0] == POLICY.version.split("+")[0]
    assert other.version != POLICY.version


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [", ["not valid YAML"]),
        ("- a\n- b\n", ["expected a mapping"]),
        ("default: {path: autoregressive}\n", ["field 'version'", "Field required"]),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r}\n"
            "  - {name: b, path: gpu, reason: r}\n",
            ["rule #2 'b'", "field 'rules.1.path'"],
        ),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r, when: {user_facng: true}}\n",
            ["rule #1 'a'", "field 'rules.0.when.user_facng'", "Extra inputs"],
        ),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r, when: {task_types: [poems]}}\n",
            ["rule #1 'a'", "field 'when.task_types'", "unknown task types ['poems']"],
        ),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r}\n"
            "  - {name: a, path: diffusion, reason: r}\n",
            ["rule names must be unique"],
        ),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r,"
            " shadow: {path: diffusion, share: 0.5}}\n",
            ["rule #1 'a'", "shadow.path must differ"],
        ),
        (
            "version: v\ndefault: {path: autoregressive}\n"
            "rules:\n  - {name: a, path: diffusion, reason: r,"
            " shadow: {path: autoregressive, share: 1.5}}\n",
            ["rule #1 'a'", "field 'rules.0.shadow.share'"],
        ),
    ],
)
def test_broken_policy_files_name_file_rule_and_field(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path, CATALOG)
    message = str(caught.value)
    assert message.startswith(str(path))
    for words in expected:
        assert words in message


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml", CATALOG)


# Privacy tiers: diffusion's engine keeps data on the node, the autoregressive one sends it to
# the cluster (a served model on another host).
PRIVATE = load_policy(
    ROOT / "policies" / "default.yaml",
    CATALOG,
    {PathName.diffusion: PrivacyTier.node, PathName.autoregressive: PrivacyTier.cluster},
)


def test_node_tier_never_reaches_a_cluster_path_fallback_included() -> None:
    decision = PRIVATE.decide(
        TaskRequest(task_type="ticket_summary", input="x", privacy_tier="node")
    )
    assert (decision.path, decision.fallback_path) == (PathName.diffusion, None)


def test_a_forbidden_rule_is_passed_over_and_no_allowed_path_is_rejected() -> None:
    with pytest.raises(RequestRejected) as caught:
        PRIVATE.decide(TaskRequest(task_type="extraction", input="x", privacy_tier="node"))
    assert caught.value.field == "privacy_tier"
    assert "autoregressive sends data to cluster" in caught.value.message
    allowed = PRIVATE.decide(TaskRequest(task_type="extraction", input="x"))
    assert allowed.path is PathName.autoregressive


def test_rolled_back_path_with_no_allowed_alternative_is_unavailable() -> None:
    request = TaskRequest(task_type="ticket_summary", input="x", privacy_tier="node")
    decision = PRIVATE.decide(request)
    with pytest.raises(PathUnavailable) as caught:
        PRIVATE.with_path_state(decision, "rolled_back", False, request)
    assert caught.value.status_code == 503 and "retry later" in caught.value.message


def test_shadow_copies_sample_their_share_and_respect_privacy() -> None:
    request = TaskRequest(task_type="ticket_summary", input="x")
    decision = POLICY.decide(request)  # bounded-batch-diffusion shadows 5% on autoregressive
    assert POLICY.shadow_path(request, decision, draw=0.01) is PathName.autoregressive
    assert POLICY.shadow_path(request, decision, draw=0.05) is None
    rolled_back = decision.model_copy(update={"path": PathName.autoregressive})
    assert POLICY.shadow_path(request, rolled_back, draw=0.0) is None  # already goes there
    private = TaskRequest(task_type="ticket_summary", input="x", privacy_tier="node")
    assert PRIVATE.shadow_path(private, PRIVATE.decide(private), draw=0.0) is None
    extraction = TaskRequest(task_type="extraction", input="x")
    assert POLICY.shadow_path(extraction, POLICY.decide(extraction), draw=0.0) is None
