"""JSON by construction for an in-process causal model: at every step each constrained row's
next-token logits are masked to what its JSON Schema still allows, so the reply is valid JSON
that meets the schema (validation still runs: a well-formed reply can still be ungrounded).

The grammar engine is llguidance (Microsoft's guidance team; Rust, no Python dependencies, the
JSON-Schema backend vLLM and llama.cpp also use), chosen over xgrammar (which pulls triton and
a TVM runtime into a CPU worker), outlines (heavy, slower to compile schemas) and
lm-format-enforcer (pure Python, slow per token). Masks are applied with plain tensor ops on
whatever device the logits are on.
"""

from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch

from genroute.errors import EngineError


class JsonSchemaConstraint:
    """A transformers logits processor for one batch: row i follows `schemas[i]` (None: that
    row is free). Created per `generate` call; the tokenizer wrapper is shared."""

    def __init__(
        self,
        tokenizer: llguidance.LLTokenizer,
        schemas: list[dict[str, Any] | None],
        prompt_width: int,
        eos_id: int,
    ) -> None:
        self._prompt_width = prompt_width
        self._eos_id = eos_id
        self._matchers = [
            _matcher(tokenizer, schema) if schema is not None else None for schema in schemas
        ]
        self._bitmask = torch.full((len(schemas), (tokenizer.vocab_size + 31) // 32), -1)
        self._bitmask = self._bitmask.to(torch.int32)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids.shape[1] > self._prompt_width
        for row, matcher in enumerate(self._matchers):
            if matcher is None:
                continue
            if generated:
                matcher.consume_token(int(input_ids[row, -1]))
            if matcher.is_stopped() or matcher.is_error():
                # Done (or lost): only the end of the reply may follow.
                self._bitmask[row].zero_()
                self._bitmask[row, self._eos_id // 32] = 1 << (self._eos_id % 32)
            else:
                view = self._bitmask[row]
                matcher.unsafe_compute_mask_ptr(view.data_ptr(), view.numel() * 4)
        allowed = _unpack(self._bitmask, scores.shape[1]).to(scores.device)
        for row, matcher in enumerate(self._matchers):
            if matcher is not None:
                scores[row].masked_fill_(~allowed[row], float("-inf"))
        return scores


def _matcher(tokenizer: llguidance.LLTokenizer, schema: dict[str, Any]) -> llguidance.LLMatcher:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        schema, defaults={"whitespace_flexible": False}
    )
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    if matcher.is_error():
        raise EngineError(f"the JSON Schema cannot be decoded under: {matcher.get_error()}")
    return matcher


def _unpack(bitmask: torch.Tensor, vocab: int) -> torch.Tensor:
    """(rows, ceil(vocab/32)) int32 words -> (rows, vocab) booleans, bit b of word w = token
    32w + b (little-endian words, so numpy's little-endian bit order over their bytes)."""
    as_bytes = bitmask.contiguous().numpy().view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :vocab]
    return torch.from_numpy(bits.astype(bool))


def wrap_tokenizer(hf_tokenizer: Any, vocab_size: int) -> llguidance.LLTokenizer:
    """llguidance's view of the model's tokenizer (about a second: build it once)."""
    return llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size)
