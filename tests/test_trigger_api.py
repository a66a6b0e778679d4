"""`kondado-trigger --api`: no warehouse, the logs read from the (simulated) API by the tap itself, the
checkpoint in a local file. The real command against the simulator: one request when idle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.slow]

TRIGGER = str(Path(sys.executable).with_name("kondado-trigger"))
JOB = [sys.executable, "-c", "import os; open(os.environ['JOB_LOG'], 'a').write(os.environ['KONDADO_LOG_IDS'] + '\\n')"]


@pytest.fixture
def api(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=120, model_logs=40)
    config = tmp_path / "config.json"
    # The simulator has no limits here; the tap's own pacing is loosened to match.
    config.write_text(
        json.dumps(
            {
                "key": TEST_KEY,
                "token": TEST_TOKEN,
                "api_url": sim.url,
                "rate_limits": [{"max_requests": 100, "window_seconds": 1}],
            }
        )
    )
    job_log = tmp_path / "job.log"

    def run(*args, job=JOB, **env):
        command = [TRIGGER, "--api", "--config", str(config), "--checkpoint-file", str(tmp_path / "cp.json"), *args]
        if job:
            command += ["--", *job]
        environ = {**os.environ, "JOB_LOG": str(job_log), **env}
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=environ)

    def jobs():
        return job_log.read_text().splitlines() if job_log.exists() else []

    return sim, run, jobs, tmp_path


def test_api_mode_delivers_once_and_costs_one_request_when_idle(api):
    sim, run, jobs, tmp_path = api
    pipeline = sim.visible("pipeline_logs", TEST_KEY)[0]["pipeline_id"]
    select = ["--consumer", "retrain", "--pipeline", str(pipeline)]

    started = run(*select, "--since", "now", job=None)
    assert started.returncode == 0, started.stderr
    idle = run(*select)
    assert idle.returncode == 0, idle.stderr
    assert idle.stdout.strip() == "nothing new for retrain: no delivery yet"
    assert jobs() == []

    new = sim.append("pipeline_logs", 3)
    for record in new:
        record["pipeline_id"], record["row_count"] = pipeline, 4
    new[1]["row_count"] = 0  # not a delivery
    failed = run(*select, job=["false"])
    assert failed.returncode == 1  # the job failed: the same deliveries next time
    done = run(*select)
    assert done.returncode == 0, done.stderr
    assert jobs() == [f"{new[0]['id']},{new[2]['id']}"]

    before = sim.stats()["by_path"].get("/pipeline_logs", 0)
    again = run(*select)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"nothing new for retrain since log {new[2]['id']}, pipeline {pipeline}")
    assert sim.stats()["by_path"].get("/pipeline_logs", 0) - before == 1  # idle: one request
    assert sim.stats()["by_path"].get("/model_logs", 0) == 0  # a pipeline consumer never reads the model logs
    assert len(jobs()) == 1

    saved = json.loads((tmp_path / "cp.json").read_text())
    assert saved["consumers"]["retrain"]["deliveries"] == 2
    listed = run("--list", job=None)
    assert listed.stdout.startswith("retrain\tapi\t2 consumed")


def test_api_mode_first_check_consumes_every_delivery_and_bad_config_is_one_line(api):
    sim, run, jobs, tmp_path = api
    done = run("--consumer", "all", "--client", "1")
    assert done.returncode == 0, done.stderr
    expected = [
        r["id"] for r in sim.visible("pipeline_logs", TEST_KEY, client_id=1) if int(r["row_count"] or 0) > 0
    ] + [r["id"] for r in sim.visible("model_logs", TEST_KEY, client_id=1)]
    assert sorted(int(i) for i in jobs()[0].split(",")) == sorted(expected)

    (tmp_path / "bad.json").write_text("{}")
    bad = subprocess.run(
        [TRIGGER, "--api", "--config", str(tmp_path / "bad.json"), "--consumer", "c", "--client", "1", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "--api needs the tap's key and token" in bad.stderr
