"""A support backlog to try genroute on, made without I/O beyond the packaged tickets: most
tickets are new (one of the packaged tickets about another order: its ids drawn afresh), and
a share repeats an earlier ticket word for word (a customer writing twice, a forwarded
duplicate, a system alert), the earlier popular ones more often. Seeded, so a benchmark and
its baseline see the same rows."""

import random
import re
from collections.abc import Iterator

from genroute.data import bundled_tickets

TIERS = ("free", "pro", "enterprise")
# What makes a ticket about another order or customer: an id's digits (order #B-22817,
# INV-2231), a date's day (2026-11-02) and an email's name are drawn afresh. A ticket with none
# of them (boilerplate) stays word for word the same, as such tickets do.
_ID = re.compile(r"\b([A-Z]{1,4}-)(\d{3,6})\b")
_DATE = re.compile(r"\b(20\d\d-[01]\d-)([0-3]\d)\b")
_EMAIL = re.compile(r"\b[a-z]+(\.[a-z]+)?(@example\.(?:com|net))")
_NAMES = ("ana", "ben", "chen", "dara", "emil", "fatima", "goran", "hana", "ivo", "jana")


def backlog_tickets(count: int, repeat_share: float, seed: int) -> Iterator[tuple[str, str, str]]:
    """`count` rows of (ticket id, customer tier, text); `repeat_share` of them repeat an
    earlier row on purpose (boilerplate tickets repeat beyond it)."""
    rng = random.Random(seed)
    templates, earlier = [ticket["input"] for ticket in bundled_tickets()], []
    for number in range(count):
        if earlier and rng.random() < repeat_share:
            text = rng.choice(earlier)  # each repeat is itself a candidate: popular ones grow
        else:
            text = _another_customer(rng.choice(templates), rng)
        earlier.append(text)
        yield f"T-{20000 + number}", TIERS[number % len(TIERS)], text


def _another_customer(ticket: str, rng: random.Random) -> str:
    ticket = _ID.sub(lambda m: m.group(1) + "".join(rng.choices("0123456789", k=len(m[2]))), ticket)
    ticket = _DATE.sub(lambda m: m.group(1) + f"{rng.randint(1, 28):02d}", ticket)
    return _EMAIL.sub(lambda m: f"{rng.choice(_NAMES)}.{rng.choice(_NAMES)}{m.group(2)}", ticket)
