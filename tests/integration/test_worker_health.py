"""`genroute worker-health`: healthy for the stack's live workers; unhealthy, with the reason,
where no worker serves the path and work is waiting."""

import json
import subprocess
import sys
import uuid

import pytest

from genroute.local.embedded import child_environment
from genroute.local.stack import Stack
from genroute.runtime.queueing import Message, make_celery, publish_many
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration


def _health(settings: Settings, path: str, *args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "worker-health", "--path", path, *args],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["autoregressive", "diffusion"])
def test_live_workers_are_healthy(settings: Settings, stack: Stack, path: str) -> None:
    code, report = _health(settings, path)
    assert code == 0, report
    assert report["healthy"] and report["workers"] and report["workers"][0].startswith(path)


def test_no_worker_and_waiting_work_is_unhealthy(settings: Settings) -> None:
    with isolated_settings(settings, redis_db=6) as own:
        app = make_celery(own, own.broker_url)
        publish_many(app, [Message(uuid.uuid4(), "diffusion")])  # work nobody takes
        app.close()
        code, report = _health(own, "diffusion", "--stall", "0", "--timeout", "1")
    assert code == 1
    assert report["queue_depth"] == {"diffusion": 1}
    assert any("no diffusion worker answered" in p for p in report["problems"])
    assert any("messages wait" in p for p in report["problems"])
