"""Grounding: the facts a reply states must come from the input. Emails and order or ticket ids
are looked up as written; dates by what they mean, in any format (dates.py); numbers and
amounts by value, with locale separators and numbers written in words (numbers.py); names by
the rules of the reply's language (names.py). Whatever is not in the input is listed, by kind,
as ungrounded; the languages judged by are in the details."""

import re
from dataclasses import dataclass

import regex

from genroute.interfaces import ValidationInput, Verdict
from genroute.workers.validation.dates import find_dates, grounded_date
from genroute.workers.validation.languages import detect_language
from genroute.workers.validation.names import name_candidates
from genroute.workers.validation.numbers import NUMBER, number_values, spelled_as_digits, values_in

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENTIFIER = re.compile(r"#?\b[A-Za-z]{1,6}-(?:[A-Za-z0-9]+-)*\d[A-Za-z0-9]*\b|#\d+\b")
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


@dataclass(frozen=True)
class Grounding:
    name: str = "grounding"

    def check(self, subject: ValidationInput) -> Verdict:
        output, source = subject.output, subject.request_input
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
        details: dict[str, object] = {"languages": {"output": language, "input": source_language}}
        ungrounded = {kind: items for kind, items in ungrounded.items() if items}
        if ungrounded:
            details["ungrounded"] = ungrounded
        return Verdict(self.name, not ungrounded, details)
