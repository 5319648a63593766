"""Relaying an engine's text as tokens arrive: the pieces join to exactly the whole reply's
decoding, a character split across tokens waits until complete, and the decoding done grows
with the reply's length, not with its square."""

from genroute.interfaces import GenerationRequest
from genroute.workers.engines.output_streaming import TextRelay


class ByteTokenizer:
    """Each token one UTF-8 byte; like SentencePiece, a string's leading space is dropped.
    Counts the tokens it decodes."""

    def __init__(self) -> None:
        self.decoded = 0

    def decode(self, tokens: list[int], skip_special_tokens: bool = True) -> str:
        self.decoded += len(tokens)
        return bytes(tokens).decode("utf-8", errors="replace").removeprefix(" ")


def _relay(text: str, step: int) -> tuple[list[str], ByteTokenizer]:
    pieces: list[str] = []
    tokens = list(text.encode())
    request = GenerationRequest("s", "p", len(tokens) + 10, on_output=pieces.append)
    tokenizer = ByteTokenizer()
    relay = TextRelay(tokenizer, [request], stop_ids=set())
    for start in range(0, len(tokens), step):
        relay.feed([tokens[start : start + step]])
    return pieces, tokenizer


def test_pieces_join_to_the_whole_decoding() -> None:
    text = " Grüße aus Köln: 3 \u00d7 4 € — ok 👍 and more"
    for step in (1, 2, 5):
        pieces, _ = _relay(text, step)
        assert "".join(pieces) == text.removeprefix(" "), (step, pieces)
        assert all("\ufffd" not in piece for piece in pieces)


def test_decoding_grows_linearly_with_the_reply() -> None:
    _, short = _relay("word " * 200, 1)
    _, long = _relay("word " * 800, 1)
    assert long.decoded < 5 * short.decoded  # 4x the tokens: about 4x the work, not 16x
    assert long.decoded < 4 * 4000  # each token decoded a bounded number of times
