"""Accuracy of the task classifier (`task_type: auto`) on the project's labelled requests,
embeddings alone against embeddings with character n-grams, side by side in one run.

    .venv/bin/python bench/classify.py [--quick]

bench/data/task_requests.jsonl holds 64 requests (8 per task type, in English, Spanish, German
and French), none of them among the catalog's examples. Each arm classifies every request
against policies/task_types.yaml; the JSON gives accuracy overall and per language, the
commonest confusions, accuracy and coverage at the default confidence threshold, and
milliseconds per request. `--quick` (16 requests) is what the test suite runs.

The lexical weight was chosen on this set, so its accuracy is optimistic; each arm is also
run on bench/data/task_requests_heldout.jsonl (24 requests, 3 per task type, written after the
weight was fixed and never used to tune anything), whose accuracy is the honest estimate.
`--quick` runs 8 of them.
"""

import argparse
import json
import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

from genroute.analysis.task_classifier import LEXICAL_WEIGHT, TaskClassifier
from genroute.policies import load_catalog
from genroute.settings import Settings

REQUESTS = Path(__file__).resolve().parent / "data" / "task_requests.jsonl"
HELD_OUT = REQUESTS.with_name("task_requests_heldout.jsonl")
ARMS = {"embeddings": 0.0, "embeddings_and_ngrams": LEXICAL_WEIGHT}


def labelled(count: int | None, source: Path = REQUESTS) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    if count is None:
        return rows
    # Every other row of each type, so a short run still sees every type and language.
    return rows[:: max(1, len(rows) // count)][:count]


def run_arm(classifier: TaskClassifier, rows: list[dict], threshold: float) -> dict[str, Any]:
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    confusions: Counter[str] = Counter()
    confident = confident_right = 0
    started = time.perf_counter()
    for row in rows:
        found = classifier.classify(row["input"])
        best = max(found.scores, key=found.scores.__getitem__)
        ok = best == row["task_type"]
        seen[row["lang"]] += 1
        right[row["lang"]] += ok
        if not ok:
            confusions[f"{row['task_type']} -> {best}"] += 1
        if found.confidence >= threshold:
            confident += 1
            confident_right += ok
    elapsed = time.perf_counter() - started
    return {
        "accuracy": round(sum(right.values()) / len(rows), 3),
        "accuracy_by_language": {lang: round(right[lang] / seen[lang], 3) for lang in sorted(seen)},
        "commonest_confusions": dict(confusions.most_common(5)),
        "at_threshold": {
            "coverage": round(confident / len(rows), 3),
            "accuracy": round(confident_right / confident, 3) if confident else None,
        },
        "ms_per_request": round(1000 * elapsed / len(rows), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 requests, for the tests")
    args = parser.parse_args()
    settings = Settings()
    catalog = load_catalog(settings.task_types_file)
    rows = labelled(16 if args.quick else None)
    held_out = labelled(8 if args.quick else None, HELD_OUT)
    threshold = settings.classify_min_confidence
    result: dict[str, Any] = {
        "bench": "classify",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "requests": len(rows),
        "held_out_requests": len(held_out),
        "task_types": len(catalog.task_types),
        "threshold": threshold,
        "arms": {},
    }
    for arm, weight in ARMS.items():
        classifier = TaskClassifier(catalog, threshold, "chat", lexical_weight=weight)
        result["arms"][arm] = run_arm(classifier, rows, threshold)
        result["arms"][arm]["held_out"] = run_arm(classifier, held_out, threshold)
    embeddings, mixed = result["arms"]["embeddings"], result["arms"]["embeddings_and_ngrams"]
    result["mixed_over_embeddings_accuracy"] = (
        round(mixed["accuracy"] / embeddings["accuracy"], 2) if embeddings["accuracy"] else None
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
