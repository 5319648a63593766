"""The validator interface: a pure check of one output, returning a verdict with details."""

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ValidationInput:
    """Everything a validator may look at: the output, what was asked, and limits."""

    output: str
    request_input: str
    prompt: str
    tokens_out: int
    json_schema: dict[str, Any] | None


@dataclass(frozen=True)
class Verdict:
    validator: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)


class Validator(Protocol):
    name: str

    def check(self, subject: ValidationInput) -> Verdict: ...
