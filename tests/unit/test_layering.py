"""Dependencies point one way. Each room of the code may import only the rooms below it:

    core (contract, errors, settings, config, interfaces)   nothing of the project
    client, policies, observability                          the core
    db                                                       the core and policies
    runtime                                                  + db, observability
    analysis                                                 + runtime, client
    api, workers                                             + analysis (api); never each other
    local, cli                                               anything (only they start api/workers)
    migrations                                               env.py: core and db; versions: none

Every pair of rooms is checked in both directions, with lazy (in-function) imports counted.
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Where each room's files live (repository paths) and the module prefixes that name it.
ROOMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "core": (
        (
            "genroute/__init__.py",
            "genroute/contract",
            "genroute/errors.py",
            "genroute/settings.py",
            "genroute/config.py",
            "genroute/interfaces.py",
            "genroute/data",
        ),
        (
            "genroute.contract",
            "genroute.errors",
            "genroute.settings",
            "genroute.config",
            "genroute.interfaces",
            "genroute.data",
        ),
    ),
    "client": (("genroute/client",), ("genroute.client",)),
    "policies": (("policies",), ("genroute.policies",)),
    "observability": (("genroute/observability",), ("genroute.observability",)),
    "db": (("genroute/db",), ("genroute.db",)),
    "runtime": (("genroute/runtime",), ("genroute.runtime",)),
    "analysis": (("genroute/analysis",), ("genroute.analysis",)),
    "api": (("api",), ("genroute.api",)),
    "workers": (("workers",), ("genroute.workers",)),
    "local": (("genroute/local",), ("genroute.local",)),
    "cli": (("genroute/cli", "genroute/__main__.py"), ("genroute.cli",)),
    "migration_env": (("migrations/env.py", "migrations/__init__.py"), ("genroute.migrations",)),
    "migration_versions": (("migrations/versions",), ("genroute.migrations.versions",)),
}

BASE = {"core"}
MAY_IMPORT: dict[str, set[str]] = {
    "core": BASE,
    "client": BASE,
    "policies": BASE,
    "observability": BASE,
    "db": BASE | {"policies"},
    "runtime": BASE | {"policies", "db", "observability"},
    "analysis": BASE | {"policies", "db", "runtime", "observability", "client"},
    "api": BASE | {"policies", "db", "runtime", "observability", "analysis"},
    "workers": BASE | {"policies", "db", "runtime", "observability"},
    "local": set(ROOMS) - {"cli", "migration_versions"},
    "cli": set(ROOMS) - {"migration_versions"},
    "migration_env": BASE | {"db"},
    "migration_versions": set(),
}


def _room_of_file(path: str) -> str:
    for room, (places, _modules) in ROOMS.items():
        if any(path == place or path.startswith(place + "/") for place in places):
            return room
    raise AssertionError(f"{path} belongs to no room; add it to ROOMS")


def _room_of_module(module: str) -> str | None:
    """The room a genroute module is in (longest prefix wins); None outside the project."""
    if module != "genroute" and not module.startswith("genroute."):
        return None
    best, best_len = None, -1
    for room, (_places, prefixes) in ROOMS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = room, len(prefix)
    return best


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # `from genroute import migrations` names a module, not only a package.
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _edges() -> dict[tuple[str, str], list[str]]:
    """(room, imported room) -> the files and modules that make that edge."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for top in ("genroute", "api", "workers", "policies", "migrations"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            room = _room_of_file(relative)
            for module in _imports(path):
                target = _room_of_module(module)
                if target is not None and target != room:
                    edges[(room, target)].append(f"{relative} imports {module}")
    return edges


EDGES = _edges()
PAIRS = [(a, b) for a in ROOMS for b in ROOMS if a != b]


@pytest.mark.parametrize(("room", "other"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_room_imports_only_what_it_may(room: str, other: str) -> None:
    if other in MAY_IMPORT[room]:
        return
    assert not EDGES.get((room, other)), EDGES[(room, other)]


def test_the_table_is_not_vacuous() -> None:
    """The checks above see real imports: rooms that must depend on others do."""
    for edge in [("api", "runtime"), ("workers", "db"), ("cli", "api"), ("cli", "workers")]:
        assert EDGES.get(edge), f"expected {edge[0]} to import {edge[1]}"


def test_core_and_client_need_only_the_base_install() -> None:
    """A producer's `pip install genroute` has httpx, pydantic, pydantic-settings, PyYAML,
    click and tqdm; the core and the client must import nothing else, even lazily."""
    allowed = {"httpx", "pydantic", "pydantic_settings", "yaml", "click", "tqdm", "genroute"}
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for place in (*ROOMS["core"][0], *ROOMS["client"][0]):
        target = ROOT / place
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            for module in _imports(path):
                top = module.split(".")[0]
                if top not in allowed and top not in stdlib:
                    bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, bad


def test_policies_do_no_io() -> None:
    """Policy evaluation is pure: no database, broker or HTTP client reaches it."""
    io = ("sqlalchemy", "redis", "celery", "kombu", "httpx", "socket", "requests")
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "policies").rglob("*.py"))
        for module in _imports(path)
        if module.split(".")[0] in io
    ]
    assert not bad, bad
