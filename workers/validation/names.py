"""Which capitalised words of a reply name something (a person, a product, a place) and so must
come from the input. In English, French or Spanish a capital inside a sentence marks a name.
German capitalises every noun, so there a capitalised word is a name only when it is not an
ordinary German word: one that is common in German text (wordfreq's Zipf frequency, shipped in
the wheel) and rare in English, where names and international words are just as common
("Lieferung", "Angaben", but not "Maria", "Hoffmann" or "Software"), or a compound ending in
one ("Systemarchitektur"), or a compound's head with its linking s ("Abrechnungs-"), or one of
the English loanwords tickets use as nouns ("Update", "Account", inflected: "des Pakets"), or a
noun right after an article or an inflected adjective ("die bestellte Ware"). A run of ordinary
nouns ("Prozess Update", a subject line's stack) names nothing, nor does a hyphenated compound
of ordinary parts ("Team-Pakets"); a word after a title (Herr, Frau, Dr.) is always a
name."""

import functools

import regex
from wordfreq import zipf_frequency


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Languages that capitalise their nouns, and the words before a noun there.
NOUN_CAPITALISING = {"de"}
_GERMAN_DETERMINERS = _word_set(
    "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner "
    "mein meine meinen meinem meiner dein deine ihr ihre ihren ihrem ihrer sein seine seinen "
    "seinem unser unsere unseren euer eure im am zum zur vom beim ins ans aufs diese dieser "
    "dieses diesen diesem jede jeder jedes jeden alle allen welche welcher"
)
_TITLES = _word_set("herr herrn frau dr prof mr mrs ms miss sir madame monsieur señor señora")
# Capitalised words that are not names of anything the input must contain.
_COMMON = _word_set(
    "i the a an this that these those it its he she they we you your our my his her their "
    "please thanks thank hello hi dear regards customer customers order orders ticket tickets "
    "support team summary refund replacement monday tuesday wednesday thursday friday "
    "saturday sunday january february march april may june july august september october "
    "november december json yes no none null ok euro euros dollar dollars cent cents pfund "
    "franken"
)
# English words German support tickets use as ordinary nouns ("nach dem Update", "Account
# gesperrt"): as common in German text as in English, so frequency alone cannot tell them from
# names like "Maria".
_GERMAN_LOANWORDS = _word_set(
    "update updates upgrade login logout account accounts feedback newsletter software "
    "hardware support service team ticket tickets status email mail online shop app apps "
    "download upload link browser server cloud website homepage portal dashboard tool "
    "account-daten chat hotline laptop smartphone tablet headset router bug backup "
    "cookie cookies passwort-reset reset token voucher gutschein-code code codes paket"
)
_NOT_NAMES = _COMMON | _TITLES
# A run of capitalised words (with Unicode letters: "Müller", "Łukasz"), camel-case product
# names ("ThinkPad", "AirPods") and i-names ("iPhone") included.
_NAME = regex.compile(
    r"\b(?:\p{Lu}\p{Ll}+(?:\p{Lu}\p{L}+)*|i\p{Lu}\p{Ll}+)"
    r"(?:[ '-](?:\p{Lu}\p{Ll}+(?:\p{Lu}\p{L}+)*|i\p{Lu}\p{Ll}+))*\b"
)
_SENTENCE_START = regex.compile(r"(?:[.!?:]\s+|\n\s*(?:[-*\u2022]\s*)?)")
_PREVIOUS_WORD = regex.compile(r"(\p{L}+)\.?\s+$")
# Endings of inflected German nouns (genitive, plural) and of attributive adjectives.
_NOUN_ENDINGS = ("s", "es", "n", "en", "e")
_ADJECTIVE_ENDINGS = ("e", "en", "er", "es", "em")
# Zipf frequencies: an ordinary German word is at least this common in German ...
_GERMAN_COMMON = 2.0
# ... and rarer than this in English (names and loanwords are common in both).
_ENGLISH_RARE = 2.5
# A compound's tail or a hyphenated compound's last part this common is an ordinary word.
_GERMAN_FREQUENT = 3.0
# Nouns this common stack in subject lines ("Prozess Update"); rarer ones make up names
# ("Vorwerk Kobold", both near 3.1).
_GERMAN_EVERYDAY = 3.5


