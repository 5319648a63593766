"""Broken configuration stops a process at start-up with a message naming the problem."""

import subprocess
import sys
from pathlib import Path

import pytest

from genroute.embedded import child_environment
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


def test_api_refuses_to_start_with_a_broken_policy(settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "broken.yaml"
    policy.write_text(BROKEN_POLICY)
    env = child_environment(settings.model_copy(update={"policy_file": policy}))
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "api", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
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
    env = child_environment(settings.model_copy(update={"paths_file": paths}))
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "worker", "--path", "diffusion"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "could not load engine 'transformers-causal'" in result.stderr
    assert "no-such-model" in result.stderr


def test_worker_refuses_an_unknown_engine(settings: Settings, tmp_path: Path) -> None:
    paths = tmp_path / "paths.yaml"
    paths.write_text("paths:\n  diffusion: {queues: [diffusion], engine: magic, model: m}\n")
    env = child_environment(settings.model_copy(update={"paths_file": paths}))
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "worker", "--path", "diffusion"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert str(paths) in result.stderr and "unknown engine 'magic'" in result.stderr
