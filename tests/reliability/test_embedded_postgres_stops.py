"""The embedded PostgreSQL stops when the last command using it ends, even after an earlier
command using it was killed outright (SIGKILL leaves its pid in pgserver's list of holders, and
pgserver then never stopped the server: it ran on long after every command had ended)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from genroute.local.embedded import embedded_postgres

pytestmark = pytest.mark.reliability

HOLD = """
import signal, sys
from pathlib import Path
from genroute.local.embedded import embedded_postgres
with embedded_postgres(Path(sys.argv[1])) as url:
    print(url, flush=True)
    signal.pause()  # until killed
"""


def _postmaster(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


@pytest.mark.timeout(120)
def test_a_killed_holder_does_not_keep_the_server_running(tmp_path: Path) -> None:
    killed = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert killed.stdout is not None and killed.stdout.readline().startswith("postgresql")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        if killed.stdout is not None:
            killed.stdout.close()
    assert _postmaster(tmp_path / "pg") is not None  # left running by the killed command
    try:
        with embedded_postgres(tmp_path):
            pass
        assert _postmaster(tmp_path / "pg") is None
    finally:  # never leave a server behind, even when the check fails
        if (pid := _postmaster(tmp_path / "pg")) is not None:
            os.kill(pid, signal.SIGTERM)
