"""The benchmarks' labelled data is what their recipes build: the committed data and the
script beside it cannot drift apart."""

import importlib.util
import io
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


def test_the_committed_image_set_is_what_its_recipe_builds_and_renders() -> None:
    from genroute.local.screenshots import render
    from genroute.runtime.media import decode_image

    recipe, committed = _recipe_and_data("build_image_set.py", "image_set.jsonl")
    assert recipe.build() == committed
    kinds = {"error_dialog", "invoice", "shipping_label", "low_contrast", "chart"}
    assert {row["kind"] for row in committed} == kinds and len(committed) == 40
    assert sum(row["language"] == "de" for row in committed) == 20
    for row in committed:
        # The ticket never holds the image's facts: grounding must find them in the image.
        assert not any(fact in row["ticket"] for fact in row["facts"]), row["id"]
        image = decode_image(io.BytesIO(render(row["spec"])), 10**7)
        width, height = row["spec"]["size"]
        turned = row["spec"].get("rotate", 0) in (90, 270)
        assert (image.width, image.height) == ((height, width) if turned else (width, height))