@functools.cache
def ordinary_german(word: str) -> bool:
    """Whether `word` is an ordinary German word rather than a name: German-specific itself,
    or a compound with a German-specific tail ("Systemarchitektur"), or a German-specific head
    and a common tail ("Kaufdatum")."""
    lower = word.lower()
    if _german_specific(lower) or lower in _GERMAN_LOANWORDS:
        return True
    if lower.endswith("s") and len(lower) > 5 and _german_specific(lower[:-1]):
        return True  # a compound's head with its linking s ("Abrechnungs- und Zahlungsdaten")
    for ending in _NOUN_ENDINGS:  # an inflected loanword ("des Pakets", "die Updates")
        if lower.endswith(ending) and lower[: -len(ending)] in _GERMAN_LOANWORDS:
            return True
    for cut in range(3, len(lower) - 4):
        head, tail = lower[:cut], lower[cut:]
        if _german_specific(tail):
            return True
        if cut >= 4 and _german_specific(head) and _german_word(tail):
            return True
    return False


def _everyday_noun(word: str) -> bool:
    """A noun too common to name anything when it stands with others ("Prozess Update"), unlike
    rarer German words that make up product names ("Vorwerk Kobold")."""
    lower = word.lower()
    everyday = zipf_frequency(lower, "de") >= _GERMAN_EVERYDAY
    return lower in _GERMAN_LOANWORDS or (everyday and ordinary_german(word))


def _german_specific(lower: str) -> bool:
    return (
        zipf_frequency(lower, "de") >= _GERMAN_COMMON
        and zipf_frequency(lower, "en") < _ENGLISH_RARE
    )


def _german_word(lower: str) -> bool:
    return zipf_frequency(lower, "de") >= _GERMAN_FREQUENT


def _sentence_starts(text: str) -> set[int]:
    """Offsets where a sentence or line begins: a capital there proves nothing."""
    return {0} | {match.end() for match in _SENTENCE_START.finditer(text)}


def _after_adjective(previous: str) -> bool:
    """Whether the word before a German capitalised word is an inflected adjective or participle
    ("eines neuen Mixers", "die bestellte Ware"): then that word is a noun, not a name."""
    return previous[:1].islower() and len(previous) > 3 and previous.endswith(_ADJECTIVE_ENDINGS)


def _names_in_run(
    words: list[str], previous: str, at_start: bool, after_hyphen: bool, language: str | None
) -> list[str]:
    """The words of one run of capitalised words that name something. `previous` is the word
    before the run, as written; a word after a title is always a name. In German, two or more
    capitalised words in a row ("Jonas Hoffmann", "ein Kindle Paperwhite", "Vorwerk Kobold") name
    something, since the nouns of ordinary prose stand apart, once ordinary nouns in front are
    set aside ("Kundin Sabine Krüger"); a lone one is a name only if it is no ordinary German
    word."""
    noun_position = _after_adjective(previous) and not at_start
    previous = previous.lower()
    if at_start and words and words[0].lower() not in _TITLES:
        words, previous, at_start = words[1:], words[0].lower(), False
    if language in NOUN_CAPITALISING and len(words) >= 2:
        if all(_everyday_noun(word) for word in words):  # "Prozess Update": a subject line
            return []
        if not all(ordinary_german(word) for word in words):  # "Kundin Sabine Krüger"
            while words and ordinary_german(words[0]):
                previous, words = words[0].lower(), words[1:]
        if len(words) >= 2:
            language = None
    kept = []
    for index, word in enumerate(words):
        before = words[index - 1].lower() if index else previous
        lower = word.lower()
        if lower in _NOT_NAMES:
            continue
        if before in _TITLES:
            kept.append(word)
            continue
        if language in NOUN_CAPITALISING:
            if index == 0 and (previous in _GERMAN_DETERMINERS or noun_position):
                continue
            if index == 0 and after_hyphen and _german_word(lower):  # E-Mail, Online-Shop
                continue
            if ordinary_german(word):
                continue
        kept.append(word)
    return kept


def _ordinary_compound(run: str) -> bool:
    """A hyphenated German compound ("Team-Pakets", "Login-Prozess") is one noun, ordinary when
    every part is (not "Dyson-Sauger")."""
    parts = run.split("-")
    return len(parts) > 1 and " " not in run and all(ordinary_german(part) for part in parts)


def name_candidates(text: str, language: str | None) -> list[str]:
    """The words of `text` that name something, as runs ("Maria Lopez"), judged by the
    rules of `language` (None: the English rules)."""
    starts = _sentence_starts(text)
    found = []
    for match in _NAME.finditer(text):
        before = _PREVIOUS_WORD.search(text, 0, match.start())
        previous = before.group(1) if before else ""
        after_hyphen = match.start() > 0 and text[match.start() - 1] == "-"
        run = match.group()
        if language in NOUN_CAPITALISING and _ordinary_compound(run):
            continue
        words = run.replace("-", " ").replace("'", " ").split()
        kept = _names_in_run(words, previous, match.start() in starts, after_hyphen, language)
        if kept:
            found.append(" ".join(kept))
    return found
