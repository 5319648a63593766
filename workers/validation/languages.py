"""Which language a text is in, for the checks that judge words per language (names, spelled
numbers, month names). Lingua ships its models in the wheel and runs offline; it is built once
per process, over the languages genroute's checks know."""

import functools

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# ISO 639-1 codes of the languages the checks have word lists for.
KNOWN = {
    Language.ENGLISH: "en",
    Language.GERMAN: "de",
    Language.FRENCH: "fr",
    Language.SPANISH: "es",
    Language.ITALIAN: "it",
    Language.DUTCH: "nl",
    Language.PORTUGUESE: "pt",
}
# Below this confidence a short text's language is not trusted (a bare "Order A-1 refund").
MIN_CONFIDENCE = 0.5


@functools.cache
def _detector() -> LanguageDetector:
    # Trigram models only: they load at once (the full models take seconds in every worker
    # process) and tell these languages apart on a reply's few sentences.
    return LanguageDetectorBuilder.from_languages(*KNOWN).with_low_accuracy_mode().build()


def encodable(text: str) -> str:
    """`text` as the checks' native libraries take it: a lone surrogate (which JSON can carry,
    as an escaped "\\ud800") becomes "?" instead of failing the check."""
    return text.encode("utf-8", "replace").decode("utf-8")


def detect_language(text: str) -> str | None:
    """The text's language as an ISO 639-1 code, or None when it is not clearly one."""
    if not any(character.isalpha() for character in text):
        return None
    confidences = _detector().compute_language_confidence_values(encodable(text))
    if not confidences or confidences[0].value < MIN_CONFIDENCE:
        return None
    return KNOWN.get(confidences[0].language)


def language_of(output: str, source: str) -> str | None:
    """The output's language, else (a reply too short to tell) the source's."""
    return detect_language(output) or detect_language(source)
