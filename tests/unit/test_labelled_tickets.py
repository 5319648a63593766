"""The benchmarks' labelled tickets are what their recipe builds: the committed data and the
script beside it cannot drift apart."""

import importlib.util
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def test_the_committed_tickets_are_what_the_recipe_builds() -> None:
    spec = importlib.util.spec_from_file_location("recipe", DATA / "build_labelled_tickets.py")
    assert spec is not None and spec.loader is not None
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    committed = [
        json.loads(line) for line in (DATA / "labelled_tickets.jsonl").read_text().splitlines()
    ]
    assert recipe.build() == committed
    assert {row["label"] for row in committed} == {
        "billing",
        "shipping",
        "damaged_item",
        "account",
        "refund",
        "other",
    }


def test_the_committed_grounding_set_is_what_its_recipe_builds() -> None:
    spec = importlib.util.spec_from_file_location("recipe", DATA / "build_grounding_set.py")
    assert spec is not None and spec.loader is not None
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    committed = [
        json.loads(line) for line in (DATA / "grounding_set.jsonl").read_text().splitlines()
    ]
    assert recipe.build() == committed
    assert len(committed) >= 150 and sum(row["lang"] == "de" for row in committed) >= 50
    assert all(set(row["fabricated"]) == set(recipe.KINDS) for row in committed)
