"""Flower behind basic auth on the stack's broker: unauthenticated API calls are refused; with
the credentials it lists the stack's workers and a task it saw run."""

import contextlib
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from genroute.local.embedded import child_environment
from genroute.local.stack import Stack, free_port
from genroute.settings import Settings
from tests.helpers import ticket, wait_for_task, wait_until

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

    def flower_sees_both_paths_and_the_task() -> tuple[set[str], set[str], dict] | None:
        names = set(httpx.get(f"{url}/api/workers", auth=auth, timeout=30).json())
        tasks = httpx.get(f"{url}/api/tasks", auth=auth, timeout=30).json()
        seen = {path for path in PATHS for n in names if n.startswith(path)}
        return (seen, names, tasks) if seen == PATHS and task_id in tasks else None

    seen, names, tasks = wait_until(flower_sees_both_paths_and_the_task, 60, "Flower's view", 0.5)
    assert seen == PATHS, names
    assert task_id in tasks  # the message id is the task id
    assert tasks[task_id]["name"] == "genroute.generate"
    assert "classification" in tasks[task_id]["kwargs"]  # its task type, to filter by
    # Neither the broker URL (it may hold a password) nor the credentials are on any of
    # Flower's command lines, which every user of the host can read.
    assert stack.flower is not None
    lines = _command_lines(stack.flower.pid)
    assert lines and any("flower" in line for line in lines), lines
    for line in lines:
        assert stack.settings.broker_url not in line and password not in line, line


def _command_lines(pid: int) -> list[str]:
    """The command lines of `pid` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().split(") ")[1].split()[1]
                )
    family, grew = {pid}, True
    while grew:
        children = {child for child, parent in parents.items() if parent in family}
        grew = bool(children - family)
        family |= children
    lines = []
    for member in sorted(family):
        with contextlib.suppress(OSError):
            lines.append(
                (Path("/proc") / str(member) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
    return lines


def test_flower_refuses_to_start_without_credentials(settings: Settings) -> None:
    env = child_environment(settings)
    env.pop("GENROUTE_FLOWER_USER", None)
    env.pop("GENROUTE_FLOWER_PASSWORD", None)
    result = subprocess.run(
        [sys.executable, "-m", "genroute", "flower"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Flower needs credentials" in result.stderr


def test_flower_counts_an_invalid_attempt_as_a_failure(stack: Stack, client: httpx.Client) -> None:
    """The diffusion model's random text is never a valid label: with no fallback the task
    fails on its one attempt, and Flower says so (the producer sees the same as before)."""
    password = secrets.token_urlsafe(16)
    url = stack.start_flower("operator", password)
    auth = ("operator", password)
    request = ticket(task_type="classification", fallback="none")
    task_id = client.post("/v1/tasks", json=request).json()["id"]
    assert wait_for_task(client, task_id).status.value == "failed"

    def failed_in_flower() -> dict | None:
        info = httpx.get(f"{url}/api/tasks", auth=auth, timeout=30).json().get(task_id)
        return info if info and info["state"] == "FAILURE" else None

    info = wait_until(failed_in_flower, 60, "Flower showing the task failed")
    assert "classification on diffusion, attempt 1: invalid" in info["exception"]
    assert "failed validation" in info["exception"]
    # The workers page counts it among the diffusion worker's failures.
    board = httpx.get(f"{url}/workers", params={"json": 1}, auth=auth, timeout=30).json()
    diffusion = [w for w in board["data"] if w["hostname"].startswith("diffusion")]
    assert diffusion and diffusion[0].get("task-failed", 0) >= 1, board


def test_sigterm_to_genroute_flower_stops_its_flower(settings: Settings, tmp_path: Path) -> None:
    """A supervisor sends SIGTERM to the command it started, not to its children: Flower must
    end with it (it ran on, ignoring SIGTERM, once its parent was gone)."""
    env = child_environment(settings)
    env.update(GENROUTE_FLOWER_USER="operator", GENROUTE_FLOWER_PASSWORD="a-long-password")
    port = free_port()
    command = [sys.executable, "-m", "genroute", "flower", "--port", str(port)]
    with (tmp_path / "flower.log").open("wb") as log:
        parent = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: _answers(f"http://127.0.0.1:{port}/healthcheck"), 60, "Flower to answer"
            )
            family = [line for line in _command_lines(parent.pid) if "flower" in line]
            assert len(family) >= 2, family  # the command and Flower below it
            parent.send_signal(signal.SIGTERM)
            assert parent.wait(timeout=30) is not None
        finally:
            if parent.poll() is None:
                parent.kill()
    wait_until(lambda: not _flowers_on(port), 15, "no Flower left on the port")


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False


def _flowers_on(port: int) -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "flower" in line and f"--port={port}" in line:
                    lines.append(line)
    return lines
