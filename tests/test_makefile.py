"""The Makefile: `make clean` leaves nothing the tools wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_clean_removes_what_setup_tests_and_builds_leave():
    dry_run = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    removed = set(dry_run.split())
    assert {".venv", ".meltano", "output", ".pytest_cache", ".ruff_cache", ".hypothesis", "dist", "build"} <= removed
