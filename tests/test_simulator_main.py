"""`kondado-simulator`: its --help shows every default; on start it says how to point a tap at it."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tap_kondado.simulator.__main__ import _parser
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tests.sim_process import SIMULATOR, simulator_process
from tests.tap_runner import run_tap

pytestmark = pytest.mark.slow
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_help_shows_every_default():
    help_text = subprocess.run([SIMULATOR, "--help"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", " ", help_text)
    options = [a for a in _parser()._actions if not isinstance(a, argparse._HelpAction)]
    for action in options:
        assert action.help, action.option_strings  # argparse prints defaults only for options with help
    assert flat.count("(default: ") == len(options)
    assert "(default: 1/1,20/60)" in flat
    assert "(default: demo-key)" in flat


def test_start_up_lines_name_url_credentials_and_scaled_limits():
    with simulator_process("--time-scale", "0.05", "--pipeline-logs", "120", "--model-logs", "60") as sim:
        assert "key: demo-key" in sim.banner
        assert "token: demo-token" in sim.banner
        assert "accounts: 1, 2, 3" in sim.banner
        assert "1 per 0.05 s, 20 per 3 s" in sim.banner
        printed = json.loads(re.search(r"rate_limits to match: (\[.*\])", sim.banner).group(1))
        assert [(w["max_requests"], w["window_seconds"]) for w in printed] == [
            (n, pytest.approx(s * 0.05)) for n, s in DEFAULT_LIMITS
        ]
        assert json.dumps(printed) in README  # the README quotes it for --time-scale 0.05
        # What it printed is all a tap needs: every log, paced to the printed windows, no 429.
        started = time.monotonic()
        run = run_tap({"api_url": sim.url, "key": "demo-key", "token": "demo-token", "rate_limits": printed})
        assert run.returncode == 0, run.stderr[-2000:]
        assert len(run.ids("pipeline_logs")) + len(run.ids("model_logs")) > 0
        assert "RATE_LIMIT_EXCEEDED" not in run.stderr
        assert time.monotonic() - started < 30


def test_start_up_lines_without_limits():
    with simulator_process("--rate-limits", "off") as sim:
        assert 'rate limits: off (the tap can skip its pacing too: rate_limits "[]")' in sim.banner
