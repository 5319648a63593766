"""Read a YAML file into a pydantic model, turning every failure into a PolicyError that names
the file, the item (task type or rule) and the field."""

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from genroute.contract import PathName
from genroute.errors import PolicyError

ModelT = TypeVar("ModelT", bound=BaseModel)
# Given the raw file contents and an error location, name the item it is in ("rule 'x': ").
ItemNamer = Callable[[dict[str, Any], tuple[Any, ...]], str]


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse `path` as a YAML mapping or raise PolicyError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def validate_mapping(
    path: Path, data: dict[str, Any], model: type[ModelT], name_item: ItemNamer | None = None
) -> ModelT:
    """Validate already-parsed `data` from `path` against `model`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            item = name_item(data, loc) if name_item else ""
            field = ".".join(str(part) for part in loc) or "(top level)"
            problems.append(f"{item}field '{field}': {error['msg']}")
        raise PolicyError(f"{path}: " + "; ".join(problems)) from exc


def validate_file(path: Path, model: type[ModelT], name_item: ItemNamer | None = None) -> ModelT:
    """Read and validate the YAML file at `path` against `model`."""
    return validate_mapping(path, read_yaml_mapping(path), model, name_item)


def path_queues(paths_file: Path) -> dict[PathName, tuple[str, ...]]:
    """The queues each path's workers consume, as workers/paths.yaml declares them."""
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    return {
        path: tuple(entry.get("queues") or ())
        for path in PathName
        if isinstance(entry := entries.get(path.value), dict)
    }


def batch_widths(paths_file: Path, environ: Mapping[str, str] | None = None) -> dict[PathName, int]:
    """Each path's batch width as its workers run it: GENROUTE_<PATH>_BATCH_WIDTH where set
    (the override workers apply), else workers/paths.yaml's (1 where it says none). The API's
    estimates and `genroute capacity` must use the width the workers run, not the file's."""
    environ = os.environ if environ is None else environ
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    widths = {}
    for path in PathName:
        entry = entries.get(path.value)
        declared = entry.get("batch_width", 1) if isinstance(entry, dict) else 1
        name = f"GENROUTE_{path.value.upper()}_BATCH_WIDTH"
        try:
            widths[path] = int(environ.get(name, declared))
        except ValueError:
            raise PolicyError(f"{paths_file}: {name}: '{environ[name]}' is not a number") from None
    return widths
