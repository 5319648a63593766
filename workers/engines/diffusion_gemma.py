"""Diffusion engine: DiffusionGemma (`DiffusionGemmaForBlockDiffusion`) in this process.

The model writes whole canvases (blocks of `canvas_length` tokens), each refined over up to
`max_denoising_steps` steps. So output arrives one canvas at a time (time to first output is
the first finished canvas), and a reply costs whole canvases however short it is: every
generation records the canvases and canvas tokens it paid for next to the tokens it kept.
"""

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.engines.chat_prompts import chat_text
from genroute.workers.engines.hf_loading import InProcessParams, load_pretrained
from genroute.workers.engines.output_streaming import OutputClock, TextRelay
from genroute.workers.engines.vision_prompts import VisionPrompts


class DiffusionParams(InProcessParams):
    """Google's recommended sampling by default: at most 48 steps, temperature 0.8 -> 0.4,
    entropy bound 0.1, stop when the canvas is stable and mean entropy is below 0.005."""

    canvas_length: int | None = Field(default=None, ge=8, le=1024)
    max_denoising_steps: int = Field(default=48, ge=1, le=512)
    t_max: float = Field(default=0.8, gt=0)
    t_min: float = Field(default=0.4, ge=0)
    entropy_bound: float = Field(default=0.1, gt=0)
    stability_threshold: int = Field(default=1, ge=0)
    confidence_threshold: float = Field(default=0.005, gt=0)
    # Soft tokens an image becomes (the Gemma 4 image processor's budget; 280 is the model's
    # default, vLLM's recipe allows 1120): more sees small print better and costs more.
    image_soft_tokens: Literal[70, 140, 280, 560, 1120] = 280

    @model_validator(mode="after")
    def _temperature_falls(self) -> "DiffusionParams":
        if self.t_max <= self.t_min:
            raise ValueError(f"t_max ({self.t_max}) must be above t_min ({self.t_min})")
        return self


class DiffusionGemmaEngine:
    """The tiny random checkpoint in development; google/diffusiongemma-26B-A4B-it on a GPU."""

    name = "diffusion-gemma"
    in_process = True

    def __init__(
        self, model: str, source: str, params: DiffusionParams, torch_threads: int
    ) -> None:
        from transformers import DiffusionGemmaForBlockDiffusion

        loaded = load_pretrained(
            DiffusionGemmaForBlockDiffusion, model, source, params, torch_threads
        )
        self.model = model
        self.device = loaded.device
        self._torch, self._tokenizer, self._model = loaded.torch, loaded.tokenizer, loaded.model
        self._params = params
        if params.canvas_length is not None:
            self._model.config.canvas_length = params.canvas_length
        self.canvas_length = int(self._model.config.canvas_length)
        self._eos_ids = self._eos_token_ids()
        self._pad_id = self._model.config.text_config.pad_token_id
        self._vision = VisionPrompts(
            self._tokenizer, self._model.config, params.image_soft_tokens, self._pad_id
        )

    def _eos_token_ids(self) -> set[int]:
        configured = self._model.config.text_config.eos_token_id
        ids = set(configured if isinstance(configured, list) else [configured])
        if self._tokenizer.eos_token_id is not None:
            ids.add(self._tokenizer.eos_token_id)
        return {i for i in ids if i is not None}

    def _sampling(self, max_new_tokens: int) -> dict[str, Any]:
        from transformers.models.diffusion_gemma.generation_diffusion_gemma import (
            EntropyBoundSamplerConfig,
        )

        p = self._params
        return {
            "max_new_tokens": max_new_tokens,
            "max_denoising_steps": p.max_denoising_steps,
            "t_max": p.t_max,
            "t_min": p.t_min,
            "sampler_config": EntropyBoundSamplerConfig(entropy_bound=p.entropy_bound),
            "stability_threshold": p.stability_threshold,
            "confidence_threshold": p.confidence_threshold,
            "pad_token_id": self._pad_id,
            "eos_token_id": sorted(self._eos_ids),
        }

    def _inputs(self, requests: Sequence[GenerationRequest]) -> dict[str, Any]:
        """The batch's prompt ids and mask, and its images' patches where any request shows
        some (their tokens then stand in the prompt where each image goes)."""
        if any(request.images for request in requests):
            inputs = self._vision.inputs(requests)
        else:
            texts = [chat_text(self._tokenizer, request) for request in requests]
            if self._tokenizer.pad_token is None:
                self._tokenizer.pad_token_id = self._pad_id
            inputs = dict(
                self._tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            )
        return {name: tensor.to(self.device) for name, tensor in inputs.items()}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        torch = self._torch
        started_at = datetime.now(UTC)
        batch = self._inputs(requests)
        stop_ids = self._eos_ids | {self._pad_id}
        clock = OutputClock(TextRelay(self._tokenizer, requests, stop_ids))
        longest = max(request.max_output_tokens for request in requests)
        with torch.inference_mode():
            output = self._model.generate(streamer=clock, **batch, **self._sampling(longest))
        finished_at = datetime.now(UTC)
        prompt_width = batch["input_ids"].shape[1]
        per_forward = output.tokens_per_forward
        results = []
        for row, request in enumerate(requests):
            tokens = output.sequences[row, prompt_width:].tolist()
            kept, canvases, finish = self._trim(tokens, request.max_output_tokens)
            results.append(
                Generation(
                    text=self._tokenizer.decode(kept, skip_special_tokens=True).strip(),
                    tokens_in=int(batch["attention_mask"][row].sum()),
                    tokens_out=len(kept),
                    started_at=started_at,
                    first_output_at=clock.first_output_at,
                    finished_at=finished_at,
                    facts={
                        "batch_size": len(requests),
                        "images": len(request.images),
                        "device": self.device,
                        "canvas_length": self.canvas_length,
                        "canvases": canvases,
                        "canvas_tokens": canvases * self.canvas_length,
                        "denoising_steps": clock.denoising_steps,
                        "tokens_per_forward": float(per_forward[row]),
                        "finish_reason": finish,
                    },
                )
            )
        return results

    def _trim(self, tokens: list[int], limit: int) -> tuple[list[int], int, str]:
        """Tokens kept (before end of sequence, within the request's limit), the canvases
        this row paid for (up to and including the one that holds its end of sequence), and
        whether the reply ended ("stop") or was cut at the limit ("length")."""
        end = next((i for i, token in enumerate(tokens) if token in self._eos_ids), None)
        canvases = (
            (end // self.canvas_length + 1)
            if end is not None
            else (math.ceil(len(tokens) / self.canvas_length))
        )
        content = [t for t in tokens[:end] if t != self._pad_id]
        finish = "stop" if end is not None and len(content) <= limit else "length"
        return content[:limit], canvases, finish
