"""False flags and recall of the output validators on two sets, per validator, per kind of
invented fact and per language, side by side in one run.

    .venv/bin/python bench/validators.py [--quick] [--judge-items N]

The multilingual set (bench/support/multilingual_set.py) is 64 hand-written tickets in English,
German and French, a quarter of them summarised in another language, with one invented fact of
each kind per summary; its targets are the issue's: false flags at most 5% on English and 10% on
German summaries, recall at least 95% on every kind, and the cost per summary. Claim support
runs twice there, with and without translating across languages, to show what that adds.

bench/data/grounding_set.jsonl (built by build_grounding_set.py) holds 160 messy support tickets,
96 English and 64 German, each with a grounded summary and the same summary with one
fabricated fact of each kind. A validator's false-flag rate is the share of grounded summaries
it refuses; its recall on a kind is the share of that kind's fabricated summaries it refuses.
`combined` is every validator `ticket_summary` runs as shipped (policies/task_types.yaml),
an output accepted only when all pass. The LLM judge (on the development autoregressive model,
in process) answers for the grounded summaries and the two kinds only meaning reveals, on the
first `--judge-items` items (default 40; one generation each, slow on CPU). `--quick` (16
items, 1 judged) is what the test suite runs.
"""

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from support.multilingual_set import FACT_KINDS, multilingual_set

from genroute.interfaces import ValidationInput, Validator
from genroute.policies import load_catalog
from genroute.policies.catalog import JudgeConfig
from genroute.settings import Settings
from genroute.workers.validation.claims import ClaimSupport
from genroute.workers.validation.grounding import Grounding
from genroute.workers.validation.lexicon import LEXICON_FILE, lexicon
from genroute.workers.validation.pipeline import validate, validators_for

ITEMS = Path(__file__).resolve().parent / "data" / "grounding_set.jsonl"
SURFACE_KINDS = ("number", "date", "id", "email", "person", "product", "amount_in_words")
MEANING_KINDS = ("uncapitalised_claim", "reversed_meaning")
TARGETS = {"max_false_flag_rate": 0.05, "min_surface_recall": 0.95}
MULTILINGUAL_TARGETS = {"max_false_flag_rate": {"en": 0.05, "de": 0.10}, "min_recall": 0.95}


