# ruff: noqa: E501 - one wording per line reads best
"""Build bench/data/image_set.jsonl: 40 labelled images of the project's own, 8 of each kind
(error dialogs, invoices with small-print footnotes, shipping labels, some scanned sideways,
low-contrast notices, charts whose two series share a colour), half English and half German.
Each row is a spec that genroute.local.screenshots renders, the ticket text sent with it (which
never holds the image's facts), the facts drawn in the image (what OCR must find and grounding
must accept from it), an expected answer, and for documents the fields `document_fields`
returns (its catalog schema's keys). Deterministic (seeded): a unit test checks that it
rebuilds the committed file exactly. Not a benchmark (no --quick): bench/multimodal.py
measures on it."""

import json
import random
from pathlib import Path

SEED = 20261205
TARGET = Path(__file__).with_name("image_set.jsonl")
CITIES = ["Lyon", "Bremen", "Porto", "Graz", "Leeds", "Utrecht", "Basel", "Turin"]
WORDS = {
    "en": {
        "declined": "Payment declined",
        "order": "Order",
        "code": "Error code",
        "retry": "Try again",
        "invoice": "Invoice",
        "total": "Total due",
        "due": "Due date",
        "footnote": "Late payments after the due date incur a fee of {fee}%.",
        "weight": "Weight",
        "to": "Deliver to",
        "return": "Return to sender after {days} days if undeliverable.",
        "notice": "Your password expires on {date}. Reference {ref}.",
        "chart": "Tickets per week",
        "ticket_dialog": "Checkout keeps failing, screenshot attached.",
        "ticket_invoice": "Please check the attached invoice, the amount looks wrong.",
        "ticket_label": "My parcel has not arrived, here is the label.",
        "ticket_notice": "I got this message when logging in, what does it mean?",
        "ticket_chart": "Can you explain this chart from our support dashboard?",
    },
    "de": {
        "declined": "Zahlung abgelehnt",
        "order": "Bestellung",
        "code": "Fehlercode",
        "retry": "Erneut versuchen",
        "invoice": "Rechnung",
        "total": "Gesamtbetrag",
        "due": "Fällig am",
        "footnote": "Bei Zahlung nach dem Fälligkeitsdatum fällt eine Gebühr von {fee}% an.",
        "weight": "Gewicht",
        "to": "Empfänger",
        "return": "Rücksendung an den Absender nach {days} Tagen, falls unzustellbar.",
        "notice": "Ihr Passwort läuft am {date} ab. Referenz {ref}.",
        "chart": "Tickets pro Woche",
        "ticket_dialog": "Der Checkout schlägt immer wieder fehl, Screenshot anbei.",
        "ticket_invoice": "Bitte prüfen Sie die angehängte Rechnung, der Betrag stimmt nicht.",
        "ticket_label": "Mein Paket ist nicht angekommen, hier ist das Etikett.",
        "ticket_notice": "Diese Meldung kam beim Anmelden, was bedeutet sie?",
        "ticket_chart": "Können Sie dieses Diagramm aus unserem Support-Dashboard erklären?",
    },
}


def _date(rng: random.Random, lang: str) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    return f"{day:02d}.{month:02d}.2026" if lang == "de" else f"2026-{month:02d}-{day:02d}"


def _amount(rng: random.Random, lang: str) -> str:
    euros, cents = rng.randint(20, 2400), rng.choice([0, 50, 90, 99])
    whole = f"{euros:,}".replace(",", "." if lang == "de" else ",")
    return f"{whole},{cents:02d} EUR" if lang == "de" else f"{whole}.{cents:02d} EUR"


def _text(xy: tuple[int, int], text: str, size: int, ink: str = "#111111") -> dict:
    return {"xy": list(xy), "text": text, "size": size, "ink": ink}


def error_dialog(rng: random.Random, lang: str) -> dict:
    w = WORDS[lang]
    code, order = f"E-{rng.randint(1000, 9999)}", f"ORD-{rng.randint(1000, 9999)}"
    spec = {
        "size": [640, 260],
        "background": "#dfe3e8",
        "boxes": [
            {"xy": [40, 30, 600, 230], "fill": "#ffffff", "outline": "#8a8f99"},
            {"xy": [40, 30, 600, 70], "fill": "#c0392b", "outline": "#8a8f99"},
            {"xy": [440, 180, 580, 215], "fill": "#eeeeee", "outline": "#8a8f99"},
        ],
        "texts": [
            _text((56, 38), w["declined"], 22, "#ffffff"),
            _text((56, 90), f"{w['order']} {order}", 22),
            _text((56, 128), f"{w['code']}: {code}", 20),
            _text((452, 187), w["retry"], 16),
        ],
    }
    expected = f"{w['declined']}: {w['order']} {order}, {w['code']} {code}."
    return {
        "spec": spec,
        "ticket": w["ticket_dialog"],
        "facts": [order, code],
        "small_print": [],
        "expected": expected,
    }


