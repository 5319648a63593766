"""Flower behind basic auth on the stack's broker: unauthenticated API calls are refused; with
the credentials it lists the stack's workers and a task it saw run."""

import secrets
import subprocess
import sys
import time

import httpx
import pytest

from genroute.local.embedded import child_environment
from genroute.local.stack import Stack
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task

pytestmark = pytest.mark.integration
PATHS = {"autoregressive", "diffusion"}


def test_flower_requires_credentials_and_shows_workers_and_tasks(
    stack: Stack, client: httpx.Client
) -> None:
    password = secrets.token_urlsafe(16)
    url = stack.start_flower("operator", password)
    assert httpx.get(f"{url}/api/workers", timeout=10).status_code == 401
    wrong = httpx.get(f"{url}/api/workers", auth=("operator", "guess"), timeout=10)
    assert wrong.status_code == 401

    task_id = client.post("/v1/tasks", json=ticket(task_type="classification")).json()["id"]
    wait_for_task(client, task_id)
    auth = ("operator", password)
    deadline = time.monotonic() + 60
    while True:
        workers = httpx.get(f"{url}/api/workers", auth=auth, timeout=30).json()
        tasks = httpx.get(f"{url}/api/tasks", auth=auth, timeout=30).json()
        names = set(workers)
        seen = {
            path for path in ("autoregressive", "diffusion") for n in names if n.startswith(path)
        }
        if (
            seen == {"autoregressive", "diffusion"} and task_id in tasks
        ) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert seen == PATHS, names
    assert task_id in tasks  # the message id is the task id
    assert tasks[task_id]["name"] == "genroute.generate"


def test_flower_refuses_to_start_without_credentials(settings: Settings) -> None:
    env = child_environment(settings)
    env.pop("GENROUTE_FLOWER_USER", None)
    env.pop("GENROUTE_FLOWER_PASSWORD", None)
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "flower"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Flower needs credentials" in result.stderr
