"""`genroute compare` on a database of hand-made attempts: it counts each path's first attempts
only, prefers shadow pairs (the same input on both paths) where there are any, counts from a
fixed start, and answers the promotion gate's verdict as text and JSON."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from genroute.db.models import Attempt, PairwiseReview, Task
from genroute.db.session import make_engine, make_session_factory
from genroute.local.embedded import child_environment
from genroute.settings import Settings
from tests.helpers import isolated_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _seed(session, path: str, outcomes: list[str], cost: float, fallback_on: str | None) -> None:
    now = datetime.now(UTC)
    for outcome in outcomes:
        task = Task(
            id=uuid.uuid4(), task_type="ticket_summary", request={"input": "x"},
            status="succeeded" if outcome == "succeeded" else "failed", route_path=path,
            route_rule="rule", policy_version="v1", route_reason="seeded",
            max_output_tokens=64, queue=path, attempt_count=1, max_attempts=3, created_at=now,
        )  # fmt: skip
        session.add(task)
        session.flush()
        for number, where in enumerate([path, fallback_on] if fallback_on else [path], start=1):
            session.add(
                Attempt(
                    task_id=task.id,
                    attempt_no=number,
                    path=where,
                    queue=where,
                    outcome=outcome if number == 1 else "succeeded",
                    cost=cost,
                    started_at=now - timedelta(seconds=2),
                    finished_at=now,
                )
            )


@pytest.fixture
def seeded_settings(settings: Settings) -> Iterator[Settings]:
    with isolated_database(settings) as own:
        engine = make_engine(own.database_url)
        with make_session_factory(engine).begin() as session:
            # 40 diffusion first attempts, 30 accepted; each failure fell back to an accepted
            # autoregressive attempt, which must not count for autoregressive.
            _seed(session, "diffusion", ["succeeded"] * 30 + ["invalid"] * 10, 0.001, None)
            _seed(session, "diffusion", ["invalid"] * 5, 0.001, "autoregressive")
            _seed(session, "autoregressive", ["succeeded"] * 36 + ["invalid"] * 4, 0.004, None)
        engine.dispose()
        yield own


def _compare(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    command = ["compare", "--task-type", "ticket_summary", "--paths", "diffusion,autoregressive"]
    return subprocess.run(
        [sys.executable, "-m", "genroute", *command, *args],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compare_answers_from_first_attempts(seeded_settings: Settings) -> None:
    answer = _compare(seeded_settings, "--json")
    assert answer.returncode == 0, answer.stderr
    verdict = json.loads(answer.stdout)
    assert verdict["candidate"]["outcomes"] == 45 and verdict["candidate"]["accepted"] == 30
    assert verdict["incumbent"]["outcomes"] == 40 and verdict["incumbent"]["accepted"] == 36
    assert verdict["decision"] == "not enough evidence" and verdict["more_outcomes_needed"] > 0
    assert verdict["lower"] < -0.05 < verdict["upper"]
    assert verdict["evidence"] == "first attempts" and verdict["cost_tested"]
    text = _compare(seeded_settings, "--margin", "0.1")
    assert text.returncode == 0, text.stderr
    assert "diffusion: 45 outcomes, 66.7% accepted" in text.stdout
    assert "not enough evidence (about" in text.stdout
    wrong = _compare(seeded_settings, "--paths", "diffusion")
    assert wrong.returncode != 0 and "--paths" in wrong.stderr
    later = json.loads(_compare(seeded_settings, "--json", "--start", "2999-01-01").stdout)
    assert later["candidate"]["outcomes"] == 0 and later["start"].startswith("2999-01-01")


def test_compare_prefers_shadow_pairs(seeded_settings: Settings) -> None:
    """Twelve production summaries on the autoregressive path, each shadowed on diffusion:
    the verdict counts the twelve pairs, not the unpaired first attempts."""
    engine = make_engine(seeded_settings.database_url)
    now = datetime.now(UTC)
    with make_session_factory(engine).begin() as session:
        for number in range(12):
            pair = []
            for path, shadow_of in (("autoregressive", None), ("diffusion", "original")):
                task = Task(
                    id=uuid.uuid4(), task_type="ticket_summary", request={"input": f"t{number}"},
                    status="succeeded", route_path=path, route_rule="rule", policy_version="v1",
                    route_reason="seeded", max_output_tokens=64, queue=path, attempt_count=1,
                    max_attempts=3, created_at=now,
                    purpose="shadow" if shadow_of else "production",
                    shadow_of=pair[0].id if shadow_of else None,
                )  # fmt: skip
                session.add(task)
                session.flush()
                accepted = path == "autoregressive" or number % 3 != 0
                session.add(
                    Attempt(task_id=task.id, attempt_no=1, path=path, queue=path,
                            outcome="succeeded" if accepted else "invalid", cost=0.001,
                            started_at=now, finished_at=now)
                )  # fmt: skip
                pair.append(task)
    engine.dispose()
    verdict = json.loads(_compare(seeded_settings, "--json").stdout)
    assert verdict["evidence"] == "shadow pairs"
    assert verdict["candidate"]["outcomes"] == verdict["incumbent"]["outcomes"] == 12
    assert (verdict["candidate"]["accepted"], verdict["incumbent"]["accepted"]) == (8, 12)
    assert "evidence: shadow pairs" in _compare(seeded_settings).stdout


def test_capacity_plans_from_the_measured_attempts(seeded_settings: Settings) -> None:
    """Every seeded attempt took 2 s; summaries route to diffusion (batch width 4), and the
    quarter it refused come back on the autoregressive path."""
    command = ["capacity", "--rate", "4/s", "--mix", "ticket_summary=1", "--p95-budget", "30s"]
    answer = subprocess.run(
        [sys.executable, "-m", "genroute", *command, "--json"],
        env=child_environment(seeded_settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    plan = {entry["load"]["path"]: entry for entry in json.loads(answer.stdout)["paths"]}
    diffusion = plan["diffusion"]
    assert diffusion["load"]["arrivals_per_s"] == 4.0
    assert diffusion["load"]["service"]["mean_s"] == pytest.approx(2.0, abs=0.01)
    assert diffusion["sizing"]["workers"] * 4 > 4.0 * 2.0  # more servers than the work
    assert diffusion["sizing"]["p95_response_s"] <= 30
    refused = 1 - 30 / 45  # first attempts on diffusion: 30 of 45 accepted
    assert plan["autoregressive"]["load"]["arrivals_per_s"] == pytest.approx(4.0 * refused)
    bad = subprocess.run(
        [sys.executable, "-m", "genroute", "capacity", "--rate", "fast", "--mix", "a=1",
         "--p95-budget", "30s"],
        env=child_environment(seeded_settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode != 0 and "--rate" in bad.stderr
    text = subprocess.run(
        [sys.executable, "-m", "genroute", *command],
        env=child_environment(seeded_settings), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "diffusion: 4/s (ticket_summary)" in text.stdout and " workers (" in text.stdout


def test_capacity_emits_keda_targets_that_apply_to_the_gpu_overlay(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    """`--emit-keda` prints the capacity model's numbers as patches; kustomize applies them."""
    command = ["capacity", "--rate", "4/s", "--mix", "ticket_summary=1", "--p95-budget", "30s"]
    env = child_environment(seeded_settings)
    run = [sys.executable, "-m", "genroute", *command]
    plan = json.loads(
        subprocess.run([*run, "--json"], env=env, capture_output=True, timeout=120).stdout
    )
    emitted = subprocess.run(
        [*run, "--emit-keda"], env=env, capture_output=True, text=True, timeout=120
    )
    assert emitted.returncode == 0, emitted.stderr
    diffusion = next(p for p in plan["paths"] if p["load"]["path"] == "diffusion")
    load, sizing = diffusion["load"], diffusion["sizing"]
    within_budget = (
        (30 - load["service"]["p95_s"]) * load["batch_width"] / load["service"]["mean_s"]
    )
    waiting = min(load["batch_width"], int(within_budget))  # at most one batch waiting
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(ROOT / 'deploy/kubernetes/overlays/gpu', tmp_path)}]\n"
        f"patches:\n{emitted.stdout}"
    )
    kubectl = shutil.which("kubectl")
    if kubectl is None and not os.environ.get("CI"):
        pytest.skip("kubectl (with Kustomize) is not installed")
    rendered = subprocess.run(
        [kubectl or "kubectl", "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    scaled = {
        o["metadata"]["name"]: o["spec"]
        for o in yaml.safe_load_all(rendered.stdout)
        if o and o["kind"] == "ScaledObject"
    }["genroute-worker-diffusion"]
    assert scaled["maxReplicaCount"] == sizing["workers"]
    assert scaled["triggers"][0]["metadata"]["threshold"] == str(load["batch_width"] + waiting)


def _judged_pairs(session, count: int, preferred: list[str | None]) -> None:
    """`count` shadow pairs of summaries (diffusion answering, the autoregressive shadow too),
    each judged once, preferring `preferred[i % len]` (None: a tie)."""
    now = datetime.now(UTC)
    for number in range(count):
        original, shadow = uuid.uuid4(), uuid.uuid4()
        for task_id, path, shadow_of in (
            (original, "diffusion", None),
            (shadow, "autoregressive", original),
        ):
            session.add(
                Task(
                    id=task_id, task_type="ticket_summary", request={"input": f"p{number}"},
                    status="succeeded", route_path=path, route_rule="rule", policy_version="v1",
                    route_reason="seeded", max_output_tokens=64, queue=path, attempt_count=1,
                    max_attempts=1, created_at=now, shadow_of=shadow_of,
                    purpose="shadow" if shadow_of else "production",
                )
            )  # fmt: skip
            session.flush()
        session.add(
            PairwiseReview(
                task_id=original, shadow_task_id=shadow, task_path="diffusion",
                shadow_path="autoregressive", shown_first="diffusion",
                preferred_path=preferred[number % len(preferred)],
            )
        )  # fmt: skip


def test_compare_gates_on_human_preference(settings: Settings) -> None:
    """120 judged pairs, diffusion preferred in 80, tied in 20: reviewers do not prefer it
    less, so the gate promotes it on this metric; pairs counted from a later start settle
    nothing."""
    with isolated_database(settings) as own:
        engine = make_engine(own.database_url)
        with make_session_factory(engine).begin() as session:
            _judged_pairs(session, 120, ["diffusion"] * 4 + [None] + ["autoregressive"])
        engine.dispose()
        verdict = json.loads(_compare(own, "--metric", "human", "--json").stdout)
        assert verdict["metric"] == "human" and verdict["evidence"] == "shadow pairs"
        assert verdict["candidate"]["outcomes"] == 120
        assert verdict["candidate"]["accepted"] == 100  # its 80 wins and the 20 ties
        assert verdict["incumbent"]["accepted"] == 40
        assert verdict["decision"] == "promote", verdict
        text = _compare(own, "--metric", "human").stdout
        assert "evidence: blind pairwise reviews" in text and "preferred or tied" in text
        early = json.loads(
            _compare(own, "--metric", "human", "--json", "--start", "2999-01-01").stdout
        )
        assert early["decision"] == "not enough evidence"
