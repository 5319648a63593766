"""`genroute enqueue` on a ticket backlog: a first run that stopped after part of the file, a
second run killed while waiting, and a third that finishes. Exactly one task per row, and one
result line per row in the output file."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from genroute.client.backlog import ColumnMap, read_backlog
from genroute.contract import Scope
from genroute.db.models import Task
from genroute.local.embedded import child_environment
from genroute.local.stack import Stack, issue_key
from genroute.settings import Settings
from tests.helpers import wait_until

pytestmark = pytest.mark.integration
ROWS = 60


def _enqueue(env: dict[str, str], backlog: Path, *args: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "genroute",
        "enqueue",
        str(backlog),
        "--task-type",
        "synthetic_examples",
        "--id-column",
        "ticket_id",
        "--input-column",
        "text",
        "--metadata-column",
        "customer_tier",
        "--max-output-tokens",
        "12",
        "--batch-size",
        "20",
        *args,
    ]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_backlog_survives_a_kill_without_double_submitting(
    stack: Stack, settings: Settings, sessions, tmp_path: Path
) -> None:
    env = child_environment(settings)
    env["GENROUTE_API_URL"] = stack.api_url
    env["GENROUTE_API_KEY"] = issue_key(settings, "triage-bot", (Scope.submit, Scope.read))
    backlog = tmp_path / "backlog.csv"
    made = subprocess.run(
        [sys.executable, "-m", "genroute", "sample-backlog", "--count", str(ROWS), "--out", "-"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    backlog.write_text(made.stdout)
    head = tmp_path / "head.csv"
    head.write_text("".join(backlog.read_text().splitlines(keepends=True)[:26]))

    first = _enqueue(env, head)  # a run that got through the first 25 rows only
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "25 new, 0 already submitted" in err

    results = tmp_path / "results.jsonl"
    second = _enqueue(env, backlog, "--wait", "--out", str(results))
    wait_until(
        lambda: len(_lines(results)) >= 10 or second.poll() is not None, 180, "10 results written"
    )
    assert second.poll() is None, "finished before it could be killed"
    os.kill(second.pid, signal.SIGKILL)
    second.communicate()
    assert 10 <= len(_lines(results)) < ROWS

    third = _enqueue(env, backlog, "--wait", "--out", str(results))
    _, err = third.communicate(timeout=280)
    assert third.returncode == 0, err[-2000:]
    assert f"0 new, {ROWS} already submitted, 0 rejected" in err

    written = _lines(results)
    assert len(written) == ROWS
    assert {row["row"] for row in written} == {f"T-{20000 + n}" for n in range(ROWS)}
    assert all(row["status"] in ("succeeded", "failed") and row["attempts"] for row in written)
    with sessions() as session:
        created = session.scalar(
            select(func.count()).select_from(Task).where(Task.owner == "triage-bot")
        )
    assert created == ROWS


def test_backlog_rows_map_to_stable_requests(tmp_path: Path) -> None:
    backlog = tmp_path / "rows.jsonl"
    backlog.write_text('{"id": 7, "body": "Refund order 12", "tier": "pro"}\n\n{"body": "x"}\n')
    with pytest.raises(Exception, match="row 2 has no 'id' value"):
        read_backlog(backlog, "classification", ColumnMap("body", "id", ("tier",)))
    backlog.write_text('{"id": 7, "body": "Refund order 12", "tier": "pro"}\n')
    [row] = read_backlog(backlog, "classification", ColumnMap("body", "id", ("tier",)))
    [again] = read_backlog(backlog, "classification", ColumnMap("body", "id", ("tier",)))
    assert row.request == again.request
    assert row.request["metadata"] == {"tier": "pro", "backlog_row": "7"}
    assert row.request["idempotency_key"].startswith("backlog:")
