"""Reading a batch file's lines into tasks or errors that name the line, without I/O."""

import json
from pathlib import Path

from genroute.api.batch_lines import (
    LineError,
    LineReader,
    LineTask,
    custom_id_of,
    line_key,
    split_lines,
)
from genroute.policies import load_catalog

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "policies" / "task_types.yaml")
READER = LineReader("batch_1", "/v1/chat/completions", CATALOG, priority=3)
BODY = {"model": "chat", "messages": [{"role": "user", "content": "Hi"}]}


def _line(**fields) -> bytes:
    base = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": BODY}
    return json.dumps({**base, **fields}).encode()


def _lines(*pieces: bytes) -> list[bytes]:
    return [line.raw for line in split_lines(pieces)]


def test_lines_are_numbered_by_position_and_the_last_newline_ends_a_line() -> None:
    assert _lines(b"a\r\n\nb\n") == [b"a", b"", b"b"]
    assert _lines(b"a\nb") == [b"a", b"b"]
    assert _lines(b"a\n  ") == [b"a"]
    assert _lines(b"") == [] == _lines()


def test_lines_split_across_pieces_keep_their_numbers_and_offsets() -> None:
    content = b"first\r\nsecond line\n\nlast"
    whole = list(split_lines([content]))
    for size in (1, 2, 3, 7, 100):
        pieces = [content[i : i + size] for i in range(0, len(content), size)]
        assert list(split_lines(pieces)) == whole
    assert [(line.no, line.raw) for line in whole] == [
        (1, b"first"),
        (2, b"second line"),
        (3, b""),
        (4, b"last"),
    ]
    for line in whole:  # offsets address the line in the file
        assert content[line.start : line.end].rstrip(b"\r\n") == line.raw
    resumed = split_lines([content[whole[1].start :]], line_no=2, offset=whole[1].start)
    assert list(resumed) == whole[1:]


def test_a_custom_id_is_read_where_the_line_has_one() -> None:
    assert custom_id_of(_line(custom_id="x-1")) == "x-1"
    assert custom_id_of(b"not json") is None
    assert custom_id_of(b"[1]") is None
    assert custom_id_of(b'{"custom_id": 7}') is None


def test_a_good_line_is_a_task_keyed_by_its_batch_and_line() -> None:
    line = READER.read(4, _line(), {})
    assert isinstance(line, LineTask) and line.custom_id == "a"
    assert line.request.idempotency_key == line_key("batch_1", 4) == "batch:batch_1:line:4"
    assert line.request.priority == 3
    own = READER.read(5, _line(body={**BODY, "genroute": {"priority": 9}}), {})
    assert isinstance(own, LineTask) and own.request.priority == 9


def _error(line: LineTask | LineError) -> dict:
    assert isinstance(line, LineError), line
    return line.body["error"]


def test_each_malformed_line_names_its_line_and_field() -> None:
    assert _error(READER.read(2, b"{nope", {}))["param"] == "line"
    assert _error(READER.read(2, b"[1]", {}))["message"] == "line 2: line: not a JSON object"
    assert _error(READER.read(2, _line(custom_id=""), {}))["param"] == "custom_id"
    assert _error(READER.read(2, _line(method="GET"), {}))["param"] == "method"
    assert _error(READER.read(2, _line(url="/v1/embeddings"), {}))["param"] == "url"
    assert _error(READER.read(2, _line(extra=1), {}))["param"] == "extra"
    assert _error(READER.read(2, _line(body={"model": "chat"}), {}))["param"] == "body.messages"
    streamed = _line(body={**BODY, "stream": True})
    assert _error(READER.read(2, streamed, {}))["param"] == "body.stream"
    unknown = _error(READER.read(2, _line(body={**BODY, "model": "gpt-4o"}), {}))
    assert unknown["param"] == "body.model" and unknown["line"] == 2


def test_a_repeated_custom_id_fails_on_its_later_line_only() -> None:
    seen: dict[str, int] = {}
    assert isinstance(READER.read(1, _line(), seen), LineTask)
    assert isinstance(READER.read(1, _line(), seen), LineTask)  # the same line, read again
    repeated = _error(READER.read(3, _line(), seen))
    assert "already the custom_id of line 1" in repeated["message"]
