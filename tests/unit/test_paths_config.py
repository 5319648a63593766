from pathlib import Path

import pytest

from genroute.config import batch_widths
from genroute.contract import PathName
from genroute.errors import PolicyError
from genroute.workers.engines.registry import load_paths

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_paths_file_serves_every_queue() -> None:
    paths = load_paths(ROOT / "workers" / "paths.yaml")
    queues = {q for config in paths.values() for q in config.queues}
    assert queues == {"diffusion", "autoregressive", "fallback"}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("{queues: [diffusion], engine: magic, model: m}", "unknown engine 'magic'"),
        ("{queues: [gpu], engine: transformers-causal, model: m}", "unknown queues ['gpu']"),
        (
            "{queues: [diffusion], engine: transformers-causal, model: m, params: {temp: 1}}",
            "temp",
        ),
        (
            "{queues: [diffusion], engine: transformers-causal, model: m, params: {device: tpu}}",
            "device",
        ),
    ],
)
def test_bad_engine_configuration_fails_at_start_up(tmp_path: Path, entry: str, words: str) -> None:
    path = tmp_path / "paths.yaml"
    path.write_text(f"paths:\n  diffusion: {entry}\n")
    with pytest.raises(PolicyError) as caught:
        load_paths(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_environment_overrides_fields_and_merges_params(tmp_path: Path) -> None:
    path = tmp_path / "paths.yaml"
    path.write_text(
        "paths:\n  diffusion: {queues: [diffusion], engine: diffusion-gemma, model: m, "
        "params: {max_denoising_steps: 12}}\n"
    )
    environ = {
        "GENROUTE_DIFFUSION_BATCH_WIDTH": "6",
        "GENROUTE_DIFFUSION_MODEL": "google/diffusiongemma-26B-A4B-it",
        "GENROUTE_DIFFUSION_PARAMS": '{"canvas_length": 64}',
    }
    config = load_paths(path, environ)["diffusion"]
    assert config.batch_width == 6
    assert config.model == "google/diffusiongemma-26B-A4B-it"
    assert config.params == {"max_denoising_steps": 12, "canvas_length": 64}


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("GENROUTE_DIFFUSION_BATCH_WIDTH", "wide", "GENROUTE_DIFFUSION_BATCH_WIDTH"),
        ("GENROUTE_DIFFUSION_BATCH_WIDTH", "0", "batch_width"),
        ("GENROUTE_DIFFUSION_PARAMS", "[1]", "expected a JSON object"),
        ("GENROUTE_DIFFUSION_PARAMS", '{"t_max": 0.1}', "t_max (0.1) must be above t_min"),
        ("GENROUTE_DIFFUSION_ENGINE", "magic", "unknown engine 'magic'"),
    ],
)
def test_bad_environment_overrides_are_named(
    tmp_path: Path, name: str, value: str, words: str
) -> None:
    path = tmp_path / "paths.yaml"
    path.write_text(
        "paths:\n  diffusion: {queues: [diffusion], engine: diffusion-gemma, model: m}\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_paths(path, {name: value})
    assert words in str(caught.value)


def test_http_engine_needs_a_server_url(tmp_path: Path) -> None:
    path = tmp_path / "paths.yaml"
    path.write_text("paths:\n  diffusion: {queues: [diffusion], engine: openai-http, model: m}\n")
    with pytest.raises(PolicyError, match="base_url"):
        load_paths(path, {})


def test_a_batched_worker_claims_one_batch_ahead_unless_told(tmp_path: Path) -> None:
    from genroute.workers.app import _pool_arguments

    path = tmp_path / "paths.yaml"
    common = "queues: [diffusion], engine: diffusion-gemma, model: m"
    path.write_text(
        f"paths:\n  diffusion: {{{common}, batch_width: 4}}\n"
        f"  autoregressive: {{queues: [autoregressive], engine: transformers-causal, model: m}}\n"
    )
    paths = load_paths(path)
    assert paths["diffusion"].claim_depth == 8
    assert _pool_arguments(paths["diffusion"], None) == ["--pool=threads", "--concurrency=8"]
    assert paths["autoregressive"].claim_depth == 1  # prefork: one request per process
    tuned = load_paths(path, {"GENROUTE_DIFFUSION_CLAIM_AHEAD": "0"})
    assert tuned["diffusion"].claim_depth == 4


def test_the_api_reads_the_batch_width_the_workers_run(tmp_path: Path) -> None:
    """The API's estimates and `genroute capacity` use batch_widths: with a worker's width set
    by GENROUTE_<PATH>_BATCH_WIDTH (compose, Kubernetes), they must see the same override."""
    path = tmp_path / "paths.yaml"
    path.write_text(
        "paths:\n  diffusion: {queues: [diffusion], engine: diffusion-gemma, model: m, "
        "batch_width: 8}\n"
    )
    environ = {"GENROUTE_DIFFUSION_BATCH_WIDTH": "4"}
    widths = batch_widths(path, environ)
    assert widths[PathName.diffusion] == load_paths(path, environ)["diffusion"].batch_width == 4
    assert widths[PathName.autoregressive] == 1  # not declared
    assert batch_widths(path, {})[PathName.diffusion] == 8
    with pytest.raises(PolicyError, match="GENROUTE_DIFFUSION_BATCH_WIDTH"):
        batch_widths(path, {"GENROUTE_DIFFUSION_BATCH_WIDTH": "wide"})


def test_an_external_path_is_priced_by_its_tokens(tmp_path: Path) -> None:
    from genroute.workers.context import attempt_cost

    paths = tmp_path / "paths.yaml"
    paths.write_text(
        "paths:\n  autoregressive:\n    queues: [autoregressive, fallback]\n"
        "    engine: openai-http\n    model: gpt-x\n    data_location: external\n"
        "    usd_per_million_input_tokens: 2.5\n    usd_per_million_output_tokens: 10\n"
        "    params: {base_url: 'https://api.example.com/v1'}\n"
    )
    external = load_paths(paths, environ={"GENROUTE_AUTOREGRESSIVE_COST_PER_GPU_HOUR": "3.6"})
    config = external[PathName.autoregressive]
    # 400 tokens in, 100 out, and one second of GPU time at $3.60 an hour
    assert attempt_cost(config, 1.0, 400, 100) == {"gpu_seconds": 1.0, "cost": 0.003}
