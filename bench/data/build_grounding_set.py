# ruff: noqa: E501, RUF001 - a ticket's fields read best on two lines; names keep their letters
"""Build bench/data/grounding_set.jsonl: 160 messy support tickets (96 English, 64 German) with a
grounded summary each, and for each the same summary with one fabricated fact of every kind
(number, date, id, email, person, product, amount in words, uncapitalised claim, reversed
meaning), from the wordings and names in grounding_templates.yaml beside it. The validators bench (bench/validators.py) measures false flags on the grounded
summaries and recall on the fabricated ones.

Tickets are written the way customers write them: greetings and signatures, lower case and
shouting, typos, quoted replies, phone numbers, ids and amounts in local formats. Summaries are
written the way a model writes them: paraphrased, in sentence case (German nouns capitalised,
many of them words the ticket never uses), dates and amounts often in another format than the
ticket's. Deterministic (seeded): a unit test checks that it still rebuilds the committed file,
so the data and its recipe cannot drift apart. Not a benchmark (no --quick)."""

import json
import random
import re
from pathlib import Path

import yaml

SEED = 20261202
TARGET = Path(__file__).resolve().parent / "grounding_set.jsonl"
KINDS = (
    "number",
    "date",
    "id",
    "email",
    "person",
    "product",
    "amount_in_words",
    "uncapitalised_claim",
    "reversed_meaning",
)

_TEMPLATES = yaml.safe_load(
    (TARGET.parent / "grounding_templates.yaml").read_text(encoding="utf-8")
)
PEOPLE, PRODUCTS, WORDS, MONTHS = (
    _TEMPLATES[key] for key in ("PEOPLE", "PRODUCTS", "WORDS", "MONTHS")
)
FAKE_PRODUCTS, FAKE_PEOPLE = _TEMPLATES["FAKE_PRODUCTS"], _TEMPLATES["FAKE_PEOPLE"]
# scenario -> language -> (ticket wordings, summary wordings, (request, its reversal)); a
# summary holds {request}, filled with the request or, for the reversed-meaning case, its
# reversal.
SCENARIOS = _TEMPLATES["SCENARIOS"]
ADDITIONS = _TEMPLATES["ADDITIONS"]


def _date(rng: random.Random, lang: str) -> tuple[int, int, int]:
    return (2026, rng.randint(1, 11), rng.randint(1, 28))


def _written_date(date: tuple[int, int, int], lang: str, style: int) -> str:
    year, month, day = date
    name = MONTHS[lang][month - 1]
    if lang == "en":
        return [
            f"{year}-{month:02d}-{day:02d}",
            f"{day} {name} {year}",
            f"{name} {day}",
            f"{name[:3]} {day}, {year}",
            f"{month:02d}/{day:02d}/{year}",
        ][style % 5]
    return [
        f"{day:02d}.{month:02d}.{year}",
        f"{day}. {name} {year}",
        f"{day}. {name}",
        f"{day}.{month}.",
        f"{year}-{month:02d}-{day:02d}",
    ][style % 5]


def _amount(rng: random.Random, lang: str, style: int) -> tuple[str, str]:
    """The ticket's amount and the summary's, in the language's formats."""
    euros, cents = rng.choice([59, 149, 312, 1249, 89, 24, 2399, 499]), rng.choice([0, 99, 50, 40])
    if lang == "en":
        whole = f"{euros:,}"
        ticket = [f"${whole}.{cents:02d}", f"{whole}.{cents:02d} USD", f"EUR {whole}.{cents:02d}"][
            style % 3
        ]
        return ticket, ticket.replace(" USD", " dollars")
    whole = f"{euros:,}".replace(",", ".")
    ticket = [f"{whole},{cents:02d} €", f"EUR {whole},{cents:02d}", f"{whole},{cents:02d} Euro"][
        style % 3
    ]
    return ticket, f"{whole},{cents:02d} Euro"


def _order_id(rng: random.Random, lang: str) -> str:
    letter = rng.choice("ABCDKLMRST")
    return rng.choice(
        [
            f"{letter}-{rng.randint(10000, 99999)}",
            f"ORD-{rng.randint(100000, 999999)}",
            f"{letter}{letter}-{rng.randint(1000, 9999)}",
        ]
    )


