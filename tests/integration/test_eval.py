"""`genroute eval` on the project's sample tickets as ticket_summary on both paths: a real
run (its own servers' databases, its own workers), the side-by-side report in JSON and HTML,
per-item outcomes with validator verdicts, and nothing of it fed to the rollback controller."""

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from genroute.db.session import sqlalchemy_url
from genroute.local.embedded import child_environment
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.redis_keys import PATH_STATE_PREFIX
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration


def test_eval_compares_both_paths_on_sample_tickets(settings: Settings, tmp_path: Path) -> None:
    tickets = resources.files("genroute.data").joinpath("tickets.jsonl")
    with isolated_settings(settings, redis_db=4, data_dir=tmp_path / "data") as own:
        command = [
            sys.executable, "-m", "genroute", "eval", str(tickets),
            "--task-type", "ticket_summary", "--limit", "3",
            "--latency-budget-ms", "600000", "--out", str(tmp_path / "out"), "--json",
        ]  # fmt: skip
        done = subprocess.run(
            command, env=child_environment(own), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        client = redis_from_broker_url(own.broker_url)
        try:  # evaluation outcomes never reach the rollback controller
            assert not list(client.scan_iter(match=f"{PATH_STATE_PREFIX}*"))
        finally:
            client.close()
        engine = create_engine(sqlalchemy_url(own.database_url))
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT purpose, route_path, fallback_path, attempt_count FROM tasks")
            ).all()
        engine.dispose()
    assert len(rows) == 6 and {r.purpose for r in rows} == {"evaluation"}
    assert {r.route_path for r in rows} == {"diffusion", "autoregressive"}
    assert all(r.fallback_path is None and r.attempt_count == 1 for r in rows)

    assert set(report["paths"]) == {"diffusion", "autoregressive"}
    for figures in report["paths"].values():
        assert figures["requests"] == 3 and figures["purpose"] == "evaluation"
        assert figures["cost_per_request"] > 0
    assert len(report["outcomes"]) == 3
    for outcome in report["outcomes"]:
        for path in ("diffusion", "autoregressive"):
            result = outcome[path]
            assert result["status"] in ("succeeded", "failed")
            # whatever produced text was checked, and every verdict is kept
            assert result["output"] is None or result["verdicts"]
    advice = report["recommendation"]
    assert advice["reasoning"]
    assert advice["path"] in (None, "diffusion", "autoregressive")
    if advice["path"] is not None:  # the same gate as `genroute compare`, on this run
        assert "promotion gate against" in advice["reasoning"], advice
    page = Path(report["html"]).read_text()
    assert page.count("<figure data-chart=") == 3 and "Recommendation for ticket_summary" in page
    assert json.loads(Path(report["json"]).read_text())["run"] == report["run"]


LABELLED = Path(__file__).resolve().parents[2] / "bench" / "data" / "labelled_tickets.jsonl"


def _eval(own: Settings, out: Path, *args: str) -> dict:
    command = [sys.executable, "-m", "genroute", "eval", str(LABELLED), "--id-column", "id",
               "--paths", "autoregressive", "--out", str(out), "--json", *args]  # fmt: skip
    done = subprocess.run(
        command, env=child_environment(own), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_eval_scores_answers_against_expected_labels_and_fields(
    settings: Settings, tmp_path: Path
) -> None:
    with isolated_settings(settings, redis_db=4, data_dir=tmp_path / "data") as own:
        labels = _eval(own, tmp_path / "labels", "--task-type", "classification",
                       "--expected-column", "label", "--limit", "6")  # fmt: skip
        fields = _eval(own, tmp_path / "fields", "--task-type", "extraction",
                       "--expected-column", "fields", "--limit", "3")  # fmt: skip
    expected = [json.loads(line) for line in LABELLED.read_text().splitlines()[:6]]
    quality = labels["paths"]["autoregressive"]["quality"]
    assert quality["kind"] == "label" and quality["items"] == 6
    # Recomputed from the report's own items: an answer counts only when it was accepted.
    by_item = {o["item"]: o for o in labels["outcomes"]}
    right = sum(
        by_item[row["id"]]["autoregressive"]["status"] == "succeeded"
        and by_item[row["id"]]["autoregressive"]["output"].strip().lower() == row["label"]
        for row in expected
    )
    assert quality["accuracy"] == round(right / 6, 3)
    assert sum(sum(row.values()) for row in quality["confusion"].values()) == 6
    assert by_item[expected[0]["id"]]["expected"] == expected[0]["label"]
    assert (
        "accuracy" in labels["recommendation"]["reasoning"]
        or labels["recommendation"]["path"] is None
    )
    field_quality = fields["paths"]["autoregressive"]["quality"]
    assert field_quality["kind"] == "fields" and set(field_quality["per_field"]) == {
        "customer_name", "email", "order_id", "amount"}  # fmt: skip
    assert 0 <= field_quality["field_accuracy"] <= 1
    page = Path(labels["html"]).read_text()
    assert "accuracy (expected outputs)" in page
