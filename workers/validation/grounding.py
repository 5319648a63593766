"""Grounding: the facts a reply states must come from the input. Emails and order or ticket ids
are looked up as written; dates by what they mean, in any format (dates.py); numbers and
amounts by value, with locale separators and numbers written in words (numbers.py); names by
the rules of the reply's language (names.py). Whatever is not in the input is listed, by kind,
as ungrounded; the languages judged by are in the details.

A request's attachments are sources too: a fact found only in the text read inside a
screenshot is grounded, and the details say which attachment it was found in. An attachment
with no readable text is named in the details (`could_not_read`): grounding never passes it
over silently."""

import re
from dataclasses import dataclass

import regex

from genroute.interfaces import AttachmentText, ValidationInput, Verdict
from genroute.workers.validation.dates import find_dates, grounded_date
from genroute.workers.validation.languages import detect_language
from genroute.workers.validation.names import name_candidates
from genroute.workers.validation.numbers import NUMBER, number_values, spelled_as_digits, values_in

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENTIFIER = re.compile(r"#?\b[A-Za-z]{1,6}-(?:[A-Za-z0-9]+-)*\d[A-Za-z0-9]*\b|#\d+\b")
# OCR now and then splits an id's digits with a space ("TRK-96 183" for TRK-96183).
_SPLIT_ID = re.compile(r"\b([A-Za-z]{1,6}-\d+) (\d+)\b")
# Words as the name check splits them ("O'Brien" is "O" and "Brien", "E-Mail" "E" and "Mail").
_WORD = regex.compile(r"\p{L}+")


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span blanked, so a fact is judged once, as its own kind."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def _ungrounded_numbers(
    text: str, language: str | None, source: str, source_language: str | None
) -> list[str]:
    """Numbers of `text` no number of `source` can mean; one written in words is listed as
    its digits, marked."""
    known = values_in(spelled_as_digits(source, source_language))
    written = set(NUMBER.findall(text))
    return [
        number if number in written else f"{number} (written in words)"
        for number in NUMBER.findall(spelled_as_digits(text, language))
        if not number_values(number) & known
    ]


def _ungrounded(output: str, source: str) -> dict[str, list[str]]:
    """The facts of `output` that `source` does not hold, by kind."""
    source_language = detect_language(source)
    language = detect_language(output) or source_language
    ungrounded: dict[str, list[str]] = {}

    def flag(kind: str, item: str) -> None:
        if item not in ungrounded.setdefault(kind, []):
            ungrounded[kind].append(item)

    source_lower = source.lower()
    remaining = output
    for kind, pattern in (("emails", _EMAIL), ("ids", _IDENTIFIER)):
        for match in pattern.finditer(remaining):
            if match.group().lstrip("#").lower() not in source_lower:
                flag(kind, match.group())
        remaining = pattern.sub(" ", remaining)
    source_dates = find_dates(source)
    dates = find_dates(remaining)
    for date in dates:
        if not grounded_date(date, source_dates):
            flag("dates", date.text)
    remaining = _without(remaining, [(date.start, date.end) for date in dates])
    for number in _ungrounded_numbers(remaining, language, source, source_language):
        flag("numbers", number)
    source_words = {part.lower() for part in _WORD.findall(source)}
    for candidate in name_candidates(remaining, language):
        missing = [word for word in candidate.split() if word.lower() not in source_words]
        if missing:
            flag("names", " ".join(missing))
    return {kind: items for kind, items in ungrounded.items() if items}


def _as_read(text: str) -> str:
    """Text read inside an image, with its ids' digits joined where OCR split them
    ("TRK-96 183"), beside the reading as it came."""
    joined = _SPLIT_ID.sub(r"\1\2", text)
    return text if joined == text else f"{text}\n{joined}"


def _found_in(
    output: str, source: str, texts: list[AttachmentText], kind: str, item: str
) -> list[str]:
    """The attachments whose text, beside the input, holds `item`."""
    return [
        text.label
        for text in texts
        if item not in _ungrounded(output, f"{source}\n{text.text}").get(kind, [])
    ]


@dataclass(frozen=True)
class Grounding:
    name: str = "grounding"

    def check(self, subject: ValidationInput) -> Verdict:
        output, source = subject.output, subject.request_input
        source_language = detect_language(source)
        language = detect_language(output) or source_language
        details: dict[str, object] = {"languages": {"output": language, "input": source_language}}
        ungrounded = _ungrounded(output, source)
        readable = [
            AttachmentText(text.label, _as_read(text.text))
            for text in subject.attachment_texts
            if text.text
        ]
        if ungrounded and readable:
            shown = "\n".join([source, *(text.text or "" for text in readable)])
            remaining = _ungrounded(output, shown)
            found = {
                item: _found_in(output, source, readable, kind, item) or ["attachments together"]
                for kind, items in ungrounded.items()
                for item in items
                if item not in remaining.get(kind, [])
            }
            if found:
                details["found_in_attachments"] = found
            ungrounded = remaining
        unread = {text.label: text.unread for text in subject.attachment_texts if not text.text}
        if unread:
            details["could_not_read"] = unread
        if ungrounded:
            details["ungrounded"] = ungrounded
        return Verdict(self.name, not ungrounded, details)
