"""Child processes (API, workers, Flower) started in their own process group and always
reaped, so a command, demo or test leaves nothing running behind it, on every way out: stopping
sends SIGTERM to every group at once and waits for all within one grace period; a second
Ctrl-C (or the grace running out) hurries it to SIGKILL, never abandons a child."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

GENROUTE = (sys.executable, "-m", "genroute")


class ManagedProcess:
    """A child (`python -m genroute ARGS` unless `program` says otherwise) whose output goes to
    a log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_dir: Path,
        program: Sequence[str] = GENROUTE,
    ) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in reap()
        self.process = subprocess.Popen(
            [*program, *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever outlives the grace period."""
        stop_all([self], grace_s)

    def signal_group(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, number)

    def wait_until(self, deadline: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))

    def reap(self) -> None:
        """SIGKILL the group (its children too, whatever the leader did) and collect it."""
        self.signal_group(signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def stop_all(processes: Iterable[ManagedProcess], grace_s: float = 20.0) -> None:
    """Stop every process within one grace period (see the module's docstring); a Ctrl-C that
    arrives meanwhile hurries the stop, then propagates once everything is reaped."""
    processes = list(processes)
    hurried = False
    for process in processes:
        process.signal_group(signal.SIGTERM)
    try:
        deadline = time.monotonic() + grace_s
        for process in processes:
            process.wait_until(deadline)
    except KeyboardInterrupt:
        hurried = True
    finally:
        with signals_held():
            for process in processes:
                process.reap()
    if hurried:
        raise KeyboardInterrupt


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (delivered once the block ends) while cleanup that must not be
    cut short runs; only the main thread receives them, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def terminate(process: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM a single child (not a group), SIGKILL it after `grace_s`, and collect it."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_in_foreground(command: list[str], env: dict[str, str], grace_s: float = 10.0) -> int:
    """Run `command` until it exits, passing SIGINT, SIGTERM and SIGHUP on to its process group
    as SIGTERM, then SIGKILL after `grace_s` (or at a second signal): a supervisor's SIGTERM to
    this process never leaves the child running behind it. Returns its exit status."""
    child = subprocess.Popen(command, env=env, start_new_session=True)
    signalled_at: list[float] = []

    def pass_on(_number: int, _frame: object) -> None:
        signalled_at.append(time.monotonic())
        last = signal.SIGKILL if len(signalled_at) > 1 else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, last)

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, pass_on) for number in signals}
    try:
        while child.poll() is None:
            if signalled_at and time.monotonic() - signalled_at[0] > grace_s:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever is left of its group
        child.wait()
        for number, handler in previous.items():
            signal.signal(number, handler)
    return child.returncode
