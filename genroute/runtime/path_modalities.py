"""What each path's model takes in, as `workers/paths.yaml` declares it (`capabilities:
{modalities: [...]}`, text only by default; env GENROUTE_<PATH>_CAPABILITIES overrides the
capabilities, as it does for workers). The API routes requests with images or video by this,
so an attachment only ever goes to a path whose model can see it."""

import json
import os
from collections.abc import Mapping
from pathlib import Path

from genroute.config import read_yaml_mapping
from genroute.contract import Modality, PathName
from genroute.errors import PolicyError


def load_path_modalities(
    paths_file: Path, environ: Mapping[str, str] | None = None
) -> dict[PathName, frozenset[Modality]]:
    environ = os.environ if environ is None else environ
    entries = read_yaml_mapping(paths_file).get("paths") or {}
    taken = {}
    for path in PathName:
        entry = entries.get(path.value)
        capabilities = (entry.get("capabilities") if isinstance(entry, dict) else None) or {}
        variable = f"GENROUTE_{path.value.upper()}_CAPABILITIES"
        if variable in environ:
            try:
                capabilities = json.loads(environ[variable])
            except ValueError as exc:
                raise PolicyError(f"{paths_file}: environment variable {variable}: {exc}") from exc
        declared = (
            capabilities.get("modalities", ["text"]) if isinstance(capabilities, dict) else []
        )
        try:
            taken[path] = frozenset(Modality(name) for name in declared) | {Modality.text}
        except (TypeError, ValueError):
            raise PolicyError(
                f"{paths_file}: path '{path.value}': field 'capabilities.modalities': "
                f"{declared!r} is not a list of {[m.value for m in Modality]}"
            ) from None
    return taken
