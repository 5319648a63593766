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
