"""Output as an in-process engine makes it: a transformers streamer that notes when the first
output exists and counts canvases and denoising steps, and a relay that passes each request's
new text on as tokens arrive, decoded incrementally."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from genroute.interfaces import GenerationRequest


class TextRelay:
    """Passes each row's new text to its request's `on_output` as tokens arrive, decoding
    incrementally: only the tokens since the last text sent, behind a few already-sent ones
    for context (a tokenizer may render a token differently at the start of a string), so a
    reply of n tokens costs O(n) decoding rather than O(n^2); a character split across tokens
    goes out once it is complete. A row stops at its end of sequence or its token bound."""

    def __init__(
        self, tokenizer: Any, requests: Sequence[GenerationRequest], stop_ids: set[int]
    ) -> None:
        self._tokenizer = tokenizer
        self._requests = list(requests)
        self._stop_ids = stop_ids
        self._tokens: list[list[int]] = [[] for _ in requests]
        # Per row: where the context window starts, and where the text already sent ends.
        self._prefix = [0] * len(requests)
        self._read = [0] * len(requests)
        self._ended = [request.on_output is None for request in requests]

    @property
    def wanted(self) -> bool:
        return not all(self._ended)

    @property
    def rows(self) -> int:
        return len(self._requests)

    def feed(self, rows: list[list[int]]) -> None:
        for row, new in enumerate(rows):
            if self._ended[row]:
                continue
            request = self._requests[row]
            for token in new:
                if token in self._stop_ids or len(self._tokens[row]) >= request.max_output_tokens:
                    self._ended[row] = True
                    break
                self._tokens[row].append(token)
            piece = self._new_text(row)
            if piece and request.on_output is not None:
                request.on_output(piece)

    def _new_text(self, row: int) -> str:
        """The text the row's unsent tokens add, once complete (the incremental detokenizer
        of vLLM and TGI: decode the window with and without the new tokens, send the
        difference, then slide the window to the tokens just sent)."""
        tokens, prefix, read = self._tokens[row], self._prefix[row], self._read[row]
        if read == len(tokens):
            return ""
        decode = self._tokenizer.decode
        sent = decode(tokens[prefix:read], skip_special_tokens=True)
        text = decode(tokens[prefix:], skip_special_tokens=True)
        if len(text) <= len(sent) or text.endswith("\ufffd"):  # a character still incomplete
            return ""
        self._prefix[row], self._read[row] = read, len(tokens)
        return text[len(sent) :]


class OutputClock:
    """A transformers streamer. The first `put` carries the prompt; each later one carries new
    output (a token per row for causal LMs, a whole canvas per row for DiffusionGemma), passed
    on to `relay` where a request streams. `put_draft` is called once per denoising step."""

    def __init__(self, relay: TextRelay | None = None) -> None:
        self.puts = 0
        self.denoising_steps = 0
        self.first_output_at: datetime | None = None
        self._relay = relay if relay is not None and relay.wanted else None

    def put(self, value: Any) -> None:
        self.puts += 1
        if self.puts == 2:
            self.first_output_at = datetime.now(UTC)
        if self.puts >= 2 and self._relay is not None:
            self._relay.feed(value.reshape(self._relay.rows, -1).tolist())

    def put_draft(self, **_kwargs: Any) -> None:
        self.denoising_steps += 1

    def end(self) -> None:
        pass

    @property
    def outputs(self) -> int:
        return max(0, self.puts - 1)
