"""English translations of words, so claim support can compare a summary with a ticket written in
another language (an English summary of a German ticket shares almost no words with it).

Why dictionaries and not a model: no multilingual sentence-embedding or entailment model installs
as a package with its weights (PyPI, npm and the docs were searched); wordllama, the one package
that ships static embeddings, separates related from unrelated sentence pairs across languages
too weakly to judge (docs/concepts/validation-and-fallback.md has the figures). Debian's FreeDict
dictionaries install with their data: German-English (~520,000 entries), French-English both
ways and French-German. Their translation lines (never their examples or notes) are read once,
streaming, into an SQLite file beside the model cache (`genroute models prepare` builds it, or
else the first check that needs it), which every worker process reads without loading it. Where
the dictionaries are not installed, `lexicon()` is None and claim support says it could not
judge such a summary."""

import functools
import gzip
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from wordfreq import zipf_frequency

DICTIONARY_DIR = Path(os.environ.get("GENROUTE_DICTIONARY_DIR", "/usr/share/dictd"))
# Beside the models (GENROUTE_MODEL_CACHE_DIR, as Settings reads it), built with them.
LEXICON_FILE = (
    Path(os.environ.get("GENROUTE_MODEL_CACHE_DIR", Path.home() / ".cache" / "genroute" / "models"))
    / "lexicon.sqlite3"
)
# language -> (dictionary, direction): "to_english" reads headword -> English translations,
# "from_english" reads English headword -> translations and files them the other way round,
# "via_german" reads headword -> German translations and files those words' English ones (the
# French-English dictionaries are small; French-German is larger). Built in this order.
DICTIONARIES = {
    "de": (("freedict-deu-eng", "to_english"),),
    "fr": (
        ("freedict-fra-eng", "to_english"),
        ("freedict-eng-fra", "from_english"),
        ("freedict-fra-deu", "via_german"),
    ),
}
_B64 = {
    character: value
    for value, character in enumerate(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    )
}
_WORD = re.compile(r"[^\W\d_]+")  # letters of any script
# What a translation line carries beside its words: grammar in <>, notes in () and [].
_MARKUP = re.compile(r"<[^>]*>|\([^)]*\)|\[[^\]]*\]|\b(?:sth|sb|jdn|jdm|etw)\.")
# An unknown word is looked up by its first letters, at least this many, at most this many rows.
_SHORTEST_PREFIX = 5
_MOST_INFLECTED = 60
# Words meet on their first six letters ("approved" meets "approval", "Erstattung" "erstatten").
STEM = 6
# From this Zipf frequency an English translation is a function word ("the", "for"): no meaning.
_FUNCTION_WORD = 6.0
_NOT_TRANSLATIONS = ("Note:", "see:", "Synonym")
# A translation longer than this is a phrase or an explanation, not a word's meaning.
_LONGEST_TRANSLATION = 3


def _number(text: str) -> int:
    value = 0
    for character in text:
        value = value * 64 + _B64[character]
    return value


def _entries(name: str) -> Iterator[str]:
    """A dictd dictionary's entries in file order, streamed from its compressed data."""
    spans = []
    with (DICTIONARY_DIR / f"{name}.index").open(encoding="utf-8") as index:
        for line in index:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and not parts[0].startswith("00-database"):
                spans.append((_number(parts[1]), _number(parts[2])))
    with gzip.open(DICTIONARY_DIR / f"{name}.dict.dz") as data:
        for offset, length in sorted(set(spans)):
            data.seek(offset)
            yield data.read(length).decode("utf-8", "replace")


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(_MARKUP.sub(" ", text)) if len(word) > 2]


def _pairs(entry: str, direction: str) -> Iterator[tuple[str, str]]:
    """(word in the other language, English word) pairs of one entry."""
    headline, *lines = entry.split("\n")
    headword = headline.split(" /", 1)[0].split(" <", 1)[0].strip().lower()
    translations = []
    for line in lines:  # translations first; examples, notes and cross-references indented
        if not line.strip() or line.startswith("  ") or line.lstrip().startswith(_NOT_TRANSLATIONS):
            break
        translations += [_words(item) for item in line.split(",")]
    translations = [words for words in translations if 0 < len(words) <= _LONGEST_TRANSLATION]
    if direction in ("to_english", "via_german"):
        if _WORD.fullmatch(headword):
            for english in {word for words in translations for word in words}:
                yield headword, english
        return
    for words in translations:
        if len(words) == 1:
            for english in _words(headword):
                yield words[0], english


def _through_german(
    db: sqlite3.Connection, rows: Iterable[tuple[str, str, str]]
) -> Iterator[tuple[str, str, str]]:
    """(language, word, German word) rows as (language, word, English word), by the German table
    built before them."""
    for language, word, german in rows:
        query = "SELECT english FROM translation WHERE language = 'de' AND word = ?"
        for (english,) in db.execute(query, (german,)).fetchall():
            yield language, word, english


