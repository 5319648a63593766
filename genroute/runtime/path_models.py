"""Which model each path serves, as `workers/paths.yaml` declares it (`model`; env
GENROUTE_<PATH>_MODEL overrides, as it does for workers). The cache of accepted outputs keys
on it, so a path that changes its model answers its first repeats afresh."""

import os
from collections.abc import Mapping
from pathlib import Path

from genroute.config import read_yaml_mapping
from genroute.contract import PathName


def load_path_models(
    paths_file: Path, environ: Mapping[str, str] | None = None
) -> dict[PathName, str]:
    environ = os.environ if environ is None else environ
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    models = {}
    for path in PathName:
        entry = entries.get(path.value)
        declared = str(entry.get("model", "")) if isinstance(entry, dict) else ""
        models[path] = environ.get(f"GENROUTE_{path.value.upper()}_MODEL", declared)
    return models
