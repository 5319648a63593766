"""Reviewed outputs as an evaluation dataset, without I/O: each item a production request a
person judged in the console (or through feedback), with what it should have said. An
accepted output is its own expected answer; a corrected one expects the correction; a rejected
one has no answer to expect and is left out. The expected value takes the shape `genroute eval`
scores for the task type: a label for a labelling type, the fields for a JSON type; a free-text
type keeps the text as `reference` (eval cannot score prose against a reference, and says so)."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from genroute.policies.catalog import TaskType


@dataclass(frozen=True)
class Reviewed:
    """One judged output."""

    task_id: str
    input: str
    output: str
    verdict: str
    edited_text: str | None
    usefulness: int | None


def dataset_rows(task_type: TaskType, reviewed: Iterable[Reviewed]) -> Iterator[dict[str, Any]]:
    """One dataset row per accepted or corrected output, in `reviewed`'s order."""
    for item in reviewed:
        if item.verdict == "rejected":
            continue
        answer = item.edited_text if item.verdict == "edited" and item.edited_text else item.output
        row: dict[str, Any] = {
            "id": item.task_id,
            "input": item.input,
            "verdict": item.verdict,
            "usefulness": item.usefulness,
        }
        row.update(_expected(task_type, answer))
        yield row


def _expected(task_type: TaskType, answer: str) -> dict[str, Any]:
    if task_type.validation.allowed_values:
        return {"expected": answer.strip()}
    if task_type.output_format == "json":
        try:
            fields = json.loads(answer)
        except ValueError:
            return {"reference": answer}
        if isinstance(fields, dict) and fields:
            return {"expected": fields}
    return {"reference": answer}
