"""The directory one test run's processes share: the main pytest process and its pytest-xdist workers.

The main process (plain pytest, or the xdist controller) makes it before any worker starts and
names it in the environment, which the workers inherit; it removes it at the end of the run.
What is done once a run for every worker (the PostgreSQL server, `meltano install`) is recorded there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENV = "TAP_KONDADO_TEST_RUN_DIR"


def create() -> Path:
    """From the main process, before any worker starts."""
    path = Path(tempfile.mkdtemp(prefix="tap-kondado-test-run-"))
    os.environ[ENV] = str(path)
    return path


def current() -> Path | None:
    """This run's directory (None outside a pytest run: a helper used on its own)."""
    value = os.environ.get(ENV)
    return Path(value) if value else None
