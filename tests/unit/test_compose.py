"""The compose stack is valid Compose and keeps its invariants: one GPU per worker, only the
API exposed, secrets from the environment."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "data" / "compose-spec.json"
COMPOSE_FILES = sorted((ROOT / "compose").glob("*.yaml"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.skipif(not SPEC.exists(), reason=f"Compose Specification schema not at {SPEC}")
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_matches_the_compose_specification(path: Path) -> None:
    # The schema names draft-07 without the trailing '#', so pick the validator explicitly.
    jsonschema.Draft7Validator(json.loads(SPEC.read_text())).validate(_load(path))


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_invariants(path: Path) -> None:
    services = _load(path)["services"]
    workers = {name: s for name, s in services.items() if s.get("command", [None])[0] == "worker"}
    assert workers, "no worker services"
    for name, service in workers.items():
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and len(devices[0]["device_ids"]) == 1, name
        assert "gpu" in devices[0]["capabilities"], name
    exposed = {name for name, s in services.items() if s.get("ports")}
    assert exposed == {"api"}
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert str(value).startswith("${"), f"{name}: {key} is written into the file"
            credentials = re.search(r"://[^:/@]+:([^@]+)@", str(value))
            if credentials:
                assert credentials.group(1).startswith("${"), f"{name}: {key} embeds a password"
