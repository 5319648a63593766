"""Dependencies point one way: policies -> genroute contract; api and workers never import
each other; genroute's core never imports api or workers (the CLI entry points excepted)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden", "allowed_files"),
    [
        ("policies", ("api", "workers", "genroute.db", "sqlalchemy", "redis", "celery"), ()),
        ("api", ("workers",), ()),
        ("workers", ("api",), ()),
        ("genroute", ("api", "workers"), ("genroute/cli.py", "genroute/cli_ops.py")),
    ],
)
def test_import_direction(package: str, forbidden: tuple[str, ...], allowed_files: tuple) -> None:
    bad = [
        (file, module)
        for file, module in _imports(package)
        if file not in allowed_files
        and any(module == f or module.startswith(f + ".") for f in forbidden)
    ]
    assert not bad, bad
