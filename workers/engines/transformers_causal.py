"""Autoregressive engine: a transformers causal LM in this process, prompts through the model's
chat template, batches left-padded into one `generate` call. Requests with `choices` are
answered by scoring each choice instead (label_scoring: one prompt pass, calibrated).

torch is imported here, inside the worker child, after `genroute worker` pinned
CUDA_VISIBLE_DEVICES; nothing in the parent process touches CUDA.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from genroute.interfaces import Generation, GenerationRequest
from genroute.workers.engines.chat_prompts import chat_text
from genroute.workers.engines.hf_loading import InProcessParams, load_pretrained
from genroute.workers.engines.label_scoring import LabelScorer
from genroute.workers.engines.output_streaming import OutputClock, TextRelay


class CausalParams(InProcessParams):
    repetition_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    # Set from the path's capabilities: decode schema-bound requests under their JSON Schema.
    structured_output: bool = False
    # Correct classification's label prior with content-free inputs (label_scoring).
    calibrate_labels: bool = True


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
        self._calibrate_labels = params.calibrate_labels
        self._labels = LabelScorer(self._torch, self._model, self._tokenizer, self.device)
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
        """The likeliest choice after the prompt (see label_scoring), corrected by the labels'
        prior on content-free inputs when the request carries them and the path calibrates."""
        tokenizer = self._tokenizer
        started_at = datetime.now(UTC)
        prompt = tokenizer(chat_text(tokenizer, request))["input_ids"]
        endings = self._labels.endings(request.choices)
        scores = self._labels.scores(prompt, endings)
        calibrated = self._calibrate_labels and bool(request.calibration_prompts)
        if calibrated:
            prior = self._labels.prior(request, self._content_free_prompts)
            scores = [score - base for score, base in zip(scores, prior, strict=True)]
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
                "label_calibration": calibrated,
                "choice_scores": {c: round(scores[i], 4) for i, c in enumerate(request.choices)},
            },
        )

    def _content_free_prompts(self, request: GenerationRequest) -> list[list[int]]:
        tokenizer = self._tokenizer
        return [
            tokenizer(chat_text(tokenizer, replace(request, prompt=text)))["input_ids"]
            for text in request.calibration_prompts
        ]

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
        stop_ids = {self._tokenizer.eos_token_id, self._tokenizer.pad_token_id}
        clock = OutputClock(TextRelay(self._tokenizer, requests, stop_ids))
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
