"""Broken configuration stops a process at start-up with a message naming the problem."""

import subprocess
import sys
from pathlib import Path

import pytest

from genroute.local.embedded import child_environment
from genroute.runtime.queueing import with_broker_database
from genroute.settings import Settings

pytestmark = pytest.mark.integration

BROKEN_POLICY = """\
version: "x"
default: {path: autoregressive}
rules:
  - name: fine
    when: {task_types: [ticket_summary]}
    path: diffusion
    reason: ok
  - name: typo-rule
    when: {max_tokens_at_most: 10}
    path: diffusion
    reason: the condition name is misspelt
"""


def _run_genroute(
    settings: Settings, args: list[str], **updates: object
) -> subprocess.CompletedProcess:
    """Run a genroute command with changed settings, on a Redis database no stack serves."""
    updates["broker_url"] = with_broker_database(settings.broker_url, 12)
    return subprocess.run(
        [sys.executable, "-m", "genroute", *args],
        env=child_environment(settings.model_copy(update=updates)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_api_refuses_to_start_with_a_broken_policy(settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text(BROKEN_POLICY)
    result = _run_genroute(settings, ["api", "--port", "1"], policy_file=policy)
    assert result.returncode == 2
    assert str(policy) in result.stderr
    assert "rule #2 'typo-rule'" in result.stderr
    assert "when.max_tokens_at_most" in result.stderr


def test_worker_exits_non_zero_when_its_model_cannot_load(
    settings: Settings, tmp_path: Path
) -> None:
    paths = tmp_path / "paths.yaml"
    paths.write_text(
        "paths:\n  diffusion: {queues: [diffusion], engine: transformers-causal, "
        f"model: {tmp_path / 'no-such-model'}}}\n"
    )
    result = _run_genroute(settings, ["worker", "--path", "diffusion"], paths_file=paths)
    assert result.returncode == 2
    assert "could not load engine 'transformers-causal'" in result.stderr
    assert "no-such-model" in result.stderr


def test_worker_refuses_an_unknown_engine(settings: Settings, tmp_path: Path) -> None:
    paths = tmp_path / "paths.yaml"
    paths.write_text("paths:\n  diffusion: {queues: [diffusion], engine: magic, model: m}\n")
    result = _run_genroute(settings, ["worker", "--path", "diffusion"], paths_file=paths)
    assert result.returncode == 2
    assert str(paths) in result.stderr and "unknown engine 'magic'" in result.stderr
