"""tests/meltano_helpers.py: `meltano install` once a test run, however many workers ask."""

from __future__ import annotations

import subprocess

from tests import meltano_helpers, run_dir


def test_meltano_install_runs_once_a_run_not_once_a_worker(tmp_path, monkeypatch):
    """A second install would rewrite the plugins' venvs under another worker's `meltano run`."""
    installs = []

    def fake_run(command, **_kwargs):
        installs.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(meltano_helpers.subprocess, "run", fake_run)
    install = meltano_helpers.ensure_installed.__wrapped__  # each call as a fresh worker would make it
    monkeypatch.setenv(run_dir.ENV, str(tmp_path / "run-1"))
    (tmp_path / "run-1").mkdir()
    install()
    install()
    assert installs == [[meltano_helpers.MELTANO, "install"]]

    monkeypatch.setenv(run_dir.ENV, str(tmp_path / "run-2"))  # the next run installs again
    (tmp_path / "run-2").mkdir()
    install()
    assert len(installs) == 2
