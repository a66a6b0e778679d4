"""Run the `kondado-simulator` command as a user does, and read what it prints on start."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SIMULATOR = str(Path(sys.executable).with_name("kondado-simulator"))


@dataclass
class SimulatorProcess:
    """A running `kondado-simulator` and its start-up lines."""

    process: subprocess.Popen[str]
    banner: str

    @property
    def url(self) -> str:
        match = re.search(r"api_url: (\S+)", self.banner)
        assert match, self.banner
        return match.group(1)


@contextlib.contextmanager
def simulator_process(*args: str, command: str = SIMULATOR, timeout: float = 30) -> Iterator[SimulatorProcess]:
    """Start `kondado-simulator ARGS` on a free port; stop it with SIGTERM afterwards."""
    process = subprocess.Popen(
        [command, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield SimulatorProcess(process, _read_banner(process, timeout))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_banner(process: subprocess.Popen[str], timeout: float) -> str:
    """Lines up to "Ctrl-C stops it"; the simulator prints nothing more until it stops."""
    assert process.stdout is not None
    lines: list[str] = []

    def read() -> None:
        while not lines or "Ctrl-C" not in lines[-1]:
            line = process.stdout.readline()
            if not line:
                return
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or "Ctrl-C" not in lines[-1]:
        raise AssertionError(f"the simulator did not start within {timeout} s: {''.join(lines)}")
    return "".join(lines)
