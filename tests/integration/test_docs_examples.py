"""Every Python example, and every shell example that talks to the API, in the README and the
documentation runs as written against the running stack (only its API key and address are this
stack's), so no example can fall behind. Shell examples that start servers are parsed by the
CLI instead (tests/unit/test_docs.py)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from genroute.local.stack import Stack
from tests.doc_blocks import code_blocks

pytestmark = pytest.mark.integration
KEY_LINE = re.compile(
    r'^KEY = json\.load\(open\("\.genroute/serve\.json"\)\)\["api_key"\].*$', re.M
)
ADDRESS = "http://127.0.0.1:8000"


EXAMPLES = code_blocks("python")
# Shell examples that talk to a running API (and start nothing themselves).
HTTP_EXAMPLES = [(n, code) for n, code in code_blocks("bash") if "localhost:8000" in code]


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


def test_the_docs_have_http_shell_examples() -> None:
    assert len(HTTP_EXAMPLES) >= 2, [name for name, _code in HTTP_EXAMPLES]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "code", [code for _name, code in HTTP_EXAMPLES], ids=[n for n, _c in HTTP_EXAMPLES]
)
def test_the_shell_example_runs(code: str, stack: Stack, tmp_path: Path) -> None:
    """Run with bash in a folder holding the key file `genroute serve` writes; the last
    command's answer is the task, with its attempts."""
    (tmp_path / ".genroute").mkdir()
    (tmp_path / ".genroute" / "serve.json").write_text(json.dumps({"api_key": stack.api_key}))
    script = tmp_path / "example.sh"
    script.write_text("set -euo pipefail\n" + code.replace("localhost:8000", stack.api_url))
    ran = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=100, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    answers = _json_values(ran.stdout)  # curl -s ends no answer with a newline
    assert len(answers) >= 1 and answers[-1]["id"] and answers[-1]["status"], ran.stdout
    assert answers[-1]["attempts"] is not None


def _json_values(text: str) -> list[dict]:
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return values