def build(target: Path | None = None) -> Path:
    """Read the installed dictionaries into `target` (the lexicon file unless given), replacing
    it whole, so a reader never sees half of it."""
    target = target or LEXICON_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(handle)
    with sqlite3.connect(partial) as db:
        db.execute(
            "CREATE TABLE translation (language TEXT, word TEXT, english TEXT,"
            " PRIMARY KEY (language, word, english)) WITHOUT ROWID"
        )
        for language, sources in DICTIONARIES.items():
            for name, direction in sources:
                if (DICTIONARY_DIR / f"{name}.index").exists():
                    rows = (
                        (language, word, english)
                        for entry in _entries(name)
                        for word, english in _pairs(entry, direction)
                    )
                    if direction == "via_german":
                        rows = _through_german(db, rows)
                    db.executemany("INSERT OR IGNORE INTO translation VALUES (?, ?, ?)", rows)
    os.chmod(partial, 0o644)  # read by every worker, whoever runs it
    os.replace(partial, target)
    return target


def installed() -> bool:
    return any((DICTIONARY_DIR / f"{name}.index").exists() for name, _ in DICTIONARIES["de"])


class Lexicon:
    """Lookups in a built lexicon file, read-only, shared by every process on the machine."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.languages = frozenset(
            row[0] for row in self._db.execute("SELECT DISTINCT language FROM translation")
        )

    def english(self, words: Iterable[str], language: str) -> dict[str, set[str]]:
        """Each word's English translations; a compound the dictionary lacks ("Rechnungsdownload")
        is translated by its longest known head and the modifier before it."""
        words = set(words)
        found = self._lookup(words, language)
        for word in words - found.keys():
            found[word] = self._inflected(word, language) or self._compound(word, language)
        return found

    def _inflected(self, word: str, language: str) -> set[str]:
        """The translations of the entries that start as `word` does without its ending
        ("remboursé": "rembourser", "remboursement")."""
        prefix = word[: max(_SHORTEST_PREFIX, len(word) - 2)]
        query = (
            "SELECT english FROM translation WHERE language = ? AND word >= ? AND word < ?"
            f" LIMIT {_MOST_INFLECTED}"
        )
        rows = self._db.execute(query, (language, prefix, prefix + "\uffff"))
        return {english for (english,) in rows}

    def _lookup(self, words: set[str], language: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        marks = ",".join("?" * len(words))
        query = f"SELECT word, english FROM translation WHERE language = ? AND word IN ({marks})"
        for word, english in self._db.execute(query, [language, *words]):
            found.setdefault(word, set()).add(english)
        return found

    def _compound(self, word: str, language: str) -> set[str]:
        splits = [(word[:cut], word[cut:]) for cut in range(3, len(word) - 3)]
        if not splits:
            return set()
        parts = {part for split in splits for part in split}
        parts |= {modifier[:-1] for modifier, _ in splits if modifier.endswith("s")}
        known = self._lookup(parts, language)
        for modifier, head in splits:  # the longest head first
            if head in known:
                base = (
                    modifier[:-1] if modifier not in known and modifier.endswith("s") else modifier
                )
                return known[head] | known.get(base, set())
        return set()


@functools.cache
def lexicon() -> Lexicon | None:
    """The lexicon, built on first use where the dictionaries are installed; None where not."""
    if not LEXICON_FILE.exists():
        if not installed():
            return None
        build()
    return Lexicon(LEXICON_FILE)


@functools.lru_cache(maxsize=65_536)
def _meaningful(english: str) -> bool:
    """Not an English function word ("the", "for"): translations repeat, so this is cached."""
    return zipf_frequency(english, "en") < _FUNCTION_WORD


def stem(word: str) -> str:
    return word[:STEM]


class Meanings:
    """The stems each word stands for: its own, and through `bridge` its English translations'
    (a word in English stands for itself)."""

    def __init__(self, words: list[str], language: str | None, bridge: Lexicon | None) -> None:
        lower = [word.lower() for word in words]
        translations = bridge.english(lower, language) if bridge and language != "en" else {}
        self._stems = {
            word: {stem(word)}
            | {stem(english) for english in translations.get(word, ()) if _meaningful(english)}
            for word in lower
        }

    def of(self, word: str) -> set[str]:
        return self._stems[word.lower()]

    def all(self) -> set[str]:
        return set().union(*self._stems.values())


def bridge_for(language: str | None, source_language: str | None) -> tuple[Lexicon | None, str]:
    """The lexicon when a reply and its input are in two known languages, and what a check can
    say of that pair: "same_language", "translated" or "not_judged" (no dictionary for it)."""
    if not language or not source_language or language == source_language:
        return None, "same_language"
    bridge = lexicon()
    if bridge is None or not {language, source_language} - {"en"} <= bridge.languages:
        return None, "not_judged"
    return bridge, "translated"
