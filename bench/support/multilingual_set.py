"""The validators bench's multilingual set: hand-written tickets in English, German and French
(bench/data/multilingual_tickets.yaml), each with its grounded summary and one summary per kind
of invented fact. A fact the summary states is changed where the item says how (`swap`);
otherwise one sentence stating a fact the ticket never says is appended, in the summary's
language."""

from pathlib import Path
from typing import Any

import yaml

TICKETS = Path(__file__).resolve().parents[1] / "data" / "multilingual_tickets.yaml"
FACT_KINDS = ("number", "date", "id", "email", "person", "product", "amount", "claim")


def _fabricated(item: dict[str, Any], position: int, sentences: dict[str, list[str]]) -> dict:
    summary = item["summary"].strip()
    fabricated = {}
    for kind in FACT_KINDS:
        swap = item.get("swap", {}).get(kind)
        if swap:
            stated, invented = swap
            if stated not in summary:
                raise ValueError(f"{item['id']}: the summary does not say {stated!r}")
            fabricated[kind] = summary.replace(stated, invented, 1)
        else:
            pool = sentences[kind]
            fabricated[kind] = f"{summary} {pool[position % len(pool)]}"
    return fabricated


def multilingual_set(count: int | None = None) -> list[dict[str, Any]]:
    """Rows as the bench measures them: `lang` is the summary's language and `pair` says
    "ticket>summary"; `count` picks that many spread over every pair of languages."""
    data = yaml.safe_load(TICKETS.read_text(encoding="utf-8"))
    rows = [
        {
            "id": item["id"],
            "lang": item["summary_lang"],
            "pair": f"{item['ticket_lang']}>{item['summary_lang']}",
            "ticket": item["ticket"].strip(),
            "summary": item["summary"].strip(),
            "fabricated": _fabricated(item, position, data["fabrications"][item["summary_lang"]]),
        }
        for position, item in enumerate(data["tickets"])
    ]
    if count is None:
        return rows
    pairs = sorted({row["pair"] for row in rows})
    by_pair = [[row for row in rows if row["pair"] == pair] for pair in pairs]
    picked: list[dict[str, Any]] = []
    for depth in range(max(len(group) for group in by_pair)):
        picked += [group[depth] for group in by_pair if depth < len(group)]
    return picked[:count]
