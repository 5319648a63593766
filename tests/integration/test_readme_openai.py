"""The README's "Use it from the OpenAI SDK" example runs as written against the running
stack (only its API key and address are this stack's), so the example cannot fall behind."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from genroute.local.stack import Stack

pytestmark = pytest.mark.integration
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _example() -> str:
    section = README.split("### Use it from the OpenAI SDK", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no python example"
    return match.group(1)


@pytest.mark.timeout(300)
def test_the_openai_sdk_example_runs(stack: Stack, tmp_path: Path) -> None:
    code = _example()
    key_line = 'KEY = json.load(open(".genroute/serve.json"))["api_key"]'
    assert key_line in code and "http://127.0.0.1:8000/v1" in code
    code = code.replace(key_line, f"KEY = {stack.api_key!r}")
    code = code.replace("http://127.0.0.1:8000/v1", f"{stack.api_url}/v1")
    script = tmp_path / "example.py"
    script.write_text(code)
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=280, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "classification" in ran.stdout and "chat" in ran.stdout  # the model list, last
