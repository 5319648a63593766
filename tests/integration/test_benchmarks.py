"""Every benchmark runs in its `--quick` mode and prints the one JSON object it promises, so
none can silently stop working. Each starts its own embedded servers, as a person would."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _quick(name: str, timeout_s: float, tmp_path: Path) -> dict:
    # A bench's own servers, not the suite's; only the vLLM environment is shared.
    keep = {"GENROUTE_TEST_VLLM_PYTHON"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENROUTE_") or k in keep}
    env["GENROUTE_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_submit_bench(tmp_path: Path) -> None:
    result = _quick("submit", 300, tmp_path)
    assert result["bench"] == "submit" and result["api_tasks_per_s"] > 0
    assert result["api_over_bare_celery"] > 0


def test_scorecard_bench(tmp_path: Path) -> None:
    result = _quick("scorecard", 300, tmp_path)
    assert result["bench"] == "scorecard" and result["attempts_counted"] == result["attempts"]
    assert result["query_s"] > 0


@pytest.mark.timeout(900)
def test_soak_bench(tmp_path: Path) -> None:
    result = _quick("soak", 1200, tmp_path)
    assert result["bench"] == "soak" and result["accepted_by_api"] >= 20
    assert (result["lost"], result["double_accepted"], result["api_5xx"]) == (0, 0, 0), json.dumps(
        result
    )
    assert result["terminal"] == result["accepted_by_api"]
    assert {e["event"] for e in result["chaos"]} >= {
        "restart redis",
        "restart postgresql",
        "restart api",
    }


def test_long_polls_bench(tmp_path: Path) -> None:
    result = _quick("long_polls", 300, tmp_path)
    assert result["bench"] == "long_polls" and result["held"] == result["waiters"]
    assert result["answers"] == {"200": result["waiters"]}


def test_engines_bench(tmp_path: Path) -> None:
    result = _quick("engines", 600, tmp_path)
    assert set(result["engines"]) == {"transformers-causal", "diffusion-gemma", "openai-http"}
    for name, engine in result["engines"].items():
        assert engine["system"]["batched_tokens_per_s"] > 0, name
        assert engine["direct"]["batched_tokens_per_s"] > 0, name
        assert 0 <= engine["system"]["batched_accepted_share"] <= 1, name
        assert 1 <= engine["system"]["batched_placement"]["mean_batch_size"] <= 2, name


def test_structured_bench(tmp_path: Path) -> None:
    result = _quick("structured", 600, tmp_path)
    assert result["bench"] == "structured" and set(result["arms"]) == {"free", "constrained"}
    for arm in result["arms"].values():
        assert arm["extraction"]["tasks"] == arm["classification"]["tasks"] == result["tickets"]
        assert 0 <= arm["extraction"]["schema_valid_rate"] <= 1
        assert arm["classification"]["seconds_per_ticket"] > 0


def test_streaming_bench(tmp_path: Path) -> None:
    result = _quick("streaming", 600, tmp_path)
    assert result["bench"] == "streaming"
    for name, engine in result["engines"].items():
        assert engine["system"]["drafts"]["streams_with_output"] > 0, name
        assert engine["system_over_engine_first_output"]["drafts"] > 0, name
    chat = result["engines"]["transformers-causal"]
    assert chat["system"]["validated"]["streams_with_output"] > 0  # chat streams live
    # The tiny random DiffusionGemma's summaries are always refused: a plain stream shows none.
    assert result["engines"]["diffusion-gemma"]["system"]["validated"]["streams_with_output"] == 0


def test_classify_bench(tmp_path: Path) -> None:
    result = _quick("classify", 300, tmp_path)
    assert result["bench"] == "classify" and result["requests"] == 16
    assert result["held_out_requests"] == 8
    for arm in result["arms"].values():
        assert 0 <= arm["accuracy"] <= 1 and arm["ms_per_request"] > 0
        assert 0 <= arm["held_out"]["accuracy"] <= 1


def test_validators_bench(tmp_path: Path) -> None:
    result = _quick("validators", 300, tmp_path)
    assert result["bench"] == "validators" and result["items"] == 16
    assert set(result["languages"]) == {"en", "de"} and all(result["languages"].values())
    for name in ("grounding", "claim_support", "combined"):
        figures = result["validators"][name]
        assert set(figures["false_flag_rate"]) == {"all", "en", "de"}
        assert len(figures["recall"]) == 9
    judge = result["validators"]["judge"]
    assert judge["items"] == 1 and 0 <= judge["unparseable_rate"] <= 1
    held = {"false_flags_at_most_5_percent_in_each_language", "surface_recall_at_least_95_percent"}
    assert set(result["targets_held"]) == held
    multilingual = result["multilingual"]
    assert multilingual["items"] == 16 and set(multilingual["summaries_by_language"]) == {
        "en",
        "de",
        "fr",
    }
    assert len(multilingual["pairs"]) == 9  # every ticket language by every summary language
    for name in ("grounding", "claim_support", "claim_support_untranslated", "combined"):
        figures = multilingual["validators"][name]
        assert {"en", "de", "fr", "de>en", "fr>de"} <= set(figures["false_flag_rate"])
        assert set(figures["recall"]) == {
            "number",
            "date",
            "id",
            "email",
            "person",
            "product",
            "amount",
            "claim",
        }
    assert multilingual["cost_per_summary_ms"] > 0
    assert set(multilingual["targets_held"]) == {"false_flags", "recall_on_every_kind"}


@pytest.mark.timeout(600)
def test_capacity_bench(tmp_path: Path) -> None:
    result = _quick("capacity", 600, tmp_path)
    assert result["bench"] == "capacity" and result["tasks"] == 8
    assert result["predicted_p95_wait_s"] >= 0 and result["measured_p95_wait_s"] >= 0


def test_autoscale_bench(tmp_path: Path) -> None:
    result = _quick("autoscale", 120, tmp_path)
    assert result["bench"] == "autoscale" and set(result["fleets"]) == {"static", "autoscaled"}
    static, auto = result["fleets"]["static"], result["fleets"]["autoscaled"]
    assert (
        static["tasks"] > 10_000 and abs(auto["tasks"] - static["tasks"]) < 0.05 * static["tasks"]
    )
    assert result["keda"]["max_replicas"] == result["static_workers"]
    assert 1 <= auto["max_replicas_used"] <= result["keda"]["max_replicas"]
    assert result["gpu_hours_ratio"] == round(auto["gpu_hours"] / static["gpu_hours"], 3)
    assert 0 < result["gpu_hours_ratio"] <= 1 and 0 <= result["p95_met_fraction"] <= 1


def test_multimodal_bench(tmp_path: Path) -> None:
    result = _quick("multimodal", 600, tmp_path)
    assert result["bench"] == "multimodal" and result["requests"] == 4
    for arm in ("direct", "system"):
        assert result[arm]["images_per_s"] > 0 and result[arm]["tokens_per_s"] > 0
    # The pixels reached the model both ways: the prompt holds the image's soft tokens.
    assert result["system"]["mean_tokens_in"] == result["direct"]["mean_tokens_in"] > 70
    assert result["system_over_direct"] > 0
    ocr = result["ocr"]
    assert ocr["reader"].startswith("tesseract") and ocr["images"] == 10
    assert 0 < ocr["recall"] <= 1 and set(ocr["recall_by_language"]) == {"en", "de"}
    assert result["decode_ms_per_image"]["mean"] > 0


def test_cache_bench(tmp_path: Path) -> None:
    result = _quick("cache", 300, tmp_path)
    assert result["bench"] == "cache" and result["cached"]["accepted"] == result["tickets"]
    assert 0 < result["hit_rate"] <= result["repeat_share"]
    assert result["cached"]["hits"] == result["model_attempts_saved"] > 0
    assert result["cost_saved_usd"] > 0 and result["baseline"]["hits"] == 0
