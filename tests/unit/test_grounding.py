"""Grounding per language and format: German nouns are not names, dates match across formats
and languages, amounts across locale separators and in words, and unrelated digits never
match."""

import pytest

from genroute.interfaces import ValidationInput
from genroute.workers.validation.dates import find_dates, grounded_date
from genroute.workers.validation.grounding import Grounding
from genroute.workers.validation.languages import detect_language
from genroute.workers.validation.names import name_candidates, ordinary_german
from genroute.workers.validation.numbers import number_values, spelled_as_digits

GERMAN_TICKET = (
    "Guten Tag, ich bin Sabine Krüger. Meine Bestellung #B-4471 vom 20.11.2026 über 1.249,99 € "
    "ist beschädigt angekommen: das Gehäuse der Waschmaschine hat einen Riss. Ich bitte um "
    "Ersatz oder Erstattung. Viele Grüße"
)
ENGLISH_TICKET = (
    "Hi, Maria Lopez here. Order #A-10293 from 2026-11-02 cost $1,249.99 and arrived broken. "
    "I was charged 10.5 EUR shipping. Reach me at maria.lopez@example.com."
)


def check(output: str, source: str):
    return Grounding().check(ValidationInput(output, source, source, 64, None))


def ungrounded(output: str, source: str) -> dict:
    return check(output, source).details.get("ungrounded", {})


@pytest.mark.parametrize(
    "summary",
    [
        "Die Kundin Sabine Krüger meldet, dass ihre Waschmaschine (Bestellung B-4471) mit einem "
        "Riss im Gehäuse angekommen ist; sie möchte Ersatz oder eine Erstattung.",
        "Frau Krüger bittet wegen eines Transportschadens um Ersatz für die Bestellung B-4471 "
        "über 1.249,99 € vom 20. November 2026.",
        "Laut Kundin fehlen keine Angaben zur Systemarchitektur; die Lieferung war beschädigt.",
    ],
)
def test_german_nouns_are_not_names(summary: str) -> None:
    verdict = check(summary, GERMAN_TICKET)
    assert verdict.passed, verdict.details
    assert verdict.details["languages"] == {"output": "de", "input": "de"}


def test_german_names_and_products_are_still_checked() -> None:
    found = ungrounded(
        "Laut Jonas Hoffmann von der Firma Dyson wurde der Ersatz zugesagt; Herr Becker prüft das.",
        GERMAN_TICKET,
    )
    assert found["names"] == ["Jonas Hoffmann", "Dyson", "Becker"]
    assert name_candidates("Die Rückerstattung für die Software kam an.", "de") == []
    assert ordinary_german("Systemarchitektur") and not ordinary_german("Hoffmann")


@pytest.mark.parametrize(
    "written", ["2026-11-20", "20.11.2026", "20.11.26", "20 November 2026", "November 20th",
                "am 20. November", "20 de noviembre de 2026", "Nov 20, 2026", "20/11/2026"],
)  # fmt: skip
def test_a_date_matches_in_any_format(written: str) -> None:
    assert check(f"Die Bestellung kam am {written}.", GERMAN_TICKET).passed
    assert "dates" in ungrounded(f"Delivered on {written}.", "Delivered on 2026-11-21.")


def test_ambiguous_slashes_read_both_ways_and_bare_months_match_their_month() -> None:
    source = find_dates("Paid on 03/04/2026.")
    assert {(d.month, d.day) for d in source[0].readings} == {(4, 3), (3, 4)}
    assert grounded_date(find_dates("4 March 2026")[0], source)
    assert grounded_date(find_dates("3 April")[0], source)
    assert not grounded_date(find_dates("5 April")[0], source)
    assert grounded_date(find_dates("in Nov 2026")[0], find_dates("on 2026-11-20"))
    assert find_dates("version 1.2.3 costs 10.5") == []


@pytest.mark.parametrize(
    ("output", "source"),
    [
        ("The total was 1.249,99 EUR.", ENGLISH_TICKET),
        ("Gesamtbetrag 1,249.99 $.", ENGLISH_TICKET),
        ("Shipping cost 10,5 EUR.", ENGLISH_TICKET),
        ("It cost 1249.99 dollars.", ENGLISH_TICKET),
    ],
)
def test_amounts_match_across_locale_separators(output: str, source: str) -> None:
    assert "numbers" not in ungrounded(output, source)


def test_unrelated_digits_never_match() -> None:
    assert ungrounded("Shipping was 105 EUR.", ENGLISH_TICKET)["numbers"] == ["105"]
    assert ungrounded("It cost 124999 dollars.", ENGLISH_TICKET)["numbers"] == ["124999"]
    assert number_values("10.5") == number_values("10,5")
    assert number_values("1.249") >= number_values("1249")  # either convention
    assert not number_values("10.5") & number_values("105")


@pytest.mark.parametrize(
    ("output", "source", "flagged"),
    [
        ("A refund of three hundred euros was promised.", ENGLISH_TICKET, "300"),
        ("Eine Erstattung von dreihundert Euro wurde zugesagt.", GERMAN_TICKET, "300"),
        ("She ordered twenty-five units.", ENGLISH_TICKET, "25"),
    ],
)
def test_amounts_in_words_are_grounded_like_digits(output, source, flagged) -> None:
    assert ungrounded(output, source)["numbers"] == [f"{flagged} (written in words)"]


def test_words_in_the_input_ground_digits_in_the_reply() -> None:
    source = "I was promised a refund of three hundred euros for two broken chairs."
    assert "numbers" not in ungrounded("A refund of 300 euros was promised.", source)
    assert spelled_as_digits("one of them", "en") == "one of them"  # lone small numbers stay


def test_languages_are_detected_offline() -> None:
    assert detect_language(GERMAN_TICKET) == "de"
    assert detect_language(ENGLISH_TICKET) == "en"
    assert detect_language("12345 !!") is None


@pytest.mark.parametrize(
    "subject",
    [
        "Fehler bei Abrechnungs- und Zahlungsdetails nach dem Update",  # a suspended compound
        "Prozess Update für die Rechnung",  # stacked nouns of a subject line
        "Login geht nicht, Account gesperrt, Newsletter trotzdem erhalten",  # loanwords
        "Ticket Status Feedback zur Lieferung",
        "Von 50 Lizenzen des Team-Pakets sind nur 45 sichtbar",  # a hyphenated compound, inflected
        "Die am 1.12. bestellte Ware ist noch nicht da",  # a noun after an inflected participle
        "Sie möchte nur einen neuen Behälter statt eines neuen Mixers",  # after an adjective
        "Beide Updates des Pakets schlugen fehl",  # inflected loanwords
    ],
)
def test_german_compound_pieces_loanwords_and_stacked_nouns_are_not_names(subject: str) -> None:
    assert name_candidates(subject, "de") == []


def test_a_name_after_an_adjective_or_in_a_compound_still_counts() -> None:
    found = name_candidates("Laut der neuen Kollegin Fatima Haddad lag ein Dyson-Sauger bei", "de")
    assert found == ["Fatima Haddad", "Dyson Sauger"]


def test_stacked_german_nouns_still_leave_names_standing() -> None:
    found = name_candidates("Update zur Lieferung an Jonas Hoffmann, Vorwerk Kobold defekt", "de")
    assert found == ["Jonas Hoffmann", "Vorwerk Kobold"]
