"""One request followed through the logs: the API's line and every worker line about the task
are JSON carrying its id; the workers' lines also carry the attempt, path, engine and worker."""

import json
from pathlib import Path

import httpx
import pytest

from genroute.local.stack import Stack
from tests.helpers import ticket, wait_for_task, wait_until

pytestmark = pytest.mark.integration


def _lines_about(log: Path, task_id: str) -> list[dict]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("task_id") == task_id:
                found.append(record)
    return found


def test_a_task_can_be_followed_across_api_and_workers(client: httpx.Client, stack: Stack) -> None:
    task_id = client.post("/v1/tasks", json=ticket(task_type="classification")).json()["id"]
    view = wait_for_task(client, task_id)
    assert [a.path for a in view.attempts] == ["diffusion", "autoregressive"]
    names = ("api.log", "worker-diffusion.log", "worker-autoregressive.log")
    files = [stack.log_dir / name for name in names]
    wait_until(  # the last lines reach the files
        lambda: all(_lines_about(file, task_id) for file in files), 10, "every process's lines"
    )

    [accepted] = _lines_about(stack.log_dir / "api.log", task_id)
    assert accepted["message"].startswith("accepted classification task on diffusion")
    assert accepted["rule"] == view.route.rule and accepted["route_reason"] == view.route.reason
    for path, attempt in (("diffusion", 1), ("autoregressive", 2)):
        lines = _lines_about(stack.log_dir / f"worker-{path}.log", task_id)
        assert lines, f"no {path} worker line about the task"
        for record in lines:
            assert record["path"] == path and record["worker"].startswith(path)
            assert record["engine"] and record["level"] and record["ts"]
        attempts = {record.get("attempt") for record in lines} - {None}
        assert attempts == {attempt}
