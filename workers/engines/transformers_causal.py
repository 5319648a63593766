"""Autoregressive engine: a transformers causal LM in this process, prompts through the model's
chat template, batches left-padded into one `generate` call.

torch is imported here, inside the worker child, after `genroute worker` pinned
CUDA_VISIBLE_DEVICES; nothing in the parent process touches CUDA.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genroute.engine import Generation, GenerationRequest
from genroute.errors import EngineUnavailable

log = logging.getLogger(__name__)


class CausalParams(BaseModel):
    """Options of this engine in workers/paths.yaml; unknown keys are refused at start-up."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    repetition_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    torch_threads: int | None = Field(default=None, ge=1)


class _FirstTokenClock:
    """A transformers streamer that notes when the first new token exists (the first `put`
    carries the prompt, the second the first generated token)."""

    def __init__(self) -> None:
        self.puts = 0
        self.first_output_at: datetime | None = None

    def put(self, _value: Any) -> None:
        self.puts += 1
        if self.puts == 2:
            self.first_output_at = datetime.now(UTC)

    def end(self) -> None:
        pass


class TransformersCausalEngine:
    """SmolLM2 in development, any causal LM on a GPU node."""

    name = "transformers-causal"

    def __init__(self, model: str, source: str, params: CausalParams, torch_threads: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(params.torch_threads or torch_threads)
        self.model = model
        self._torch = torch
        self.device = self._pick_device(params.device)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source)
            self._model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
        except OSError as exc:
            raise EngineUnavailable(f"cannot load model '{model}' from {source}: {exc}") from exc
        self._model.to(self.device).eval()
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._repetition_penalty = params.repetition_penalty
        log.info("loaded %s on %s (%s)", model, self.device, dtype)

    def _pick_device(self, wanted: str) -> str:
        if wanted == "auto":
            return "cuda" if self._torch.cuda.is_available() else "cpu"
        if wanted.startswith("cuda") and not self._torch.cuda.is_available():
            raise EngineUnavailable(f"device '{wanted}' requested but CUDA is not available")
        return wanted

    def _chat_text(self, request: GenerationRequest) -> str:
        messages = [
            {"role": "system", "content": request.system_prompt},
            {"role": "user", "content": request.prompt},
        ]
        return self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        torch = self._torch
        started_at = datetime.now(UTC)
        texts = [self._chat_text(request) for request in requests]
        batch = self._tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
        clock = _FirstTokenClock()
        with torch.inference_mode():
            output = self._model.generate(
                **batch,
                max_new_tokens=max(request.max_output_tokens for request in requests),
                do_sample=False,
                repetition_penalty=self._repetition_penalty,
                pad_token_id=self._tokenizer.pad_token_id,
                streamer=clock,
            )
        finished_at = datetime.now(UTC)
        prompt_width = batch["input_ids"].shape[1]
        results = []
        for row, request in enumerate(requests):
            new_tokens = output[row, prompt_width:][: request.max_output_tokens]
            new_tokens = new_tokens[new_tokens != self._tokenizer.pad_token_id]
            results.append(
                Generation(
                    text=self._tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
                    tokens_in=int(batch["attention_mask"][row].sum()),
                    tokens_out=int(new_tokens.numel()),
                    started_at=started_at,
                    first_output_at=clock.first_output_at,
                    finished_at=finished_at,
                    facts={"batch_size": len(requests), "device": self.device},
                )
            )
        return results
