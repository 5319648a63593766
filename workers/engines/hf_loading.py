"""Loading a transformers model for an in-process engine: its parameters, the device it runs
on (a GPU where one is wanted and present) and the model with its tokenizer."""

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genroute.errors import EngineUnavailable

log = logging.getLogger(__name__)


class InProcessParams(BaseModel):
    """Options every in-process engine takes in workers/paths.yaml; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    torch_threads: int | None = Field(default=None, ge=1)


def pick_device(torch: Any, wanted: str) -> str:
    """`auto` is the (pinned) GPU when CUDA is visible, else the CPU."""
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise EngineUnavailable(f"device '{wanted}' requested but CUDA is not available")
    return wanted


@dataclass(frozen=True)
class Loaded:
    """A model and its tokenizer on their device, with the torch module that runs them."""

    torch: Any
    tokenizer: Any
    model: Any
    device: str


def load_pretrained(
    model_class: Any, name: str, source: str, params: InProcessParams, torch_threads: int
) -> Loaded:
    """Load `source` with `model_class` onto the chosen device (bfloat16 on CUDA), in eval mode,
    with a left-padding tokenizer for batched generation."""
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(params.torch_threads or torch_threads)
    device = pick_device(torch, params.device)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = model_class.from_pretrained(source, dtype=dtype)
    except OSError as exc:
        raise EngineUnavailable(f"cannot load model '{name}' from {source}: {exc}") from exc
    model.to(device).eval()
    tokenizer.padding_side = "left"
    log.info("loaded %s on %s (%s)", name, device, dtype)
    return Loaded(torch, tokenizer, model, device)