def _email(name: str) -> str:
    ascii_name = name.lower().translate(
        str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ß": "ss", "ı": "i", "'": ""})
    )
    first, _, last = ascii_name.partition(" ")
    return f"{first}.{last.replace(' ', '')}@example.{'com' if last < 'm' else 'de'}"


def _phone(rng: random.Random, lang: str) -> str:
    return (
        f"+49 170 {rng.randint(1000000, 9999999)}"
        if lang == "de"
        else f"(555) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    )


def _slots(template: str) -> set[str]:
    """The facts a template states (a summary may only state what its ticket says)."""
    return {
        slot.removesuffix("_t").removesuffix("_s") for slot in re.findall(r"\{(\w+)\}", template)
    } - {"request"}


def _numbers_in(text: str) -> set[int]:
    return {int(digits) for digits in re.findall(r"\d+", text)}


def _fabrications(
    rng: random.Random, lang: str, summary: str, reversed_summary: str, ticket: str, date: tuple
) -> dict[str, str]:
    """The summary with one invented fact of each kind (none of them in the ticket)."""
    taken = _numbers_in(ticket) | _numbers_in(summary)
    fake_date = _date(rng, lang)
    while fake_date[1:] == date[1:] or fake_date[2] in taken:
        fake_date = _date(rng, lang)
    words, _ = rng.choice([pair for pair in WORDS[lang] if pair[1] not in taken])
    values = {
        "n": rng.choice([n for n in (4, 6, 7, 9, 12, 17) if n not in taken]),
        "date": _written_date(fake_date, lang, rng.randint(0, 4)),
        "id": rng.choice(["ESC", "RMA", "RET", "CASE"]) + f"-{rng.randint(10000, 99999)}",
        "email": rng.choice(
            [
                "j.hoffmann@shop-support.de",
                "claims@returns-desk.com",
                "m.lindqvist@example.net",
                "backoffice@haendler.de",
            ]
        ),
        "person": rng.choice(FAKE_PEOPLE),
        "product": rng.choice(FAKE_PRODUCTS),
        "words": words,
    }
    fabricated = {}
    for kind in KINDS[:-1]:
        addition = rng.choice(ADDITIONS[kind][lang]).format(**values)
        fabricated[kind] = f"{summary} {addition}"
    fabricated["reversed_meaning"] = reversed_summary
    return fabricated


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows = []
    for index in range(160):
        lang = "de" if index % 5 in (1, 3) else "en"
        scenario = list(SCENARIOS)[index % len(SCENARIOS)]
        tickets, summaries, (request, reversal) = SCENARIOS[scenario][lang]
        name = rng.choice(PEOPLE[lang])
        date = _date(rng, lang)
        amount_t, amount_s = _amount(rng, lang, rng.randint(0, 2))
        facts = {
            "name": name,
            "oid": _order_id(rng, lang),
            "product": rng.choice(PRODUCTS[lang]),
            "date": date,
            "amount": amount_t,
        }
        fields = {
            "name": name, "oid": facts["oid"], "product": facts["product"], "email": _email(name), "phone": _phone(rng, lang),
            "amount_t": amount_t, "amount_s": amount_s,
            "date_t": _written_date(date, lang, rng.randint(0, 4)), "date_s": _written_date(date, lang, rng.randint(0, 4)),
        }  # fmt: skip
        ticket_template = rng.choice(tickets)
        ticket = ticket_template.format(**fields)
        template = rng.choice(
            [summary for summary in summaries if _slots(summary) <= _slots(ticket_template)]
        )
        summary = template.format(**fields, request=request)
        reversed_summary = template.format(**fields, request=reversal)
        rows.append(
            {
                "id": f"g-{index:03d}",
                "lang": lang,
                "scenario": scenario,
                "ticket": ticket,
                "summary": summary,
                "fabricated": _fabrications(rng, lang, summary, reversed_summary, ticket, date),
            }
        )
    return rows


def main() -> None:
    TARGET.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in build()))


if __name__ == "__main__":
    main()
