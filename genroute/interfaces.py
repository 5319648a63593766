"""The two plug-in interfaces and what they exchange: an Engine turns prompts into generations,
a Validator checks one output and returns a Verdict. Small protocols, typed inputs and results."""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# What stands in for the ticket in calibration prompts: inputs that say nothing (Zhao et al.).
CONTENT_FREE_INPUTS = ("N/A", "", "[MASK]")


@dataclass(frozen=True)
class ImageInput:
    """One image for a model: an image attachment, or a frame sampled from a video one (its
    `label` then says when, as `mm:ss`). The bytes were decoded and bounded at submit."""

    media_type: str
    data: bytes = field(repr=False)
    label: str = ""


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for an engine: the task type's system prompt, the rendered prompt, a bound.

    `choices`, when given, are the only acceptable outputs (a classification's labels); an
    engine that can score them picks the likeliest instead of generating freely. `cancel`, once
    set, means nobody wants the answer any more (the attempt lost its claim): an engine that
    can stop early (a streamed HTTP reply, a request still waiting for its batch) should.
    """

    system_prompt: str
    prompt: str
    max_output_tokens: int
    choices: tuple[str, ...] = ()
    # The JSON Schema the output must meet, for engines that can decode under one.
    json_schema: dict[str, Any] | None = None
    # The prompt with content-free inputs in place of the ticket, for engines that correct
    # their label prior with them (contextual calibration); only with `choices`.
    calibration_prompts: tuple[str, ...] = ()
    # A conversation's (role, content) turns, sent as given instead of system + prompt.
    messages: tuple[tuple[str, str], ...] = ()
    # The producer's sampling temperature, for engines that sample (None: the engine's own).
    temperature: float | None = None
    # Images the user's last turn shows the model, before its text (attachments and video
    # frames, in the request's order); only paths whose model takes them are given any.
    images: tuple[ImageInput, ...] = field(default=(), compare=False, repr=False)
    cancel: threading.Event | None = field(default=None, compare=False, repr=False)
    # Called with each new piece of output as the engine makes it (a token's text, or a whole
    # canvas's), for callers who stream; engines that cannot stream never call it.
    on_output: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def chat_messages(self) -> list[dict[str, str]]:
        """The turns a chat template or chat API takes: the conversation's own (with the
        system prompt first when it brings none), else the system prompt and the prompt."""
        if not self.messages:
            return [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": self.prompt},
            ]
        turns = [{"role": role, "content": content} for role, content in self.messages]
        if turns[0]["role"] != "system":
            turns.insert(0, {"role": "system", "content": self.system_prompt})
        return turns


@dataclass(frozen=True)
class Generation:
    """What an engine produced for one request of a batch."""

    text: str
    tokens_in: int
    tokens_out: int
    started_at: datetime
    first_output_at: datetime | None
    finished_at: datetime
    facts: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A model backend. `generate` returns one Generation per request, in order."""

    name: str
    model: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]: ...


@dataclass(frozen=True)
class AttachmentText:
    """The text read inside one attachment (its image, or its video's frames), for checks that
    ground an output in what the request showed. `text` None: nothing could be read there,
    and `unread` says why (no text found, no reader installed, the reading failed)."""

    label: str
    text: str | None
    unread: str = ""


@dataclass(frozen=True)
class ValidationInput:
    """Everything a validator may look at: the output, what was asked, and limits.
    `finish_reason` is the engine's: "stop" (the model ended its reply) or "length" (cut off
    at the output-token bound)."""

    output: str
    request_input: str
    prompt: str
    tokens_out: int
    json_schema: dict[str, Any] | None
    finish_reason: str | None = None
    # What was read inside the request's attachments, in order (for grounding).
    attachment_texts: tuple[AttachmentText, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One validator's judgement of one output, with what it found."""

    validator: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)


class Validator(Protocol):
    """A pure check of one output; it never raises on bad output, it fails the verdict."""

    name: str

    def check(self, subject: ValidationInput) -> Verdict: ...
