"""Claim support: every sentence of a reply should say something the input says. A sentence's
support is the share of its content words that the input also uses (matched on their first
six letters, so "approved" meets "approval" and "Erstattung" meets "erstatten"); function
words (very common in the reply's language, by wordfreq) and the words a summary uses to talk
about the ticket ("customer", "reports", "bittet") do not count. A sentence below the task
type's `min_support`, with at least `min_words` content words, is unsupported and named.

Lexical support catches an added claim in words the ticket never uses ("the refund was already
approved by the manager"); it cannot see a reversed meaning that reuses the ticket's words (that
is the LLM judge's job)."""

from dataclasses import dataclass

import regex
from wordfreq import zipf_frequency

from genroute.interfaces import ValidationInput, Verdict
from genroute.workers.validation.languages import detect_language

# A sentence ends at . ! ? and a space, but not after a number ("am 26. November")
# or an abbreviation ("Dr. Haddad"); lines and bullets end one too.
_SENTENCE_END = regex.compile(
    r"\s*\n+\s*(?:[-*\u2022]\s*)?|(?<!\d\.|\b(?:dr|mr|mrs|ms|hr|fr|nr|st|prof|ca|bzw|vgl|etc)\.)"
    r"(?<=[.!?])\s+",
    regex.IGNORECASE,
)
_WORD = regex.compile(r"\p{L}[\p{L}'-]*")
# Zipf frequency from which a word is a function word of its language ("the", "und", "was").
_FUNCTION_WORD = 6.0
_STEM = 6
# How a summary talks about a ticket, in the languages the checks know: never support.
_SUMMARY_WORDS = frozenset(
    [
        "customer",
        "customers",
        "client",
        "user",
        "reports",
        "reported",
        "states",
        "stated",
        "says",
        "said",
        "asks",
        "asked",
        "requests",
        "requested",
        "wants",
        "wanted",
        "writes",
        "wrote",
        "explains",
        "mentions",
        "complains",
        "summary",
        "ticket",
        "issue",
        "problem",
        "kunde",
        "kunden",
        "kundin",
        "nutzer",
        "meldet",
        "meldete",
        "berichtet",
        "schreibt",
        "bittet",
        "bat",
        "möchte",
        "will",
        "fordert",
        "verlangt",
        "erklärt",
        "beschwert",
        "anfrage",
        "anliegen",
        "client",
        "cliente",
        "demande",
        "signale",
        "usuario",
        "solicita",
        "indica",
    ]
)


def _stem(word: str) -> str:
    return word[:_STEM]


def content_words(text: str, language: str | None) -> list[str]:
    """The words of `text` that carry its meaning, lower-cased."""
    words = [word.lower() for word in _WORD.findall(text)]
    return [
        word
        for word in words
        if len(word) > 2
        and word not in _SUMMARY_WORDS
        and zipf_frequency(word, language or "en") < _FUNCTION_WORD
    ]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


@dataclass(frozen=True)
class ClaimSupport:
    min_support: float
    min_words: int = 2
    name: str = "claim_support"

    def check(self, subject: ValidationInput) -> Verdict:
        source = subject.request_input
        language = detect_language(subject.output) or detect_language(source)
        source_stems = {_stem(word) for word in content_words(source, detect_language(source))}
        scored = []
        for sentence in sentences(subject.output):
            words = content_words(sentence, language)
            if len(words) < self.min_words:
                continue
            supported = [word for word in words if _stem(word) in source_stems]
            scored.append(
                (sentence, len(supported) / len(words), sorted(set(words) - set(supported)))
            )
        unsupported = [
            {"sentence": sentence, "support": round(score, 3), "words_not_in_input": missing}
            for sentence, score, missing in scored
            if score < self.min_support
        ]
        details: dict[str, object] = {
            "min_support": self.min_support,
            "lowest_support": round(min((score for _, score, _ in scored), default=1.0), 3),
        }
        if unsupported:
            details["unsupported"] = unsupported
        return Verdict(self.name, not unsupported, details)
