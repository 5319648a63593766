# ruff: noqa: E501 - one ticket template per line reads best
"""Build bench/data/labelled_tickets.jsonl: 60 support tickets, 10 per label, with the fields an
extraction should find. Deterministic (seeded): a unit test checks that it still rebuilds the
committed file, so the data and its recipe cannot drift apart. Not a benchmark (no --quick)."""

import json
import random
from pathlib import Path

SEED = 20261201
NAMES = [
    "Maria Lopez",
    "Jonas Weber",
    "Priya Natarajan",
    "Tom Becker",
    "Aiko Tanaka",
    "Lucas Martin",
    "Sofia Rossi",
    "Liam O'Brien",
    "Fatima Zahra",
    "Chen Wei",
    "Olga Ivanova",
    "Diego Fernandez",
    "Emma Dubois",
    "Noah Schmidt",
    "Amara Okafor",
    "Ines Costa",
    "Kenji Sato",
    "Hannah Berg",
    "Mateo Garcia",
    "Claire Laurent",
]
T = {
    "billing": [
        (
            "en",
            "I was charged twice for order #{oid}: two payments of {amt} on {date}. Please refund the duplicate charge. {sign}",
        ),
        (
            "en",
            "Invoice for order #{oid} shows {amt} but I agreed to a lower price. Why was my card billed this amount? {sign}",
        ),
        (
            "en",
            "My subscription renewed and billed {amt} even though I cancelled last month. Order #{oid}. {sign}",
        ),
        (
            "es",
            "Hola, me cobraron dos veces el pedido #{oid}: dos cargos de {amt} el {date}. Por favor devuelvan el cargo duplicado. {sign}",
        ),
        (
            "de",
            "Hallo, für Bestellung #{oid} wurden mir {amt} zweimal abgebucht ({date}). Bitte erstatten Sie die doppelte Abbuchung. {sign}",
        ),
    ],
    "shipping": [
        (
            "en",
            "Order #{oid} still hasn't arrived. Tracking has said 'in transit' since {date}. Where is my package? {sign}",
        ),
        (
            "en",
            "The courier marked order #{oid} as delivered on {date} but nothing came to my address. Please send a tracking update. {sign}",
        ),
        (
            "en",
            "Can you change the delivery address for order #{oid}? It has not shipped yet. {sign}",
        ),
        (
            "fr",
            "Bonjour, ma commande #{oid} n'est toujours pas arrivée, le suivi indique 'en transit' depuis le {date}. {sign}",
        ),
        (
            "es",
            "Mi pedido #{oid} no ha llegado todavía; el seguimiento no cambia desde el {date}. ¿Dónde está? {sign}",
        ),
    ],
    "damaged_item": [
        (
            "en",
            "My order #{oid} ({amt}) arrived with a cracked screen. Can you send a replacement? {sign}",
        ),
        (
            "en",
            "The blender from order #{oid} came broken, the jar was shattered in the box. I'd like a replacement. {sign}",
        ),
        (
            "en",
            "Package for order #{oid} was crushed and the lamp inside is bent. Photos attached. {sign}",
        ),
        (
            "de",
            "Die Lieferung zu Bestellung #{oid} kam beschädigt an, das Glas ist gesprungen. Bitte senden Sie Ersatz. {sign}",
        ),
        (
            "fr",
            "Le colis de la commande #{oid} est arrivé abîmé et l'écran est fissuré. Pouvez-vous envoyer un remplacement ? {sign}",
        ),
    ],
    "account": [
        (
            "en",
            "I can't log in to my account; the password reset email never arrives at {email}. {sign}",
        ),
        (
            "en",
            "My account was locked after too many attempts. Please reset access for {email}. {sign}",
        ),
        ("en", "How do I change the email on my account from {email} to a new one? {sign}"),
        (
            "es",
            "No puedo entrar en mi cuenta, el correo para restablecer la contraseña nunca llega a {email}. {sign}",
        ),
        (
            "de",
            "Ich kann mich nicht mehr anmelden, die E-Mail zum Zurücksetzen des Passworts kommt nie an ({email}). {sign}",
        ),
    ],
    "refund": [
        (
            "en",
            "I returned order #{oid} on {date} and still have not received my refund of {amt}. {sign}",
        ),
        ("en", "Please cancel order #{oid} and refund the {amt} to my card. {sign}"),
        (
            "en",
            "The item from order #{oid} isn't what I expected. I want my money back ({amt}). {sign}",
        ),
        (
            "fr",
            "J'ai renvoyé la commande #{oid} le {date} et je n'ai toujours pas reçu le remboursement de {amt}. {sign}",
        ),
        ("es", "Quiero cancelar el pedido #{oid} y que me devuelvan los {amt}. {sign}"),
    ],
    "other": [
        ("en", "Do you have this jacket in a size M? I couldn't find it on the website. {sign}"),
        ("en", "Just wanted to say thanks, your support team was great last week! {sign}"),
        ("en", "Are your stores open on public holidays? {sign}"),
        ("de", "Haben Sie auch Filialen in Österreich? {sign}"),
        ("fr", "Proposez-vous des cartes cadeaux ? {sign}"),
    ],
}
CUR = {
    "en": ["${:.2f}", "EUR {:.2f}", "£{:.2f}"],
    "es": ["{:.2f} EUR"],
    "de": ["{:.2f} EUR"],
    "fr": ["{:.2f} €"],
}
TARGET = Path(__file__).with_name("labelled_tickets.jsonl")


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows = []
    n = 0
    for label, templates in T.items():
        for k in range(10):
            lang, template = templates[k % len(templates)]
            name = NAMES[(n * 7) % len(NAMES)]
            n += 1
            first, last = name.split(" ", 1)
            email = (
                f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}@example.com"
            )
            oid = f"{rng.choice('ABCDEFGH')}-{rng.randint(10000, 99999)}"
            amt_v = rng.choice([19.99, 34.5, 59.0, 89.9, 149.99, 212.4, 312.4, 48.75])
            amt = rng.choice(CUR[lang]).format(amt_v)
            date = f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 28):02d}"
            sign = (
                rng.choice(
                    [
                        f"- {name}",
                        f"Thanks, {name} ({email})",
                        f"{name}, {email}",
                        f"Regards, {name}",
                    ]
                )
                if lang == "en"
                else f"{name} ({email})"
            )
            text = template.format(oid=oid, amt=amt, date=date, email=email, sign=sign)
            fields = {
                "customer_name": name,
                "email": email if email in text else None,
                "order_id": oid if oid in text else None,
                "amount": amt if amt in text else None,
            }
            rows.append(
                {
                    "id": f"L-{len(rows) + 1:03d}",
                    "language": lang,
                    "label": label,
                    "input": text,
                    "fields": fields,
                }
            )
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = build()
    TARGET.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(len(rows))


if __name__ == "__main__":
    main()
