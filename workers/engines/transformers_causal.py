"""Autoregressive engine: a transformers causal LM in this process, prompts through the model's
chat template, batches left-padded into one `generate` call.

torch is imported here, inside the worker child, after `genroute worker` pinned
CUDA_VISIBLE_DEVICES; nothing in the parent process touches CUDA.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import Field

from genroute.engine import Generation, GenerationRequest
from workers.engines.hf_common import InProcessParams, OutputClock, chat_text, load_pretrained


class CausalParams(InProcessParams):
    repetition_penalty: float = Field(default=1.1, ge=1.0, le=2.0)


class TransformersCausalEngine:
    """SmolLM2 in development, any causal LM on a GPU node."""

    name = "transformers-causal"
    in_process = True

    def __init__(self, model: str, source: str, params: CausalParams, torch_threads: int) -> None:
        from transformers import AutoModelForCausalLM

        loaded = load_pretrained(AutoModelForCausalLM, model, source, params, torch_threads)
        self.model = model
        self.device = loaded.device
        self._torch, self._tokenizer, self._model = loaded.torch, loaded.tokenizer, loaded.model
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._repetition_penalty = params.repetition_penalty

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        torch = self._torch
        started_at = datetime.now(UTC)
        texts = [chat_text(self._tokenizer, request) for request in requests]
        batch = self._tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
        clock = OutputClock()
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
