"""What a streamed chat completion shows: by default only text validation can no longer refuse
(whole accepted outputs, or live text for task types decided by their first text), drafts and
their events only to a client that asks; and a stream gives its long-poll place back however
the client leaves."""

import asyncio

import pytest

from genroute.api.chat_stream import PlacedStreamingResponse
from genroute.api.stream_relay import (
    DraftRejected,
    Interrupted,
    RelayMode,
    StreamRelay,
    Text,
    relay_mode,
)
from genroute.policies.catalog import TaskType
from genroute.runtime.finish_events import FinishWaiters


def _task_type(**validation: object) -> TaskType:
    return TaskType.model_validate(
        {
            "description": "d",
            "system_prompt": "s",
            "prompt_template": "{input}",
            "default_max_output_tokens": 8,
            "max_output_tokens": 16,
            "validation": validation,
        }
    )


CHAT = _task_type(not_echo=False, accept_truncated=True)
SUMMARY = _task_type(max_chars=800, grounding=True)


def _shown(events: list) -> str:
    return "".join(event.piece for event in events if isinstance(event, Text))


def test_the_mode_follows_what_the_checks_read() -> None:
    assert relay_mode(CHAT, schema_required=False, drafts_wanted=False) is RelayMode.live
    assert relay_mode(CHAT, schema_required=True, drafts_wanted=False) is RelayMode.whole
    assert relay_mode(SUMMARY, schema_required=False, drafts_wanted=False) is RelayMode.whole
    assert relay_mode(SUMMARY, schema_required=False, drafts_wanted=True) is RelayMode.drafts
    for reads_whole in ({"max_chars": 10}, {"min_chars": 5}, {"single_line": True}, {}):
        checks = {"not_echo": False, "accept_truncated": True, **reads_whole}
        if reads_whole:
            assert relay_mode(_task_type(**checks), False, False) is RelayMode.whole, checks
    assert relay_mode(_task_type(accept_truncated=True), False, False) is RelayMode.whole


def test_a_refused_draft_is_never_shown_in_whole_mode() -> None:
    relay = StreamRelay(RelayMode.whole)
    events = relay.text(1, "A refused draft ") + relay.text(1, "of the diffusion path.")
    events += relay.end(1, accepted=False, reason="grounding failed")
    events += relay.text(2, "The accepted answer.") + relay.end(2, accepted=True, reason="")
    assert events == []
    assert relay.rest_of(2, "The accepted answer.") == "The accepted answer."


def test_live_text_joins_to_exactly_the_accepted_output() -> None:
    relay = StreamRelay(RelayMode.live)
    pieces = ["\n ", " Hello", " there", ".  ", "\n", "How are you?", "  "]
    events = [event for piece in pieces for event in relay.text(1, piece)]
    events += relay.end(1, accepted=True, reason="")
    output = "".join(pieces).strip()
    assert _shown(events) + (relay.rest_of(1, output) or "") == output
    assert not _shown(events).startswith((" ", "\n"))


def test_a_live_attempt_that_fails_after_showing_text_interrupts_the_stream() -> None:
    relay = StreamRelay(RelayMode.live)
    relay.text(1, "Half an ans")
    assert relay.end(1, accepted=False, reason="timeout") == [Interrupted(1, "timeout")]


def test_a_live_attempt_that_showed_nothing_fails_quietly() -> None:
    relay = StreamRelay(RelayMode.live)
    assert relay.text(1, "   ") == []
    assert relay.end(1, accepted=False, reason="the output is empty") == []
    assert _shown(relay.text(2, "Hi!")) == "Hi!"


def test_a_lost_live_attempt_interrupts_when_the_next_one_speaks() -> None:
    relay = StreamRelay(RelayMode.live)
    relay.text(1, "Started")
    assert relay.text(2, "Again")[0] == Interrupted(1, "the attempt was lost")


def test_drafts_mode_shows_drafts_with_their_events() -> None:
    relay = StreamRelay(RelayMode.drafts)
    events = relay.text(1, "draft") + relay.end(1, accepted=False, reason="invalid")
    events += relay.text(2, " answer ")
    assert events == [
        Text(1, "draft"),
        DraftRejected(1, "invalid"),
        Text(2, " answer "),
    ]
    assert relay.rest_of(2, "answer") == ""
    assert relay.rest_of(2, "a repaired answer") is None
    assert StreamRelay(RelayMode.drafts).rest_of(1, "scored") == "scored"


@pytest.mark.parametrize("first_send_s", [0.0, 0.05])
def test_a_stream_gives_its_place_back_when_the_client_leaves_before_the_first_chunk(
    first_send_s: float,
) -> None:
    """The client is gone while the response's headers are being sent: the body's generator
    never starts (so its own `finally` could not give the place back)."""

    async def scenario() -> int:
        waiters = FinishWaiters("redis://unused", limit=1, reader_threads=1)
        place = waiters.reserve()
        started = []

        async def body():
            started.append(True)
            yield "data: never\n\n"

        async def receive() -> dict:
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            await asyncio.sleep(first_send_s if message["type"] == "http.response.start" else 1)

        scope = {"type": "http", "asgi": {"spec_version": "2.3"}}
        await PlacedStreamingResponse(body(), place)(scope, receive, send)
        if first_send_s:
            assert not started
        return waiters.held

    assert asyncio.run(scenario()) == 0


def test_a_gap_in_the_stream_stops_live_text_and_the_ending_fills_it() -> None:
    """Pieces were trimmed from the stream (MAXLEN) or a write was lost: nothing after the gap
    is shown live, and the client still ends with exactly the accepted output."""
    relay = StreamRelay(RelayMode.live)
    shown = _shown(relay.text(1, "Hello ", 0) + relay.text(1, "there", 6))
    shown += _shown(relay.text(1, "friend", 20) + relay.text(1, "!", 26))  # 11..20 lost
    output = "Hello there, my good friend!"
    assert shown == "Hello there"
    assert shown + (relay.rest_of(1, output) or "") == output
    drafts = StreamRelay(RelayMode.drafts)
    drafts.text(1, "Hello ", 0)
    drafts.text(1, "friend", 20)
    assert drafts.rest_of(1, "Hello friend") is None  # said as output_replaced
