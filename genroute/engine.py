"""The engine interface every model backend implements, with its typed inputs and results."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for an engine: the task type's system prompt, the rendered prompt, a bound.

    `choices`, when given, are the only acceptable outputs (a classification's labels); an
    engine that can score them picks the likeliest instead of generating freely.
    """

    system_prompt: str
    prompt: str
    max_output_tokens: int
    choices: tuple[str, ...] = ()


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
