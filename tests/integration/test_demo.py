"""`genroute demo --json` against the test servers: every ticket terminal, real text."""

import json
import subprocess
import sys

import pytest

from genroute.embedded import child_environment
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration


def test_demo_json_line(settings: Settings) -> None:
    # Servers of its own: the demo's workers must not serve the shared stack's queues.
    with isolated_settings(settings, redis_db=13) as own:
        result = subprocess.run(
            [sys.executable, "-m", "genroute", "demo", "--count", "4", "--json"],
            env=child_environment(own),
            capture_output=True,
            text=True,
            timeout=280,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["submitted"] == summary["terminal"] == 4
    assert summary["succeeded"] + summary["failed"] == 4
    assert set(summary["by_path"]) == {"autoregressive", "diffusion"}
    assert sum(p["count"] for p in summary["by_path"].values()) == 4
    assert all(sample["attempts"] for sample in summary["samples"])
    assert summary["by_path"]["diffusion"]["attempts"] >= 1
    assert isinstance(summary["rollback_events"], list)
