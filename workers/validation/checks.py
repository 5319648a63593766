"""The format validators: non-empty and not an echo, length and shape bounds, allowed values,
banned claims, and JSON Schema after a cheap repair."""

import re
from dataclasses import dataclass
from typing import Any

from genroute.interfaces import ValidationInput, Verdict
from genroute.runtime.schemas import SafeValidator
from genroute.workers.validation.repair import parse_json_object

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", re.MULTILINE)
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class NotEmptyNorEcho:
    """Something was said, and it is not the prompt or input handed back."""

    check_echo: bool
    name: str = "non_empty"

    def check(self, subject: ValidationInput) -> Verdict:
        output = subject.output.strip()
        if not output:
            return Verdict(self.name, False, {"reason": "the output is empty"})
        if self.check_echo:
            words = _words(output)
            for source, label in ((subject.request_input, "input"), (subject.prompt, "prompt")):
                source_words = _words(source)
                if words and len(words) >= 8 and _contained(words, source_words):
                    return Verdict(self.name, False, {"reason": f"the output repeats the {label}"})
        return Verdict(self.name, True)


def _contained(words: list[str], source: list[str]) -> bool:
    """Whether `words` appear as one contiguous run inside `source`."""
    size = len(words)
    return any(source[i : i + size] == words for i in range(len(source) - size + 1))


@dataclass(frozen=True)
class Bounds:
    """Characters, tokens, bullet count, single line, and a reply not cut off at the limit."""

    min_chars: int
    max_chars: int | None
    max_tokens: int | None
    min_bullets: int | None
    max_bullets: int | None
    single_line: bool
    accept_truncated: bool = False
    name: str = "bounds"

    def check(self, subject: ValidationInput) -> Verdict:
        output = subject.output.strip()
        problems = []
        if len(output) < self.min_chars:
            problems.append(f"{len(output)} characters, fewer than {self.min_chars}")
        if self.max_chars is not None and len(output) > self.max_chars:
            problems.append(f"{len(output)} characters, more than {self.max_chars}")
        if self.max_tokens is not None and subject.tokens_out > self.max_tokens:
            problems.append(f"{subject.tokens_out} tokens, more than {self.max_tokens}")
        bullets = len(_BULLET.findall(output))
        if self.min_bullets is not None and bullets < self.min_bullets:
            problems.append(f"{bullets} bullets, fewer than {self.min_bullets}")
        if self.max_bullets is not None and bullets > self.max_bullets:
            problems.append(f"{bullets} bullets, more than {self.max_bullets}")
        if self.single_line and "\n" in output:
            problems.append("more than one line")
        if subject.finish_reason == "length" and not self.accept_truncated:
            problems.append("cut off at the output-token limit (finish_reason 'length')")
        details: dict[str, Any] = {"chars": len(output), "bullets": bullets}
        if problems:
            details["problems"] = problems
        return Verdict(self.name, not problems, details)


@dataclass(frozen=True)
class AllowedValues:
    """The whole output must be one of a fixed set of labels (case and trim insensitive)."""

    values: tuple[str, ...]
    name: str = "allowed_values"

    def check(self, subject: ValidationInput) -> Verdict:
        answer = subject.output.strip().strip(".\"'`").strip().lower()
        allowed = {value.lower() for value in self.values}
        if answer in allowed:
            return Verdict(self.name, True, {"value": answer})
        return Verdict(self.name, False, {"value": answer[:200], "allowed": sorted(allowed)})


@dataclass(frozen=True)
class BannedClaims:
    """Phrases (case-insensitive) and patterns that must not appear."""

    phrases: tuple[str, ...]
    patterns: tuple[str, ...]
    name: str = "banned_claims"

    def check(self, subject: ValidationInput) -> Verdict:
        lowered = subject.output.lower()
        found = [phrase for phrase in self.phrases if phrase.lower() in lowered]
        found += [
            pattern
            for pattern in self.patterns
            if re.search(pattern, subject.output, re.IGNORECASE)
        ]
        return Verdict(self.name, not found, {"found": found} if found else {})


@dataclass(frozen=True)
class JsonSchema:
    """Parse the output as a JSON object (repairing fences and chatter) and check the schema."""

    schema: dict[str, Any]
    name: str = "json_schema"

    def check(self, subject: ValidationInput) -> Verdict:
        try:
            value, repaired = parse_json_object(subject.output)
        except ValueError as exc:
            return Verdict(self.name, False, {"reason": str(exc)})
        errors = [
            {"path": "/".join(str(p) for p in error.absolute_path), "message": error.message}
            for error in SafeValidator(self.schema).iter_errors(value)
        ][:20]
        return Verdict(self.name, not errors, {"repaired": repaired, "errors": errors})
