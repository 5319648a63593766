"""Small rooms: no product module over 300 lines and no function over 60, so each stays one job
that can be read in one sitting (tests and benchmarks are not product code)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("genroute", "api", "workers", "policies", "migrations")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _product_files() -> list[Path]:
    return [path for top in PRODUCT for path in sorted((ROOT / top).rglob("*.py"))]


def test_modules_are_small() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _product_files()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_functions_are_small() -> None:
    long = {}
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert not long, long
