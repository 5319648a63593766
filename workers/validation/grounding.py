"""Grounding: the facts a reply states must come from the input. Emails, order and ticket ids,
dates, numbers and amounts, and capitalised names found in the output are looked up in the
input; whatever is not there is listed as ungrounded."""

import re
from dataclasses import dataclass

from genroute.interfaces import ValidationInput, Verdict

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IDENTIFIER = re.compile(r"#?\b[A-Za-z]{1,6}-(?:[A-Za-z0-9]+-)*\d[A-Za-z0-9]*\b|#\d+\b")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ '-][A-Z][a-z]+)*\b")
# Capitalised words that are not names of anything the input must contain.
_COMMON_WORDS = (
    "i the a an this that these those it its he she they we you your our my his her their "
    "please thanks thank hello hi dear regards customer customers order orders ticket tickets "
    "support team summary the refund replacement monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october "
    "november december json yes no none null ok"
)
_COMMON = frozenset(_COMMON_WORDS.split())


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _sentence_starts(text: str) -> set[int]:
    """Offsets where a sentence or line begins: a capital there proves nothing."""
    starts = {0}
    for match in re.finditer(r"(?:[.!?:]\s+|\n\s*(?:[-*\u2022]\s*)?)", text):
        starts.add(match.end())
    return starts


@dataclass(frozen=True)
class Grounding:
    name: str = "grounding"

    def check(self, subject: ValidationInput) -> Verdict:
        output, source = subject.output, subject.request_input
        source_lower = source.lower()
        ungrounded: dict[str, list[str]] = {}
        remaining = output

        def flag(kind: str, item: str) -> None:
            if item not in ungrounded.setdefault(kind, []):
                ungrounded[kind].append(item)

        for kind, pattern in (("emails", _EMAIL), ("ids", _IDENTIFIER), ("dates", _DATE)):
            for match in pattern.finditer(remaining):
                if match.group().lstrip("#").lower() not in source_lower:
                    flag(kind, match.group())
            remaining = pattern.sub(" ", remaining)
        source_numbers = {_digits(n) for n in _NUMBER.findall(source)}
        for number in _NUMBER.findall(remaining):
            if _digits(number) not in source_numbers:
                flag("numbers", number)
        source_words = set(re.findall(r"[a-z']+", source_lower))
        starts = _sentence_starts(remaining)
        for match in _NAME.finditer(remaining):
            words = match.group().replace("-", " ").replace("'", " ").split()
            if match.start() in starts:
                words = words[1:]
            missing = [
                w for w in words if w.lower() not in _COMMON and w.lower() not in source_words
            ]
            if missing:
                flag("names", " ".join(missing))
        ungrounded = {kind: items for kind, items in ungrounded.items() if items}
        return Verdict(self.name, not ungrounded, {"ungrounded": ungrounded} if ungrounded else {})