def grounding_set(count: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in ITEMS.read_text().splitlines() if line.strip()]
    if count is None:
        return rows
    # Half of each language, spread over the set, so a short run sees both and most scenarios.
    picked = []
    for lang in ("en", "de"):
        of_language = [row for row in rows if row["lang"] == lang]
        picked += of_language[:: max(1, len(of_language) // (count // 2))][: count // 2]
    return picked


class Combined:
    """Every validator of the task type, as the worker runs them: refused if any refuses."""

    name = "combined"

    def __init__(self, validators: list[Validator]) -> None:
        self._validators = validators

    def refuses(self, subject: ValidationInput) -> bool:
        return not all(verdict.passed for verdict in validate(self._validators, subject))


def _refuses(validator: Validator | Combined, subject: ValidationInput) -> bool:
    if isinstance(validator, Combined):
        return validator.refuses(subject)
    return not validator.check(subject).passed


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def measure(
    validator: Validator | Combined,
    rows: list[dict[str, Any]],
    prompt_for: Any,
    kinds: tuple[str, ...] = SURFACE_KINDS + MEANING_KINDS,
) -> dict[str, Any]:
    """Refusals per kind, per summary language and (where rows have one) per language pair."""
    flagged: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # key -> [refused, seen]
    misses: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    checks = 0
    for row in rows:
        cases = [("grounded", row["summary"]), *row["fabricated"].items()]
        for kind, output in cases:
            subject = ValidationInput(output, row["ticket"], prompt_for(row["ticket"]), 96, None)
            refused = _refuses(validator, subject)
            checks += 1
            for key in (kind, f"{kind}/{row['lang']}", f"{kind}/{row.get('pair')}"):
                flagged[key][0] += refused
                flagged[key][1] += 1
            wrong = refused if kind == "grounded" else not refused
            if wrong and len(misses[kind]) < 3:
                misses[kind].append(f"{row['id']}: {output[-160:]}")
    groups = sorted({row["lang"] for row in rows} | {row["pair"] for row in rows if "pair" in row})

    def by_group(kind: str) -> dict[str, float | None]:
        return {"all": _rate(*flagged[kind])} | {
            group: _rate(*flagged[f"{kind}/{group}"]) for group in groups
        }

    return {
        "false_flag_rate": by_group("grounded"),
        "recall": {kind: by_group(kind) for kind in kinds},
        "examples_wrong": dict(misses),
        "ms_per_check": round(1000 * (time.perf_counter() - started) / checks, 2),
    }


def measure_multilingual(
    validators: dict[str, Validator | Combined], quick: bool, prompt_for: Any
) -> dict[str, Any]:
    """The multilingual set, its targets and what one summary costs to check."""
    rows = multilingual_set(16 if quick else None)
    compared = {
        **validators,
        "claim_support_untranslated": ClaimSupport(
            validators["claim_support"].min_support,
            translate=False,  # type: ignore[union-attr]
        ),
    }
    results = {name: measure(v, rows, prompt_for, FACT_KINDS) for name, v in compared.items()}
    combined = results["combined"]
    flags = combined["false_flag_rate"]
    return {
        "items": len(rows),
        "summaries_by_language": {
            lang: sum(row["lang"] == lang for row in rows)
            for lang in sorted({r["lang"] for r in rows})
        },
        "pairs": sorted({row["pair"] for row in rows}),
        "validators": results,
        "cost_per_summary_ms": combined["ms_per_check"],
        "lexicon": {
            "installed": lexicon() is not None,
            "mb": round(LEXICON_FILE.stat().st_size / 1e6, 1) if LEXICON_FILE.exists() else None,
        },
        "targets": MULTILINGUAL_TARGETS,
        "targets_held": {
            "false_flags": all(
                flags.get(lang) is not None and flags[lang] <= limit
                for lang, limit in MULTILINGUAL_TARGETS["max_false_flag_rate"].items()
            ),
            "recall_on_every_kind": all(
                combined["recall"][kind]["all"] >= MULTILINGUAL_TARGETS["min_recall"]
                for kind in FACT_KINDS
            ),
        },
    }


def measure_judge(judge: Any, rows: list[dict[str, Any]], prompt_for: Any) -> dict[str, Any]:
    """The judge's false flags and recall on the kinds only meaning reveals, and how often its
    answer could not be read (each counts as refused: the judge fails closed)."""
    refused: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    unparseable = checks = 0
    started = time.perf_counter()
    for row in rows:
        for kind in ("grounded", *MEANING_KINDS):
            output = row["summary"] if kind == "grounded" else row["fabricated"][kind]
            subject = ValidationInput(output, row["ticket"], prompt_for(row["ticket"]), 96, None)
            verdict = judge.check(subject)
            checks += 1
            unparseable += verdict.details["verdict"] == "judge_unparseable"
            for key in (kind, f"{kind}/{row['lang']}"):
                refused[key][0] += not verdict.passed
                refused[key][1] += 1
    languages = sorted({row["lang"] for row in rows})

    def rates(kind: str) -> dict[str, float | None]:
        return {"all": _rate(*refused[kind])} | {
            lang: _rate(*refused[f"{kind}/{lang}"]) for lang in languages
        }

    return {
        "items": len(rows),
        "false_flag_rate": rates("grounded"),
        "recall": {kind: rates(kind) for kind in MEANING_KINDS},
        "unparseable_rate": _rate(unparseable, checks),
        "s_per_judgement": round((time.perf_counter() - started) / max(1, checks), 2),
    }


def build_judge(settings: Settings, config: Any) -> Any:
    """The judge on the configured path's engine, loaded in this process as a worker would."""
    from genroute.workers.engines.registry import build_engine, load_paths
    from genroute.workers.validation.judge import Judge

    path_config = load_paths(settings.paths_file)[config.path]
    engine = build_engine(path_config, settings.model_cache_dir, settings.torch_threads)

    def cost_of(generation: Any) -> dict[str, float]:
        held = (generation.finished_at - generation.started_at).total_seconds()
        return {"gpu_seconds": held, "cost": held * path_config.cost_per_gpu_hour / 3600}

    return Judge(
        lambda request: engine.generate([request])[0],
        cost_of,
        config.path.value,
        config.question,
        config.max_output_tokens,
    )


def targets_held(combined: dict[str, Any]) -> dict[str, bool]:
    flags = [v for k, v in combined["false_flag_rate"].items() if k != "all"]
    surface = [combined["recall"][kind]["all"] for kind in SURFACE_KINDS]
    return {
        "false_flags_at_most_5_percent_in_each_language": all(
            v is not None and v <= TARGETS["max_false_flag_rate"] for v in flags
        ),
        "surface_recall_at_least_95_percent": all(
            v is not None and v >= TARGETS["min_surface_recall"] for v in surface
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 items, for the tests")
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--judge-items", type=int, default=None, help="items the judge answers")
    args = parser.parse_args()
    rows = grounding_set(16 if args.quick else None)
    settings = Settings()
    catalog = load_catalog(settings.task_types_file)
    summary_type = catalog.get("ticket_summary")
    min_support = summary_type.validation.claim_support or 0.3

    def prompt_for(ticket: str) -> str:
        return summary_type.prompt_template.replace("{input}", ticket)

    validators: dict[str, Validator | Combined] = {
        "grounding": Grounding(),
        "claim_support": ClaimSupport(min_support),
        "combined": Combined(validators_for(summary_type, {})),
    }
    results = {name: measure(v, rows, prompt_for) for name, v in validators.items()}
    multilingual = measure_multilingual(validators, args.quick, prompt_for)
    judge_config = summary_type.validation.judge or JudgeConfig()
    judged = rows[: args.judge_items or (1 if args.quick else 40)]
    results["judge"] = measure_judge(build_judge(settings, judge_config), judged, prompt_for)
    report = {
        "bench": "validators",
        "items": len(rows),
        "languages": {lang: sum(r["lang"] == lang for r in rows) for lang in ("en", "de")},
        "checks_per_item": 1 + len(SURFACE_KINDS) + len(MEANING_KINDS),
        "claim_support_min_support": min_support,
        "combined_validators": [v.name for v in validators_for(summary_type, {})],
        "validators": results,
        "targets": TARGETS,
        "targets_held": targets_held(results["combined"]),
        "multilingual": multilingual,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }
    text = json.dumps(report)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
