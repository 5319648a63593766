# ruff: noqa: E501, RUF001 - one ticket template per line reads best; names keep their letters
"""Build bench/data/grounding_set.jsonl: 160 messy support tickets (96 English, 64 German) with a
grounded summary each, and for each the same summary with one fabricated fact of every kind
(number, date, id, email, person, product, amount in words, uncapitalised claim, reversed
meaning). The validators bench (bench/validators.py) measures false flags on the grounded
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

PEOPLE = {
    "en": [
        "Maria Lopez",
        "Tom Becker",
        "Priya Natarajan",
        "Liam O'Brien",
        "Aiko Tanaka",
        "Samuel Okafor",
        "Emma Dubois",
        "Chen Wei",
        "Olga Ivanova",
        "Diego Fernandez",
        "Hannah Berg",
        "Kenji Sato",
    ],
    "de": [
        "Sabine Krüger",
        "Jürgen Meißner",
        "Anna Schmitz",
        "Lukas Wagner",
        "Petra Hoffmann",
        "Mehmet Yılmaz",
        "Katrin Vogel",
        "Stefan Braun",
        "Ines Kowalski",
        "Tobias Lang",
    ],
}
PRODUCTS = {
    "en": [
        "washing machine",
        "coffee grinder",
        "standing desk",
        "wireless headphones",
        "air fryer",
        "office chair",
        "robot vacuum",
        "e-reader",
    ],
    "de": [
        "Waschmaschine",
        "Kaffeemühle",
        "Schreibtisch",
        "Kopfhörer",
        "Heißluftfritteuse",
        "Bürostuhl",
        "Saugroboter",
        "Spülmaschine",
    ],
}
# Brand and model names a model might invent (international ones and German ones alike).
FAKE_PRODUCTS = [
    "Dyson V15 Detect",
    "Sonos Beam",
    "Kindle Paperwhite",
    "Nespresso Vertuo",
    "Bosch Serie 6",
    "Philips Airfryer XXL",
    "Samsung Galaxy Tab",
    "Lenovo ThinkPad",
    "AirPods Pro",
    "Miele WWD 320",
    "Thermomix TM6",
    "Vorwerk Kobold",
]
FAKE_PEOPLE = [
    "Jonas Hoffmann",
    "Rachel Green",
    "Herr Albrecht",
    "Frau Dietrich",
    "Marcus Lindqvist",
    "Dr. Farah Haddad",
    "Kevin O'Neill",
    "Lena Brandt",
]
WORDS = {
    "en": [
        ("three hundred", 300),
        ("forty-five", 45),
        ("two hundred and fifty", 250),
        ("eighty", 80),
        ("one thousand two hundred", 1200),
        ("seventy-five", 75),
    ],
    "de": [
        ("dreihundert", 300),
        ("fünfundvierzig", 45),
        ("zweihundertfünfzig", 250),
        ("achtzig", 80),
        ("eintausendzweihundert", 1200),
        ("fünfundsiebzig", 75),
    ],
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}

# scenario -> language -> (ticket variants, summary variants); a summary holds {request} and
# its reversal in the scenario's request pair.
SCENARIOS = {
    "damaged": {
        "en": (
            [
                "Hi there,\n\nmy {product} (order #{oid}) arrived on {date_t} and the side panel is completely cracked. paid {amount_t} for this!! I want a replacement please.\n\nThanks,\n{name}\n{phone}",
                "hello, order {oid} - the {product} came DAMAGED. box was crushed, one leg bent. delivered {date_t}. can u send a new one? i paid {amount_t}. {name}",
                "Dear support team, I'm writing about order #{oid}. The {product} was delivered on {date_t} with a dent and scratches all over. For {amount_t} I expected better. Please arrange a replacement. Kind regards, {name} ({email})",
            ],
            [
                "{name} reports that the {product} from order {oid}, delivered on {date_s}, arrived damaged; the customer {request}.",
                "The {product} in order {oid} ({amount_s}) was damaged on arrival on {date_s}, and {name} {request}.",
            ],
            ("asks for a replacement", "does not want a replacement"),
        ),
        "de": (
            [
                "Hallo,\n\nmeine {product} (Bestellung {oid}) kam am {date_t} an und das Gehäuse ist gerissen. Ich habe {amount_t} bezahlt! Bitte schicken Sie mir Ersatz.\n\nMfG\n{name}\nTel. {phone}",
                "guten tag, bestellung {oid}: die {product} ist beschädigt angekommen, karton war eingedrückt. geliefert am {date_t}. kosten {amount_t}. bitte um ersatz!!! {name}",
                "Sehr geehrte Damen und Herren, ich schreibe wegen der Bestellung {oid}. Die {product} wurde am {date_t} geliefert und hat Dellen und Kratzer. Für {amount_t} erwarte ich mehr. Bitte senden Sie Ersatz. Viele Grüße, {name} ({email})",
            ],
            [
                "{name} meldet einen Transportschaden an der {product} aus der Bestellung {oid}, geliefert am {date_s}, und {request}.",
                "Die {product} der Bestellung {oid} ({amount_s}) kam am {date_s} beschädigt an; die Kundin {request}.",
            ],
            ("bittet um Ersatz", "benötigt keinen Ersatz"),
        ),
    },
    "late": {
        "en": (
            [
                "Where is my {product}?? order #{oid} was supposed to arrive {date_t}, tracking hasnt moved in a week. I paid {amount_t}. If it doesn't show up I want my money back. - {name}",
                "Hi, I ordered a {product} (order {oid}, {amount_t}) and it still hasn't arrived. The estimated delivery was {date_t}. Please refund me if you can't deliver. {name}, {phone}",
                "> On Monday you wrote: your parcel is on its way\n\nIt is NOT. Order #{oid}, {product}, expected {date_t}. Still nothing. Refund please. {name} ({email})",
            ],
            [
                "{name}'s order {oid} ({product}, {amount_s}) has not arrived although delivery was expected on {date_s}; the customer {request}.",
                "Order {oid} for a {product} is overdue since {date_s}, and {name} {request}.",
            ],
            ("wants a refund if it is not delivered", "does not want a refund"),
        ),
        "de": (
            [
                "Wo bleibt meine {product}?? Bestellung {oid} sollte am {date_t} kommen, die Sendungsverfolgung zeigt seit einer Woche nichts. Bezahlt: {amount_t}. Wenn nichts kommt, will ich mein Geld zurück. - {name}",
                "hallo, ich habe eine {product} bestellt (bestellung {oid}, {amount_t}) und sie ist immer noch nicht da. lieferung war für den {date_t} angekündigt. bitte erstatten, wenn sie nicht liefern können. {name}, {phone}",
                "> Am Montag schrieben Sie: Ihr Paket ist unterwegs\n\nIST ES NICHT. Bestellung {oid}, {product}, erwartet am {date_t}. Immer noch nichts. Bitte Geld zurück. {name} ({email})",
            ],
            [
                "Die Bestellung {oid} ({product}, {amount_s}) von {name} ist trotz angekündigter Lieferung am {date_s} nicht angekommen; die Kundin {request}.",
                "Lieferverzögerung bei Bestellung {oid}: die {product} sollte am {date_s} ankommen, und {name} {request}.",
            ],
            ("verlangt eine Erstattung", "verlangt keine Erstattung"),
        ),
    },
    "double_charge": {
        "en": (
            [
                "Hello, I was charged twice for order #{oid}! Two payments of {amount_t} on {date_t}. Please refund the duplicate. {name}",
                "my card got billed 2x for the same order ({oid}), {amount_t} each time, both on {date_t}. fix this asap. {name} {phone}",
                "Dear billing team, my bank statement shows two charges of {amount_t} dated {date_t} for order {oid}. Please reverse one of them. Regards, {name} ({email})",
            ],
            [
                "{name} was charged {amount_s} twice for order {oid} on {date_s} and {request}.",
                "Order {oid} was billed twice ({amount_s} each, on {date_s}); {name} {request}.",
            ],
            ("asks for the duplicate charge to be refunded", "accepts both charges"),
        ),
        "de": (
            [
                "Hallo, mir wurde die Bestellung {oid} doppelt abgebucht! Zwei Zahlungen über {amount_t} am {date_t}. Bitte erstatten Sie die doppelte Abbuchung. {name}",
                "meine karte wurde 2x belastet für dieselbe bestellung ({oid}), jeweils {amount_t}, beide am {date_t}. bitte schnell korrigieren. {name} {phone}",
                "Sehr geehrtes Team, auf meinem Kontoauszug stehen zwei Belastungen über {amount_t} vom {date_t} für die Bestellung {oid}. Bitte buchen Sie eine zurück. Grüße, {name} ({email})",
            ],
            [
                "{name} wurden für die Bestellung {oid} am {date_s} zweimal {amount_s} abgebucht; sie {request}.",
                "Doppelte Belastung bei Bestellung {oid} ({amount_s} je Zahlung, {date_s}): {name} {request}.",
            ],
            ("bittet um Rückbuchung der doppelten Zahlung", "akzeptiert beide Zahlungen"),
        ),
    },
    "password": {
        "en": (
            [
                "ur app logged me out AGAIN and the password reset email never comes. account is {email}. been trying since {date_t}. fix it. {name}",
                "Hi, I can't log in to my account ({email}). I requested a password reset on {date_t} but no email arrived, not even in spam. Please help. {name}, {phone}",
                "Hello support, since {date_t} my login fails with 'invalid token'. I reset my password twice, no reset link ever arrives at {email}. Could you unlock the account? Thanks, {name}",
            ],
            [
                "{name} cannot log in since {date_s} because the password reset email never arrives at {email}; the customer {request}.",
                "Since {date_s}, {name} has been locked out and gets no reset link at {email}, and {request}.",
            ],
            ("asks for help restoring access", "no longer needs access"),
        ),
        "de": (
            [
                "die app hat mich SCHON WIEDER abgemeldet und die mail zum passwort zurücksetzen kommt nie an. konto: {email}. versuche es seit {date_t}. {name}",
                "Hallo, ich komme nicht mehr in mein Konto ({email}). Ich habe am {date_t} ein neues Passwort angefordert, aber keine E-Mail bekommen, auch nicht im Spam. Bitte helfen Sie. {name}, {phone}",
                "Guten Tag, seit dem {date_t} schlägt meine Anmeldung mit 'ungültiges Token' fehl. Ich habe das Passwort zweimal zurückgesetzt, an {email} kommt nie ein Link. Können Sie das Konto entsperren? Danke, {name}",
            ],
            [
                "{name} kann sich seit dem {date_s} nicht anmelden, weil die E-Mail zum Zurücksetzen des Passworts nie an {email} ankommt; {request}.",
                "Seit {date_s} ist das Konto von {name} gesperrt und an {email} kommt kein Link an; die Kundin {request}.",
            ],
            ("sie bittet um Hilfe beim Zugang", "sie braucht keinen Zugang mehr"),
        ),
    },
    "subscription": {
        "en": (
            [
                "I cancelled my subscription {oid} on {date_t} and you STILL charged me {amount_t}. I want that refunded. {name}",
                "Hi, subscription {oid} renewed at {amount_t} although I cancelled it on {date_t} (I have the confirmation email). Please refund and confirm the cancellation. {name}, {email}",
                "Hello, why was I billed {amount_t} for {oid}? I ended the plan on {date_t}. Pls refund. Cheers, {name} {phone}",
            ],
            [
                "{name} cancelled subscription {oid} on {date_s} but was still charged {amount_s}, and {request}.",
                "Subscription {oid} renewed for {amount_s} after {name} cancelled it on {date_s}; the customer {request}.",
            ],
            ("wants the charge refunded", "wants to keep the subscription"),
        ),
        "de": (
            [
                "Ich habe mein Abo {oid} am {date_t} gekündigt und Sie haben mir TROTZDEM {amount_t} abgebucht. Ich will das zurück. {name}",
                "Hallo, das Abonnement {oid} wurde für {amount_t} verlängert, obwohl ich es am {date_t} gekündigt habe (Bestätigung liegt mir vor). Bitte erstatten und Kündigung bestätigen. {name}, {email}",
                "Guten Tag, warum wurden mir {amount_t} für {oid} berechnet? Ich habe den Vertrag am {date_t} beendet. Bitte um Rückzahlung. Gruß {name} {phone}",
            ],
            [
                "{name} hat das Abo {oid} am {date_s} gekündigt, wurde aber mit {amount_s} belastet, und {request}.",
                "Das Abonnement {oid} wurde nach der Kündigung am {date_s} für {amount_s} verlängert; {name} {request}.",
            ],
            ("verlangt eine Rückzahlung", "möchte das Abo behalten"),
        ),
    },
    "wrong_item": {
        "en": (
            [
                "I ordered a {product} (order {oid}) and got a toaster instead?? Delivered {date_t}. Please exchange it. {name}",
                "hey, wrong item in my package for order #{oid}. should be a {product}, {amount_t}. arrived {date_t}. want the right one. {name} {phone}",
                "Dear team, order {oid} arrived on {date_t} but contained the wrong product: instead of the {product} I received a kettle. Please send the correct item. {name} ({email})",
            ],
            [
                "{name} received the wrong item for order {oid} on {date_s} instead of the {product} and {request}.",
                "Order {oid} ({amount_s}) delivered on {date_s} held the wrong product instead of a {product}; {name} {request}.",
            ],
            ("asks for an exchange", "wants to keep the wrong item"),
        ),
        "de": (
            [
                "Ich habe eine {product} bestellt (Bestellung {oid}) und einen Toaster bekommen?? Geliefert am {date_t}. Bitte umtauschen. {name}",
                "hallo, falscher artikel im paket zur bestellung {oid}. sollte eine {product} sein, {amount_t}. kam am {date_t}. will den richtigen artikel. {name} {phone}",
                "Sehr geehrtes Team, die Bestellung {oid} kam am {date_t}, aber mit dem falschen Artikel: statt der {product} war ein Wasserkocher im Paket. Bitte senden Sie den richtigen Artikel. {name} ({email})",
            ],
            [
                "{name} hat zur Bestellung {oid} am {date_s} statt der {product} einen falschen Artikel erhalten und {request}.",
                "Falschlieferung bei Bestellung {oid} ({amount_s}, {date_s}): statt der {product} kam ein anderer Artikel; {name} {request}.",
            ],
            ("bittet um Umtausch", "möchte den falschen Artikel behalten"),
        ),
    },
    "warranty": {
        "en": (
            [
                "My {product} stopped working after 3 months. Bought it on {date_t} for {amount_t}, order {oid}. It's under warranty, please repair it. {name}",
                "hi the {product} from order #{oid} just died, wont turn on at all. purchased {date_t}. warranty repair pls. {name}, {phone}",
                "Hello, the {product} (order {oid}, {amount_t}) makes a loud grinding noise since last week. Purchase date {date_t}. I'd like a warranty repair. Best, {name} ({email})",
            ],
            [
                "{name}'s {product} from order {oid}, bought on {date_s}, has stopped working, and {request}.",
                "The {product} ({amount_s}, order {oid}, purchased {date_s}) is faulty; {name} {request}.",
            ],
            ("asks for a warranty repair", "does not want a repair"),
        ),
        "de": (
            [
                "Meine {product} funktioniert nach 3 Monaten nicht mehr. Gekauft am {date_t} für {amount_t}, Bestellung {oid}. Es ist noch Garantie drauf, bitte reparieren. {name}",
                "hallo die {product} aus bestellung {oid} ist einfach kaputt, geht gar nicht mehr an. gekauft am {date_t}. bitte garantiereparatur. {name}, {phone}",
                "Guten Tag, die {product} (Bestellung {oid}, {amount_t}) macht seit letzter Woche ein lautes Schleifgeräusch. Kaufdatum {date_t}. Ich bitte um eine Reparatur auf Garantie. Viele Grüße, {name} ({email})",
            ],
            [
                "Die {product} von {name} aus der Bestellung {oid}, gekauft am {date_s}, ist defekt; die Kundin {request}.",
                "Garantiefall: die {product} ({amount_s}, Bestellung {oid}, Kaufdatum {date_s}) funktioniert nicht mehr, und {name} {request}.",
            ],
            ("bittet um eine Garantiereparatur", "verzichtet auf eine Reparatur"),
        ),
    },
    "address": {
        "en": (
            [
                "Hi, I just placed order {oid} ({amount_t}) but I'm moving on {date_t}. Can you change the delivery address before it ships? {name}, {phone}",
                "URGENT: wrong address on order #{oid}!! please update it before shipping, I wont be there after {date_t}. {name} {email}",
                "Hello, please change the shipping address for order {oid} (the {product}). I move out on {date_t}. Thank you, {name}",
            ],
            [
                "{name} needs the delivery address of order {oid} changed before shipping because they move on {date_s}; the customer {request}.",
                "Before order {oid} ships, {name} (moving on {date_s}) {request}.",
            ],
            ("asks for the address to be updated", "wants the old address kept"),
        ),
        "de": (
            [
                "Hallo, ich habe gerade die Bestellung {oid} ({amount_t}) aufgegeben, ziehe aber am {date_t} um. Können Sie die Lieferadresse vor dem Versand ändern? {name}, {phone}",
                "DRINGEND: falsche adresse bei bestellung {oid}!! bitte vor dem versand ändern, ab dem {date_t} bin ich nicht mehr da. {name} {email}",
                "Guten Tag, bitte ändern Sie die Lieferadresse der Bestellung {oid} (die {product}). Ich ziehe am {date_t} aus. Danke, {name}",
            ],
            [
                "{name} zieht am {date_s} um und {request} für die Bestellung {oid} vor dem Versand.",
                "Adressänderung für Bestellung {oid}: {name} zieht am {date_s} um und {request}.",
            ],
            ("bittet um eine neue Lieferadresse", "will die alte Adresse behalten"),
        ),
    },
}

ADDITIONS = {
    "number": {
        "en": [
            "They have contacted support {n} times about this.",
            "This is the {n}th complaint about the same batch.",
        ],
        "de": [
            "Die Kundin hat sich bereits {n} Mal gemeldet.",
            "Es ist die {n}. Beschwerde zu dieser Charge.",
        ],
    },
    "date": {
        "en": [
            "A technician visit was booked for {date}.",
            "The courier will collect the parcel on {date}.",
        ],
        "de": [
            "Ein Technikertermin ist für den {date} gebucht.",
            "Der Kurier holt das Paket am {date} ab.",
        ],
    },
    "id": {
        "en": ["The case was escalated as {id}.", "A return label {id} was issued."],
        "de": ["Der Fall wurde unter {id} eskaliert.", "Ein Retourenschein {id} wurde erstellt."],
    },
    "email": {
        "en": ["A copy of the invoice went to {email}.", "Replies should go to {email}."],
        "de": ["Eine Kopie der Rechnung ging an {email}.", "Antworten bitte an {email}."],
    },
    "person": {
        "en": [
            "According to {person}, the warehouse confirmed the problem.",
            "The order was handled by {person} from logistics.",
        ],
        "de": [
            "Laut {person} hat das Lager das Problem bestätigt.",
            "Die Bestellung wurde von {person} aus der Logistik bearbeitet.",
        ],
    },
    "product": {
        "en": [
            "The customer also wants to return a {product}.",
            "The parcel also contained a {product} that was not ordered.",
        ],
        "de": [
            "Zusätzlich soll ein {product} zurückgeschickt werden.",
            "Im Paket lag außerdem ein {product}, das nicht bestellt war.",
        ],
    },
    "amount_in_words": {
        "en": [
            "A goodwill credit of {words} dollars was promised.",
            "the agent offered {words} euros as compensation.",
        ],
        "de": [
            "Eine Kulanzgutschrift von {words} Euro wurde zugesagt.",
            "der Mitarbeiter bot {words} Euro als Entschädigung an.",
        ],
    },
    "uncapitalised_claim": {
        "en": [
            "the refund was already approved by the manager.",
            "support has already shipped a replacement by express courier.",
            "the customer was promised free shipping on the next order.",
            "the warehouse admitted that the packaging was faulty.",
        ],
        "de": [
            "die Erstattung wurde bereits vom Vorgesetzten genehmigt.",
            "der Support hat schon per Expresskurier Ersatz verschickt.",
            "der Kundin wurde für die nächste Bestellung kostenloser Versand versprochen.",
            "das Lager hat zugegeben, dass die Verpackung mangelhaft war.",
        ],
    },
}


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
