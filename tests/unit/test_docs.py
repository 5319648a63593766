"""The documentation site builds in strict mode (a broken link or anchor, a page missing from
the navigation or a page the navigation names that does not exist fails it), its generated
references hold every setting and every operation, and the README stays a landing page."""

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from genroute.contract import PathName
from genroute.settings import Settings
from genroute.workers.engines.registry import PATH_ENV_FIELDS
from tests.cli_parsing import genroute_parses
from tests.doc_blocks import code_blocks, shell_commands

ROOT = Path(__file__).resolve().parents[2]
# Read by commands outside the settings model (documented by hand on the configuration page).
OUTSIDE_SETTINGS = {
    "GENROUTE_GPU_ID",
    "GENROUTE_API_URL",
    "GENROUTE_API_KEY",
    "GENROUTE_DICTIONARY_DIR",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return site_dir


def test_the_configuration_reference_is_every_setting(site: Path) -> None:
    page = (site / "reference" / "configuration" / "index.html").read_text()
    missing = [
        name
        for name in (f"GENROUTE_{field.upper()}" for field in Settings.model_fields)
        if f"<code>{name}</code>" not in page
    ]
    assert not missing, missing
    assert all(field.description for field in Settings.model_fields.values())


def test_the_http_reference_is_every_operation(site: Path) -> None:
    document = json.loads((site / "reference" / "openapi.json").read_text())
    page = (site / "reference" / "http-api" / "index.html").read_text()
    missing = [path for path in document["paths"] if f" {path}</code>" not in page]
    assert not missing, missing


def test_every_variable_the_docs_name_exists() -> None:
    """A renamed setting cannot linger in the prose under its old name."""
    known = {f"GENROUTE_{field.upper()}" for field in Settings.model_fields} | OUTSIDE_SETTINGS
    known |= {
        f"GENROUTE_{path.value.upper()}_{field.upper()}"
        for path in PathName
        for field in PATH_ENV_FIELDS
    }
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    named = {
        (page.relative_to(ROOT).as_posix(), name)
        for page in pages
        for name in re.findall(r"GENROUTE_[A-Z0-9_]*[A-Z0-9]", page.read_text())
    }
    unknown = sorted(
        (page, name)
        for page, name in named
        if name not in known and not name.startswith(("GENROUTE_TEST_", "GENROUTE_<"))
    )
    assert not unknown, unknown


def test_the_readme_is_a_landing_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


SHELL_COMMANDS = [
    (where, words) for where, code in code_blocks("bash") for words in shell_commands(code)
]


def test_every_genroute_command_in_the_docs_is_one_it_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands that start servers cannot run in a test as written; each is parsed by the
    CLI itself instead, so a renamed command or option cannot linger in the docs."""
    monkeypatch.chdir(tmp_path)  # file options are opened while parsing
    shown = [(where, words) for where, words in SHELL_COMMANDS if words[0].endswith("genroute")]
    assert len(shown) >= 15
    refused = []
    for where, words in shown:
        try:
            genroute_parses(words[1:])
        except click.UsageError as error:
            refused.append(f"{where}: {' '.join(words)}: {error.format_message()}")
    assert not refused, refused


def test_every_dev_py_command_in_the_docs_exists() -> None:
    usage = (ROOT / "dev.py").read_text().split('"""')[1]
    shown = [
        (where, words) for where, words in SHELL_COMMANDS if words[:2] == ["python3", "dev.py"]
    ]
    assert shown
    unknown = [(where, words) for where, words in shown if f"dev.py {words[2]} " not in usage]
    assert not unknown, unknown
