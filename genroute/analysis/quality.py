"""Whether outputs are right, not only acceptable: each evaluation item may carry an expected
output, and each path's answers are scored against it. Pure: expected values and outputs in,
figures out.

An expected output is one of:
- a label (a string): accuracy, per-label precision and recall, the confusion matrix, and the
  accuracy of always answering the commonest expected label (the floor a classifier must beat);
- expected fields (a JSON object): the share of fields the output's JSON has right (strings
  compared without case or surrounding space, numbers by value), per field, and whole matches;
- must-include facts (`{"must_include": [...]}`): the share of facts each output states
  (case-insensitive), and how many outputs state them all.

An item whose output was not accepted counts as wrong: it is not an answer the producer gets.
"""

import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

ExpectedKind = Literal["label", "fields", "facts"]


@dataclass(frozen=True)
class Scored:
    """One item on one path: what was expected, what came back (None: nothing accepted)."""

    expected: Any
    output: str | None


def expected_kind(expected: Any) -> ExpectedKind:
    if isinstance(expected, str):
        return "label"
    if isinstance(expected, Mapping) and set(expected) == {"must_include"}:
        return "facts"
    if isinstance(expected, Mapping) and expected:
        return "fields"
    raise ValueError(
        "an expected output is a label (string), expected fields (a JSON object) or "
        f'{{"must_include": [facts]}}, not {expected!r}'
    )


def _label(text: str) -> str:
    return text.strip().strip(".!\"'`").strip().lower()


def _same(expected: Any, found: Any) -> bool:
    if isinstance(expected, bool) or isinstance(found, bool):
        return expected == found
    if isinstance(expected, int | float) and isinstance(found, int | float | str):
        try:
            return float(found) == float(expected)
        except ValueError:
            return False
    if isinstance(expected, str) and isinstance(found, str | int | float):
        return str(found).strip().lower() == expected.strip().lower()
    return expected == found


def _json_object(text: str | None) -> dict[str, Any] | None:
    """The output's JSON object: the whole text, else its outermost braces."""
    if not text:
        return None
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def score_labels(items: Sequence[Scored]) -> dict[str, Any]:
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        answer = _label(item.output) if item.output is not None else "(no accepted output)"
        confusion[_label(item.expected)][answer] += 1
    labels = sorted(confusion)
    predicted = Counter(answer for row in confusion.values() for answer in row.elements())
    right = sum(confusion[label][label] for label in labels)
    commonest = max(labels, key=lambda label: sum(confusion[label].values())) if labels else None
    per_label = {
        label: {
            "precision": _share(confusion[label][label], predicted[label]),
            "recall": _share(confusion[label][label], sum(confusion[label].values())),
            "support": sum(confusion[label].values()),
        }
        for label in labels
    }
    return {
        "kind": "label",
        "items": len(items),
        "accuracy": _share(right, len(items)),
        "commonest_label": commonest,
        "commonest_label_accuracy": _share(
            sum(confusion[commonest].values()) if commonest else 0, len(items)
        ),
        "per_label": per_label,
        "confusion": {label: dict(confusion[label]) for label in labels},
    }


def score_fields(items: Sequence[Scored]) -> dict[str, Any]:
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    whole = 0
    for item in items:
        found = _json_object(item.output) or {}
        matched = 0
        for name, value in item.expected.items():
            seen[name] += 1
            if name in found and _same(value, found[name]):
                right[name] += 1
                matched += 1
        whole += matched == len(item.expected)
    return {
        "kind": "fields",
        "items": len(items),
        "field_accuracy": _share(sum(right.values()), sum(seen.values())),
        "exact_match_rate": _share(whole, len(items)),
        "per_field": {name: _share(right[name], seen[name]) for name in sorted(seen)},
    }


def score_facts(items: Sequence[Scored]) -> dict[str, Any]:
    coverages = []
    complete = 0
    for item in items:
        facts = [str(fact) for fact in item.expected["must_include"]]
        text = _normalised(item.output or "")
        stated = sum(_normalised(fact) in text for fact in facts) if item.output else 0
        coverages.append(stated / len(facts) if facts else 1.0)
        complete += stated == len(facts)
    return {
        "kind": "facts",
        "items": len(items),
        "coverage": round(sum(coverages) / len(coverages), 3) if coverages else None,
        "complete_rate": _share(complete, len(items)),
    }


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


_SCORERS = {"label": score_labels, "fields": score_fields, "facts": score_facts}
# The one figure each kind is ranked by.
HEADLINE = {"label": "accuracy", "fields": "field_accuracy", "facts": "coverage"}


def score(items: Sequence[Scored]) -> dict[str, Any] | None:
    """The quality figures of one path's answers; None when no item has an expected output.
    Every expected output of a run must be of one kind."""
    judged = [item for item in items if item.expected is not None]
    if not judged:
        return None
    kinds = {expected_kind(item.expected) for item in judged}
    if len(kinds) > 1:
        raise ValueError(f"expected outputs of one run must be of one kind, found {sorted(kinds)}")
    kind = kinds.pop()
    figures = _SCORERS[kind](judged)
    figures["headline"] = HEADLINE[kind]
    return figures


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None
