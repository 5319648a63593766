"""Claim support: every sentence of a reply should say something the input says. A sentence's
support is the share of its content words that the input also uses (matched on their first
six letters, so "approved" meets "approval" and "Erstattung" meets "erstatten"); function
words (very common in the reply's language, by wordfreq) and the words a summary uses to talk
about the ticket ("customer", "reports", "bittet") do not count. A sentence below the task
type's `min_support`, with at least `min_words` content words, is unsupported and named.

Lexical support catches an added claim in words the ticket never uses ("the refund was already
approved by the manager"); it cannot see a reversed meaning that reuses the ticket's words (that
is the LLM judge's job).

A summary written in another language than its ticket (an English summary of a German ticket)
is compared through the words' English translations (lexicon.py): a word is supported when it,
or one of its translations, meets a word of the ticket or one of that word's translations.
Where no dictionary is installed for the pair, the check says it could not judge
(`cross_language: not_judged`) and passes: grounding still checks every fact."""

from dataclasses import dataclass

import regex
from wordfreq import zipf_frequency

from genroute.interfaces import ValidationInput, Verdict
from genroute.workers.validation.languages import detect_language
from genroute.workers.validation.lexicon import Meanings, bridge_for

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


def content_words(text: str, language: str | None) -> list[str]:
    """The words of `text` that carry its meaning, lower-cased."""
    words = [word.lower() for word in _WORD.findall(text)]
    return [word for word in words if _content(word, language)]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _content(word: str, language: str | None) -> bool:
    return (
        len(word) > 2
        and word not in _SUMMARY_WORDS
        and zipf_frequency(word, language or "en") < _FUNCTION_WORD
    )


@dataclass(frozen=True)
class ClaimSupport:
    min_support: float
    min_words: int = 2
    name: str = "claim_support"
    # Off only to measure what translation adds (bench/validators.py).
    translate: bool = True

    def check(self, subject: ValidationInput) -> Verdict:
        source = subject.request_input
        source_language = detect_language(source)
        language = detect_language(subject.output) or source_language
        bridge, pairing = (
            bridge_for(language, source_language) if self.translate else (None, "untranslated")
        )
        if pairing == "not_judged":
            return Verdict(self.name, True, {"cross_language": "not_judged"})
        source_words = content_words(source, source_language)
        source_stems = Meanings(source_words, source_language, bridge).all()
        scored = []
        for sentence in sentences(subject.output):
            words = content_words(sentence, language)
            if len(words) < self.min_words:
                continue
            meanings = Meanings(words, language, bridge)
            supported = [word for word in words if meanings.of(word) & source_stems]
            scored.append(
                (sentence, len(supported) / len(words), sorted(set(words) - set(supported)))
            )
        unsupported = [
            {"sentence": sentence, "support": round(score, 3), "words_not_in_input": missing}
            for sentence, score, missing in scored
            if score < self.min_support
        ]
        details: dict[str, object] = {
            "cross_language": pairing,
            "min_support": self.min_support,
            "lowest_support": round(min((score for _, score, _ in scored), default=1.0), 3),
        }
        if unsupported:
            details["unsupported"] = unsupported
        return Verdict(self.name, not unsupported, details)
