"""The LLM judge in real workers: a task type whose only check beyond the format is the judge
runs first on the diffusion path (whose worker loads the autoregressive model to judge with)
and, if refused, falls back to the autoregressive path (which judges with its own engine).
Every judged attempt keeps the judge's answer and verdict, and its GPU time is inside the
attempt's cost and the scorecard's."""

from pathlib import Path

import pytest
import yaml

from genroute.local.stack import running_stack
from genroute.settings import Settings
from tests.helpers import isolated_settings, wait_for_task

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _catalog_and_policy(folder: Path) -> tuple[Path, Path]:
    catalog = yaml.safe_load((ROOT / "policies" / "task_types.yaml").read_text())
    catalog["task_types"]["judged_note"] = {
        "description": "A one-line note about a ticket, checked by the LLM judge.",
        "system_prompt": "You write one short factual note about a support ticket.",
        "prompt_template": "Write one short note about this ticket.\n\nTicket:\n{input}",
        "default_max_output_tokens": 24,
        "max_output_tokens": 64,
        "validation": {"max_chars": 600, "accept_truncated": True,
                       "judge": {"max_output_tokens": 16}},
    }  # fmt: skip
    policy = yaml.safe_load((ROOT / "tests" / "policy.yaml").read_text())
    rule = {"name": "judged-diffusion", "when": {"task_types": ["judged_note"]},
            "path": "diffusion", "fallback": "autoregressive", "reason": "judge test"}  # fmt: skip
    policy["rules"].insert(0, rule)
    (folder / "task_types.yaml").write_text(yaml.safe_dump(catalog))
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy))
    return folder / "task_types.yaml", folder / "policy.yaml"


def test_judged_attempts_keep_the_verdict_and_pay_for_it(
    settings: Settings, tmp_path: Path
) -> None:
    task_types, policy = _catalog_and_policy(tmp_path)
    with (
        isolated_settings(
            settings, redis_db=12, task_types_file=task_types, policy_file=policy
        ) as own,
        running_stack(own, ["diffusion", "autoregressive"], tmp_path / "logs") as stack,
        stack.http() as api,
    ):
        ticket = "Order #A-10293 from Maria Lopez arrived with a cracked screen on 2026-11-02."
        answer = api.post("/v1/tasks", json={"task_type": "judged_note", "input": ticket})
        assert answer.status_code == 202, answer.text
        view = wait_for_task(api, answer.json()["id"], timeout_s=300)
        card = api.get("/v1/scorecard", params={"by": "task_type"}).json()
    assert view.status.is_terminal and view.attempts[0].path == "diffusion"
    judged = [a for a in view.attempts if any(v.validator == "judge" for v in a.validations)]
    assert judged, [a.validations for a in view.attempts]
    for attempt in judged:
        verdict = next(v for v in attempt.validations if v.validator == "judge")
        assert verdict.details["path"] == "autoregressive" and verdict.details["answer"]
        assert verdict.details["verdict"] in ("yes", "no", "judge_unparseable")
        assert verdict.passed == (verdict.details["verdict"] == "yes")
        judge_cost = attempt.engine_facts["judge_cost"]
        assert judge_cost > 0 and attempt.cost is not None and attempt.cost >= judge_cost
        assert attempt.engine_facts["judge_gpu_seconds"] > 0
    # The scorecard's cost (and so its cost per accepted output) has the judge's GPU time in it.
    row = next(r for r in card["rows"] if r["task_type"] == "judged_note")
    judge_costs = sum(a.engine_facts.get("judge_cost", 0) for a in view.attempts)
    assert row["cost"] >= judge_costs > 0
    if view.status.value == "succeeded":
        assert view.attempts[-1] in judged  # accepted only once the judge said yes
