"""`genroute eval` on the project's labelled tickets: a real run (its own servers' databases,
its own workers), the side-by-side report in JSON and HTML, per-item outcomes with validator
verdicts, quality against the items' expected labels or fields beside acceptance, and nothing
of it fed to the rollback controller."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from genroute.db.session import sqlalchemy_url
from genroute.local.embedded import child_environment
from genroute.local.screenshots import render
from genroute.runtime.queueing import redis_from_broker_url
from genroute.runtime.redis_keys import PATH_STATE_PREFIX
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration
LABELLED = Path(__file__).resolve().parents[2] / "bench" / "data" / "labelled_tickets.jsonl"
IMAGES = LABELLED.with_name("image_set.jsonl")


def _eval(own: Settings, out: Path, *args: str, dataset: Path = LABELLED) -> dict:
    command = [sys.executable, "-m", "genroute", "eval", str(dataset), "--id-column", "id",
               "--out", str(out), "--json", *args]  # fmt: skip
    done = subprocess.run(
        command, env=child_environment(own), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_eval_compares_both_paths_against_expected_labels(
    settings: Settings, tmp_path: Path
) -> None:
    with isolated_settings(settings, redis_db=4, data_dir=tmp_path / "data") as own:
        report = _eval(own, tmp_path / "out", "--task-type", "classification",
                       "--expected-column", "label", "--limit", "3",
                       "--latency-budget-ms", "600000")  # fmt: skip
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
    lines = LABELLED.read_text().splitlines()
    expected = {row["id"]: row["label"] for row in map(json.loads, lines)}
    for path, figures in report["paths"].items():
        assert figures["requests"] == 3 and figures["purpose"] == "evaluation"
        assert figures["cost_per_request"] > 0
        # Quality recomputed from the report's own items: only an accepted answer counts.
        right = sum(
            o[path]["status"] == "succeeded"
            and o[path]["output"].strip().lower() == expected[o["item"]]
            for o in report["outcomes"]
        )
        quality = figures["quality"]
        assert quality["kind"] == "label" and quality["accuracy"] == round(right / 3, 3)
        assert sum(sum(row.values()) for row in quality["confusion"].values()) == 3
    assert len(report["outcomes"]) == 3
    for outcome in report["outcomes"]:
        assert outcome["expected"] == expected[outcome["item"]]
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
        assert "accuracy" in advice["reasoning"] and "always answering" in advice["reasoning"]
    page = Path(report["html"]).read_text()
    assert page.count("<figure data-chart=") == 3 and "Recommendation for classification" in page
    assert "accuracy (expected outputs)" in page
    assert json.loads(Path(report["json"]).read_text())["run"] == report["run"]


def test_eval_scores_extraction_against_expected_fields(settings: Settings, tmp_path: Path) -> None:
    with isolated_settings(settings, redis_db=4, data_dir=tmp_path / "data") as own:
        report = _eval(own, tmp_path / "out", "--task-type", "extraction", "--paths",
                       "autoregressive", "--expected-column", "fields", "--limit", "2")  # fmt: skip
    quality = report["paths"]["autoregressive"]["quality"]
    assert quality["kind"] == "fields" and quality["items"] == 2
    assert set(quality["per_field"]) == {"customer_name", "email", "order_id", "amount"}
    assert 0 <= quality["field_accuracy"] <= 1 and 0 <= quality["exact_match_rate"] <= 1


def test_eval_shows_each_item_its_document_image(settings: Settings, tmp_path: Path) -> None:
    """An image column (paths relative to the dataset): each item's image is stored and decoded
    as a submission's is, shown to the model, and its expected fields scored."""
    rows = [json.loads(line) for line in IMAGES.read_text().splitlines()]
    invoices = [row for row in rows if row["kind"] == "invoice"][:2]
    (tmp_path / "img").mkdir()
    items = []
    for row in invoices:
        (tmp_path / "img" / f"{row['id']}.png").write_bytes(render(row["spec"]))
        items.append({"id": row["id"], "note": row["ticket"], "image": f"img/{row['id']}.png",
                      "expected": row["fields"]})  # fmt: skip
    dataset = tmp_path / "invoices.jsonl"
    dataset.write_text("".join(json.dumps(item) + "\n" for item in items))
    with isolated_settings(settings, redis_db=4, data_dir=tmp_path / "data") as own:
        report = _eval(own, tmp_path / "out", "--task-type", "document_fields", "--paths",
                       "diffusion", "--input-column", "note", "--attachment-column", "image",
                       "--expected-column", "expected", dataset=dataset)  # fmt: skip
        engine = create_engine(sqlalchemy_url(own.database_url))
        with engine.connect() as conn:
            tasks = conn.execute(text("SELECT input_modality, request FROM tasks")).all()
        engine.dispose()
    assert [task.input_modality for task in tasks] == ["image", "image"]
    assert all(task.request["attachments"][0]["media_type"] == "image/png" for task in tasks)
    quality = report["paths"]["diffusion"]["quality"]
    assert quality["kind"] == "fields" and quality["items"] == 2
    assert set(quality["per_field"]) == {"document_type", "number", "total", "due_date"}
