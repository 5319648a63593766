"""Stopping what a command started: every child gets SIGTERM at once and one grace period; one
that ignores it is killed, and a Ctrl-C during the wait hurries the stop without leaving any
child behind (real processes here, since that is what is being tested)."""

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genroute.local.processes import ManagedProcess, stop_all
from tests.helpers import wait_until

pytestmark = pytest.mark.reliability

# A child says it is ready, then waits for whatever signal stops it.
READY = "print('ready', flush=True); signal.pause()"
STUBBORN = f"import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); {READY}"
POLITE = f"import signal; {READY}"


def _child(tmp_path: Path, name: str, code: str) -> ManagedProcess:
    process = ManagedProcess(name, [], dict(os.environ), tmp_path, (sys.executable, "-c", code))
    wait_until(lambda: "ready" in process.log_path.read_text(), 10, f"{name} ready")
    return process


def _gone(process: ManagedProcess) -> bool:
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_one_grace_period_for_all_then_kill(tmp_path: Path) -> None:
    children = [_child(tmp_path, f"stubborn-{n}", STUBBORN) for n in range(2)]
    children.append(_child(tmp_path, "polite", POLITE))
    started = time.monotonic()
    stop_all(children, grace_s=1.0)
    assert time.monotonic() - started < 3.0  # not a grace period each
    assert all(_gone(child) for child in children)


@pytest.fixture
def ctrl_c_interrupts() -> Iterator[None]:
    """Python's own SIGINT handler for the test: a shell without job control (`cmd &`, as in
    a background CI script) starts its background jobs with SIGINT ignored, and Python keeps
    it ignored, so the test would measure the shell, not `stop_all`."""
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, earlier)


def test_a_second_ctrl_c_hurries_the_stop_and_orphans_nothing(
    tmp_path: Path, ctrl_c_interrupts: None
) -> None:
    children = [_child(tmp_path, f"stubborn-{n}", STUBBORN) for n in range(3)]
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        stop_all(children, grace_s=30.0)
    assert time.monotonic() - started < 5.0
    assert all(_gone(child) for child in children)
