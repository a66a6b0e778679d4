"""Run a module (as `python -m` would) or a script, and write its peak RSS (kB) to $PEAK_RSS_FILE.

PEAK_RSS_FILE=peak python benchmarks/peak_rss.py tap_kondado --config config.json
PEAK_RSS_FILE=peak python benchmarks/peak_rss.py benchmarks/plain_loop.py URL KEY TOKEN

The kernel's ru_maxrss of a child counts the parent's memory at fork time, so a child
started by a benchmark that holds the simulator's data would look as big as the
benchmark. VmHWM of the child's own address space is read here instead.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path


def _write_peak() -> None:
    status = Path("/proc/self/status").read_text()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    Path(os.environ["PEAK_RSS_FILE"]).write_text(peak)


if __name__ == "__main__":
    target = sys.argv[1]
    sys.argv = [target, *sys.argv[2:]]
    atexit.register(_write_peak)
    if target.endswith(".py") or Path(target).is_file():  # a script, such as an entry point in a venv's bin
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
