"""Claim support across languages: Debian's dictionaries read into a lexicon (their translation
lines only, never examples or notes), lookups of inflected words and compounds, and summaries in
another language than their ticket judged through it, or said to be unjudged without it."""

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from genroute.interfaces import ValidationInput
from genroute.workers.validation import lexicon
from genroute.workers.validation.claims import ClaimSupport

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
GERMAN_ENGLISH = [
    "Rechnung /rechnung/ <fem, n, sg>\ninvoice <n>, bill <n>\n"
    '      "Die Rechnung war falsch."  - The invoice was wrong.\n'
    "   Synonym: {Faktura}\n\n",
    "herunterladen /herunterladen/ <v>\ndownload <v>\n see: {heruntergeladen}\n",
    "Versand /versand/ <masc, n, sg>\nshipping <n>, dispatch <n>\n         Note: of goods\n",
    "erstatten /erstatten/ <v>\nrefund sth. <v>, reimburse <v>\n",
]
GERMAN_TICKET = (
    "Hallo, ich kann meine Rechnung für März nicht herunterladen. Der Link im Kundenkonto zeigt "
    "nur eine Fehlermeldung. Bitte schicken Sie mir die Rechnung per E-Mail. Grüße, Petra Hoffmann"
)
GROUNDED = (
    "Petra Hoffmann cannot download her March invoice because the link in the customer account "
    "only shows an error; she asks for the invoice by email."
)
INVENTED = "Petra Hoffmann cannot download her March invoice. Support already promised a voucher."


def _base64(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 64)
        digits = _B64[digit] + digits
        if not number:
            return digits


def write_dictd(folder: Path, name: str, entries: list[str]) -> None:
    """A dictionary in dictd's format, as Debian's FreeDict packages install them."""
    data, index, offset = b"", [], 0
    for entry in entries:
        raw = entry.encode()
        headword = entry.split(" /", 1)[0]
        index.append(f"{headword}\t{_base64(offset)}\t{_base64(len(raw))}")
        data, offset = data + raw, offset + len(raw)
    (folder / f"{name}.index").write_text("\n".join(sorted(index)) + "\n", encoding="utf-8")
    (folder / f"{name}.dict.dz").write_bytes(gzip.compress(data))


@pytest.fixture
def fresh_lexicon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The lexicon module reading dictionaries from, and building into, `tmp_path`."""
    monkeypatch.setattr(lexicon, "DICTIONARY_DIR", tmp_path)
    monkeypatch.setattr(lexicon, "LEXICON_FILE", tmp_path / "lexicon.sqlite3")
    lexicon.lexicon.cache_clear()
    yield tmp_path
    lexicon.lexicon.cache_clear()


def test_translation_lines_are_read_and_examples_notes_and_references_are_not(
    fresh_lexicon: Path,
) -> None:
    write_dictd(fresh_lexicon, "freedict-deu-eng", GERMAN_ENGLISH)
    built = lexicon.lexicon()
    assert built is not None and built.languages == {"de"}
    found = built.english(["rechnung", "herunterladen", "versand"], "de")
    assert found == {
        "rechnung": {"invoice", "bill"},
        "herunterladen": {"download"},
        "versand": {"shipping", "dispatch"},
    }


def test_inflected_words_and_compounds_are_translated_by_their_parts(fresh_lexicon: Path) -> None:
    write_dictd(fresh_lexicon, "freedict-deu-eng", GERMAN_ENGLISH)
    built = lexicon.lexicon()
    assert built is not None
    found = built.english(["erstattet", "rechnungsversand", "hoffmann"], "de")
    assert found["erstattet"] == {"refund", "reimburse"}  # by its first letters
    assert found["rechnungsversand"] == {"shipping", "dispatch", "invoice", "bill"}
    assert found["hoffmann"] == set()


def test_without_dictionaries_a_summary_in_another_language_is_not_judged(
    fresh_lexicon: Path,
) -> None:
    verdict = ClaimSupport(0.3).check(ValidationInput(INVENTED, GERMAN_TICKET, "", 96, None))
    assert lexicon.lexicon() is None
    assert verdict.passed and verdict.details == {"cross_language": "not_judged"}


needs_dictionaries = pytest.mark.skipif(
    not lexicon.installed(),
    reason="Debian's FreeDict dictionaries are not installed (python3 dev.py setup installs "
    "them where it runs as root with apt)",
)


@needs_dictionaries
def test_an_english_summary_of_a_german_ticket_is_supported_through_translation() -> None:
    check = ClaimSupport(0.3)
    verdict = check.check(ValidationInput(GROUNDED, GERMAN_TICKET, "", 96, None))
    assert verdict.passed, verdict.details
    assert verdict.details["cross_language"] == "translated"
    untranslated = ClaimSupport(0.3, translate=False)
    assert not untranslated.check(ValidationInput(GROUNDED, GERMAN_TICKET, "", 96, None)).passed


@needs_dictionaries
def test_an_invented_claim_in_another_language_is_still_unsupported() -> None:
    verdict = ClaimSupport(0.3).check(ValidationInput(INVENTED, GERMAN_TICKET, "", 96, None))
    assert not verdict.passed
    (unsupported,) = verdict.details["unsupported"]
    assert unsupported["sentence"] == "Support already promised a voucher."
