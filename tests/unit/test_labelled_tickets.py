"""The benchmarks' labelled data is what their recipes build: the committed data and the
script beside it cannot drift apart."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def _recipe_and_data(recipe_name: str, data_name: str) -> tuple[ModuleType, list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location("recipe", DATA / recipe_name)
    assert spec is not None and spec.loader is not None
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    committed = [json.loads(line) for line in (DATA / data_name).read_text().splitlines()]
    return recipe, committed


def test_the_committed_tickets_are_what_the_recipe_builds() -> None:
    recipe, committed = _recipe_and_data("build_labelled_tickets.py", "labelled_tickets.jsonl")
    assert recipe.build() == committed
    labels = {"billing", "shipping", "damaged_item", "account", "refund", "other"}
    assert {row["label"] for row in committed} == labels


def test_the_committed_grounding_set_is_what_its_recipe_builds() -> None:
    recipe, committed = _recipe_and_data("build_grounding_set.py", "grounding_set.jsonl")
    assert recipe.build() == committed
    assert len(committed) >= 150 and sum(row["lang"] == "de" for row in committed) >= 50
    assert all(set(row["fabricated"]) == set(recipe.KINDS) for row in committed)
