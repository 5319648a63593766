from pathlib import Path

import pytest

from genroute.errors import PolicyError
from workers.engines.registry import load_paths

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
