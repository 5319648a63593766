"""Autoregressive engine: a transformers causal LM in this process, prompts through the model's
chat template, batches left-padded into one `generate` call. Requests with `choices` are
answered by scoring each choice instead (constrained classification: always a valid label).

torch is imported here, inside the worker child, after `genroute worker` pinned
CUDA_VISIBLE_DEVICES; nothing in the parent process touches CUDA.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.engines.hf_common import (
    InProcessParams,
    OutputClock,
    chat_text,
    load_pretrained,
)


class CausalParams(InProcessParams):
    repetition_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    # Set from the path's capabilities: decode schema-bound requests under their JSON Schema.
    structured_output: bool = False


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
        self._structured_output = params.structured_output
        self._grammar_tokenizer: Any = None

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        free = [request for request in requests if not request.choices]
        generated = iter(self._generate_free(free) if free else [])
        results = []
        for request in requests:
            results.append(self._choose(request) if request.choices else next(generated))
        for result in results:
            result.facts["batch_size"] = len(requests)
        return results

    def _choose(self, request: GenerationRequest) -> Generation:
        """The choice whose tokens (and the end of turn) are likeliest after the prompt, by mean
        log-probability so longer labels are not penalised; all choices in one forward pass."""
        torch, tokenizer = self._torch, self._tokenizer
        started_at = datetime.now(UTC)
        prompt = tokenizer(chat_text(tokenizer, request))["input_ids"]
        endings = [
            tokenizer(choice + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
            for choice in request.choices
        ]
        width = len(prompt) + max(len(ending) for ending in endings)
        ids = torch.full((len(endings), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, ending in enumerate(endings):  # right-padded: positions stay 0..n
            sequence = prompt + ending
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        kept = width - len(prompt) + 1  # logits only where a choice token is predicted
        with torch.inference_mode():
            logits = self._model(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                logits_to_keep=kept,
            ).logits
        log_probs = torch.log_softmax(logits.float(), dim=-1).cpu()
        scores = []
        for row, ending in enumerate(endings):
            # Kept position i predicts the choice's token i.
            scores.append(sum(log_probs[row, i, token].item() for i, token in enumerate(ending)))
        best = max(range(len(scores)), key=scores.__getitem__)
        finished_at = datetime.now(UTC)
        return Generation(
            text=request.choices[best],
            tokens_in=len(prompt),
            tokens_out=len(endings[best]) - 1,
            started_at=started_at,
            first_output_at=finished_at,
            finished_at=finished_at,
            facts={
                "device": self.device,
                "decoding": "choice_scoring",
                "finish_reason": "stop",
                "choice_scores": {c: round(scores[i], 4) for i, c in enumerate(request.choices)},
            },
        )

    def _constraints(self, requests: Sequence[GenerationRequest], prompt_width: int) -> list:
        """The logits processors that keep schema-bound rows to their schema (none when the
        path does not decode under schemas, or no request carries one)."""
        schemas = [r.json_schema if self._structured_output else None for r in requests]
        if not any(schema is not None for schema in schemas):
            return []
        from genroute.workers.engines.constrained import JsonSchemaConstraint, wrap_tokenizer

        if self._grammar_tokenizer is None:
            self._grammar_tokenizer = wrap_tokenizer(self._tokenizer, self._model.config.vocab_size)
        eos = self._tokenizer.eos_token_id
        return [JsonSchemaConstraint(self._grammar_tokenizer, schemas, prompt_width, eos)]

    def _generate_free(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        torch = self._torch
        started_at = datetime.now(UTC)
        texts = [chat_text(self._tokenizer, request) for request in requests]
        batch = self._tokenizer(texts, return_tensors="pt", padding=True).to(self.device)
        clock = OutputClock()
        constraints = self._constraints(requests, batch["input_ids"].shape[1])
        from transformers import LogitsProcessorList

        with torch.inference_mode():
            output = self._model.generate(
                **batch,
                max_new_tokens=max(request.max_output_tokens for request in requests),
                do_sample=False,
                repetition_penalty=self._repetition_penalty,
                pad_token_id=self._tokenizer.pad_token_id,
                streamer=clock,
                logits_processor=LogitsProcessorList(constraints),
            )
        finished_at = datetime.now(UTC)
        prompt_width = batch["input_ids"].shape[1]
        results = []
        for row, request in enumerate(requests):
            new_tokens = output[row, prompt_width:][: request.max_output_tokens]
            # The row ended within its own bound iff an end of sequence is among its tokens
            # (generate pads a finished row; padding is the end-of-sequence token here).
            ended = bool((new_tokens == self._tokenizer.eos_token_id).any())
            new_tokens = new_tokens[new_tokens != self._tokenizer.pad_token_id]
            results.append(
                Generation(
                    text=self._tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
                    tokens_in=int(batch["attention_mask"][row].sum()),
                    tokens_out=int(new_tokens.numel()),
                    started_at=started_at,
                    first_output_at=clock.first_output_at,
                    finished_at=finished_at,
                    facts={
                        "device": self.device,
                        "finish_reason": "stop" if ended else "length",
                        "constrained_decoding": bool(constraints)
                        and request.json_schema is not None,
                    },
                )
            )
        return results
