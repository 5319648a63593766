"""Classification by scoring labels instead of generating: always a valid label, and cheap.

The prompt runs through the model once; its KV cache is copied per label and only the labels'
own tokens run after it, so ten labels cost one prompt pass plus ten short continuations
rather than ten prompt passes. A label's score is the log-probability of its tokens; the end
of turn after it is left out (its probability speaks of the model's formatting habits more
than of the label) unless one label is a prefix of another, where it is what tells them apart.

Small models carry a strong prior for some labels whatever the ticket says (in the sample
backlog 437 of 500 tickets came out `billing` before this). Contextual calibration (Zhao et
al., 2021, "Calibrate Before Use") corrects it: each label's mean score over content-free
inputs (the paper's "N/A", "" and "[MASK]" in the same template) is subtracted, so a label wins
on what the ticket adds. Those scores depend only on the task type: computed once and kept.
"""

from collections.abc import Callable, Sequence
from typing import Any

from genroute.interfaces import GenerationRequest

_MAX_PRIORS = 256


class LabelScorer:
    """Scores a request's labels on one loaded causal model."""

    def __init__(self, torch: Any, model: Any, tokenizer: Any, device: str) -> None:
        self._torch, self._model, self._tokenizer, self._device = torch, model, tokenizer, device
        self._priors: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[float]] = {}

    def endings(self, choices: Sequence[str]) -> list[list[int]]:
        """Each label's tokens, with the end of turn only where a label prefixes another."""
        prefixed = any(a != b and b.startswith(a) for a in choices for b in choices)
        tail = self._tokenizer.eos_token if prefixed else ""
        return [
            self._tokenizer(choice + tail, add_special_tokens=False)["input_ids"]
            for choice in choices
        ]

    def scores(self, prompt: list[int], endings: list[list[int]]) -> list[float]:
        """Log-probability of each ending after `prompt`, from one pass over the prompt."""
        torch = self._torch
        with torch.inference_mode():
            head = self._model(
                input_ids=torch.tensor([prompt], device=self._device),
                use_cache=True,
                logits_to_keep=1,
            )
            first = torch.log_softmax(head.logits[0, -1].float(), dim=-1).cpu()
            cache = head.cache
            cache.batch_repeat_interleave(len(endings))
            width = max(len(ending) for ending in endings)
            ids = torch.full((len(endings), width), self._tokenizer.pad_token_id)
            mask = torch.zeros((len(endings), len(prompt) + width), dtype=torch.long)
            mask[:, : len(prompt)] = 1
            for row, ending in enumerate(endings):  # right-padded: positions stay in order
                ids[row, : len(ending)] = torch.tensor(ending)
                mask[row, len(prompt) : len(prompt) + len(ending)] = 1
            tail = self._model(
                input_ids=ids.to(self._device),
                attention_mask=mask.to(self._device),
                cache=cache,
            ).logits
            later = torch.log_softmax(tail.float(), dim=-1).cpu()
        scores = []
        for row, ending in enumerate(endings):
            # The prompt's last position predicts token 0; tail position i predicts token i+1.
            picked = [first[ending[0]].item()]
            picked += [later[row, i, token].item() for i, token in enumerate(ending[1:])]
            scores.append(sum(picked))
        return scores

    def prior(
        self,
        request: GenerationRequest,
        content_free_prompts: Callable[[GenerationRequest], list[list[int]]],
    ) -> list[float]:
        """The labels' mean scores over the request's content-free prompts: rendered, tokenized
        and scored only the first time a task type's prompts and labels are seen."""
        key = (request.system_prompt, request.calibration_prompts, tuple(request.choices))
        if key not in self._priors:
            if len(self._priors) >= _MAX_PRIORS:
                self._priors.pop(next(iter(self._priors)))
            endings = self.endings(request.choices)
            each = [self.scores(prompt, endings) for prompt in content_free_prompts(request)]
            self._priors[key] = [sum(column) / len(each) for column in zip(*each, strict=True)]
        return self._priors[key]
