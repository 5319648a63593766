"""`genroute serve` as a person runs it: it prints the API, the console and Flower with its
generated credentials; the console answers its key (which may review); Flower refuses a call
without the credentials and answers one with them; Ctrl-C stops everything it started."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from genroute.local.embedded import child_environment
from genroute.local.stack import free_port
from genroute.settings import Settings
from tests.helpers import isolated_settings

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_serve_prints_the_console_and_flower_and_stops_on_ctrl_c(
    settings: Settings, tmp_path: Path
) -> None:
    with isolated_settings(settings, redis_db=12, data_dir=tmp_path, api_port=free_port()) as own:
        env = child_environment(own)
        served = subprocess.Popen(
            [sys.executable, "-m", "genroute", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        try:
            deadline = time.monotonic() + 240
            while not any("Ctrl-C stops everything" in line for line in lines):
                assert time.monotonic() < deadline and served.poll() is None, "".join(lines)
                lines.append(served.stdout.readline())
            printed = "".join(lines)
            console = re.search(r"console: (\S+)", printed).group(1)
            flower, password = re.search(
                r"Flower: (\S+) \(user local, password (\S+)\)", printed
            ).groups()
            key = re.search(r"API key: (\S+)", printed).group(1)
            assert "sign in" in httpx.get(console).text.lower()
            signed_in = httpx.post(f"{console}sign-in", data={"key": key}, follow_redirects=True)
            assert "data-status='refused'" not in signed_in.text  # the local key may review
            assert httpx.get(f"{flower}/api/workers").status_code == 401
            assert httpx.get(f"{flower}/api/workers", auth=("local", password)).status_code == 200
        finally:
            served.send_signal(signal.SIGINT)
            assert served.wait(timeout=120) == 0
            served.stdout.close()
    children = subprocess.run(
        ["pgrep", "-f", f"genroute flower --port {flower.rsplit(':', 1)[1]}"], capture_output=True
    )
    assert children.returncode == 1  # Flower stopped with it
