"""`make test`'s pytest part: the suite in two halves, then one closing line and one exit code for both.

1. Every test not marked `serial`, on WORKERS pytest-xdist workers at once: most of the suite waits
   (simulated rate limits, tap processes, Meltano, PostgreSQL), so more workers than cores pay off.
2. The `serial` tests, alone in one process: they time things, and concurrent tests would stretch them.

Both halves always run. The exit code is the first half's failure, else the second's. "No tests ran"
(pytest's 5) is fine for one half when arguments narrow the run (`make test PYTEST_ARGS=tests/test_x.py`)
and the other half ran tests; over the whole suite each half must run tests, and a run in which neither
half ran a test fails. The last line is pytest's own summary line, summed over both halves.

Usage: python scripts/run_tests.py [--workers N] [pytest arguments...]
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

NO_TESTS_RAN = 5  # pytest's ExitCode.NO_TESTS_COLLECTED, also when `-m` deselects every test
DEFAULT_WORKERS = 4  # twice the cores: measured faster and cheaper than 8 on this 2-core machine under load
# pytest's closing line, e.g. "====== 1 failed, 570 passed, 24 deselected in 101.23s (0:01:41) ======"
SUMMARY = re.compile(r"^=+ (?P<counts>.+?) in (?P<seconds>[\d.]+)s(?: \([\d:]+\))? =+$")
COUNT = re.compile(r"(\d+) (\w+)")
ANSI = re.compile(r"\x1b\[[\d;]*m")
# The order pytest prints them in; "deselected" is left out of the total (each half deselects the other).
KINDS = ("failed", "passed", "skipped", "xfailed", "xpassed", "warnings", "errors")
PLURAL = {"warning": "warnings", "error": "errors"}
SINGULAR = {v: k for k, v in PLURAL.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args, pytest_args = parser.parse_known_args(argv)
    pytest = [str(Path(sys.executable).with_name("pytest"))]
    if sys.stdout.isatty():
        pytest.append("--color=yes")
    started = time.monotonic()
    halves = [
        run([*pytest, "-n", str(args.workers), "--dist", "loadgroup", "-m", "not serial", *pytest_args], "parallel"),
        run([*pytest, "-m", "serial", *pytest_args], "serial"),
    ]
    code, problem = exit_code([c for c, _ in halves], narrowed=bool(pytest_args))
    if problem:
        print(f"run_tests: {problem}")
    print("run_tests: both halves:")
    print(summary_line([s for _, s in halves], time.monotonic() - started), flush=True)
    return code


def run(command: list[str], name: str) -> tuple[int, str | None]:
    """Run one half, passing its output through; its exit code and its closing summary line."""
    print(f"run_tests: {name} half: {' '.join(command)}", flush=True)
    last_summary = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            plain = ANSI.sub("", line.strip())
            if SUMMARY.match(plain):
                last_summary = plain
    return proc.returncode, last_summary


def exit_code(codes: list[int], *, narrowed: bool) -> tuple[int, str | None]:
    """The run's exit code from the halves', and why it fails when it fails only because no test ran."""
    failed = [c for c in codes if c not in (0, NO_TESTS_RAN)]
    if failed:
        return failed[0], None
    if all(c == NO_TESTS_RAN for c in codes):
        return NO_TESTS_RAN, "no test ran in either half"
    if NO_TESTS_RAN in codes and not narrowed:
        half = ("parallel", "serial")[codes.index(NO_TESTS_RAN)]
        return 1, f"the {half} half ran no test over the whole suite: is the `serial` marker still applied?"
    return 0, None


def summary_line(summaries: list[str | None], seconds: float) -> str:
    """pytest's closing line, in its own format, with the halves' counts summed."""
    counts: Counter[str] = Counter()
    for line in filter(None, summaries):
        for number, kind in COUNT.findall(SUMMARY.match(line).group("counts")):
            counts[PLURAL.get(kind, kind)] += int(number)
    parts = [
        f"{counts[kind]} {kind if counts[kind] > 1 else SINGULAR.get(kind, kind)}" for kind in KINDS if counts[kind]
    ]
    duration = f"{seconds:.2f}s" if seconds < 60 else f"{seconds:.2f}s ({datetime.timedelta(seconds=int(seconds))})"
    return f" {', '.join(parts) or 'no tests ran'} in {duration} ".center(80, "=")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
