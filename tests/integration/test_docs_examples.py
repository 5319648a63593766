"""Every Python example in the README and the documentation runs as written against the running
stack (only its API key and address are this stack's), so no example can fall behind."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from genroute.local.stack import Stack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY_LINE = re.compile(
    r'^KEY = json\.load\(open\("\.genroute/serve\.json"\)\)\["api_key"\].*$', re.M
)
ADDRESS = "http://127.0.0.1:8000"


def _examples() -> list[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [
        (f"{page.relative_to(ROOT)}#{number}", code)
        for page in pages
        for number, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
    ]


EXAMPLES = _examples()


def test_the_docs_have_python_examples() -> None:
    assert len(EXAMPLES) >= 3, [name for name, _code in EXAMPLES]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("code", [code for _name, code in EXAMPLES], ids=[n for n, _c in EXAMPLES])
def test_the_example_runs(code: str, stack: Stack, tmp_path: Path) -> None:
    assert KEY_LINE.search(code) and ADDRESS in code, "an example reads the key serve wrote"
    code = KEY_LINE.sub(f"KEY = {stack.api_key!r}", code)
    script = tmp_path / "example.py"
    script.write_text(code.replace(ADDRESS, stack.api_url))
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=280, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip(), "the example printed nothing"