def invoice(rng: random.Random, lang: str) -> dict:
    w = WORDS[lang]
    number = f"{'RE' if lang == 'de' else 'INV'}-2026-{rng.randint(100, 999):04d}"
    total, due, fee = _amount(rng, lang), _date(rng, lang), rng.choice([2, 3, 5, 8])
    footnote = w["footnote"].format(fee=fee)
    spec = {
        "size": [720, 420],
        "background": "#ffffff",
        "boxes": [{"xy": [30, 30, 690, 390], "outline": "#999999"}],
        "texts": [
            _text((50, 45), f"{w['invoice']} {number}", 28),
            _text((50, 120), f"{w['total']}: {total}", 22),
            _text((50, 160), f"{w['due']}: {due}", 22),
            _text((50, 360), f"* {footnote}", 11, "#444444"),
        ],
    }
    fields = {"document_type": "invoice", "number": number, "total": total, "due_date": due}
    expected = f"{w['invoice']} {number}: {total}, {w['due']} {due}; {footnote}"
    return {
        "spec": spec,
        "ticket": w["ticket_invoice"],
        "facts": [number, total, due, f"{fee}%"],
        "small_print": [f"{fee}%"],
        "expected": expected,
        "fields": fields,
    }


def shipping_label(rng: random.Random, lang: str, rotate: int) -> dict:
    w = WORDS[lang]
    tracking, city = f"TRK-{rng.randint(10000, 99999)}", rng.choice(CITIES)
    weight = f"{rng.randint(1, 19)}{',' if lang == 'de' else '.'}{rng.randint(0, 9)} kg"
    days = rng.choice([7, 14, 21])
    spec = {
        "size": [600, 300],
        "background": "#fffdf5",
        "boxes": [{"xy": [20, 20, 580, 280], "outline": "#222222"}],
        "texts": [
            _text((40, 35), tracking, 34),
            _text((40, 100), f"{w['to']}: {city}", 22),
            _text((40, 140), f"{w['weight']}: {weight}", 22),
            _text((40, 250), w["return"].format(days=days), 11, "#333333"),
        ],
        "rotate": rotate,
    }
    expected = f"{tracking} → {city}, {weight}."
    return {
        "spec": spec,
        "ticket": w["ticket_label"],
        "facts": [tracking, city, weight, str(days)],
        "small_print": [str(days)],
        "expected": expected,
        "fields": {"document_type": "shipping_label", "tracking_number": tracking},
    }


def low_contrast(rng: random.Random, lang: str) -> dict:
    w = WORDS[lang]
    date, ref = _date(rng, lang), f"REF-{rng.randint(1000, 9999)}"
    spec = {
        "size": [680, 140],
        "background": "#ececec",
        "texts": [_text((24, 50), w["notice"].format(date=date, ref=ref), 20, "#bdbdbd")],
    }
    return {
        "spec": spec,
        "ticket": w["ticket_notice"],
        "facts": [date, ref],
        "small_print": [],
        "expected": w["notice"].format(date=date, ref=ref),
    }


def chart(rng: random.Random, lang: str) -> dict:
    w = WORDS[lang]
    labels = [f"W{week}" for week in range(1, 7)]
    first = [rng.randint(20, 60) for _ in labels]
    second = [rng.randint(20, 60) for _ in labels]
    colour = rng.choice(["#1f77b4", "#2ca02c", "#d62728"])
    spec = {
        "size": [700, 400],
        "background": "#ffffff",
        "texts": [_text((30, 16), w["chart"], 22)],
        "chart": {
            "xy": [60, 60, 600, 340],
            "labels": labels,
            "series": [
                {"name": "EU", "values": first, "colour": colour},
                {"name": "US", "values": second, "colour": colour},
            ],
        },
    }
    expected = f"{w['chart']}: EU {first[-1]}, US {second[-1]} ({labels[-1]}); both lines share one colour."
    return {
        "spec": spec,
        "ticket": w["ticket_chart"],
        "facts": [f"EU {first[-1]}", f"US {second[-1]}"],
        "small_print": [],
        "expected": expected,
    }


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows = []
    for index in range(8):
        lang = "en" if index % 2 == 0 else "de"
        made = [
            ("error_dialog", error_dialog(rng, lang)),
            ("invoice", invoice(rng, lang)),
            ("shipping_label", shipping_label(rng, lang, rotate=(0, 90, 0, 270)[index % 4])),
            ("low_contrast", low_contrast(rng, lang)),
            ("chart", chart(rng, lang)),
        ]
        for kind, row in made:
            rows.append({"id": f"IMG-{len(rows) + 1:03d}", "kind": kind, "language": lang, **row})
    return rows


def main() -> None:
    rows = build()
    TARGET.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(len(rows))


if __name__ == "__main__":
    main()
