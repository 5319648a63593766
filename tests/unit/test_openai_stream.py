"""Reading an OpenAI-compatible server-sent event stream, chat and completions shapes; a
server's error event or a stream cut short is an engine error, never a reply."""

import json

import pytest

from genroute.errors import EngineError
from genroute.workers.engines.openai_stream import read_reply as _consume


def _event(payload: dict) -> str:
    return f"data: {json.dumps(payload)}"


def test_chat_stream_text_usage_and_first_output() -> None:
    lines = [
        _event({"choices": [{"delta": {"role": "assistant"}}]}),
        "",
        _event({"choices": [{"delta": {"content": "Hello"}}]}),
        _event({"choices": [{"delta": {"content": " world"}, "finish_reason": "stop"}]}),
        _event({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}),
        "data: [DONE]",
        _event({"choices": [{"delta": {"content": "ignored"}}]}),
    ]
    text, first, usage, finish = _consume(iter(lines))
    assert text == "Hello world"
    assert first is not None
    assert usage == {"prompt_tokens": 7, "completion_tokens": 2}
    assert finish == "stop"


def test_completions_stream() -> None:
    lines = [_event({"choices": [{"text": "abc", "finish_reason": "length"}]}), "data: [DONE]"]
    text, first, usage, finish = _consume(iter(lines))
    assert (text, usage, finish) == ("abc", {}, "length")
    assert first is not None


def test_empty_stream_has_no_first_output() -> None:
    text, first, _usage, _finish = _consume(iter(["data: [DONE]"]))
    assert text == "" and first is None


def test_an_error_event_mid_stream_is_an_engine_error() -> None:
    lines = [
        _event({"choices": [{"delta": {"content": "partial"}}]}),
        _event({"error": {"message": "CUDA out of memory", "code": 500}}),
        "data: [DONE]",
    ]
    with pytest.raises(EngineError, match="failed mid-reply: CUDA out of memory"):
        _consume(iter(lines))


def test_a_stream_cut_short_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="ended before the reply did"):
        _consume(iter([_event({"choices": [{"delta": {"content": "half a"}}]})]))
