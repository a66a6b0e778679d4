"""The README stays true: its first commands, and a settings table equal to `--about`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SDK_SETTINGS = ("stream_map", "faker_config", "flattening_", "batch_config")


def test_readme_starts_with_the_demo_and_test_commands():
    head = README.splitlines()[:5]
    assert "make demo" in "\n".join(head)
    assert "make test" in "\n".join(head)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_settings_table_matches_about():
    about = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in about.splitlines() if line.startswith("| ") and not line.startswith("| Setting")]
    own = [row for row in rows if not row.split("|")[1].strip().startswith(SDK_SETTINGS)]
    assert len(own) == 9
    for row in own:
        assert row in README, f"README lacks the --about row: {row}"
    for row in rows:
        name = row.split("|")[1].strip().split(".")[0]
        assert name in README, f"README never names the setting {name}"
