"""`kondado-trigger` for real: the simulator's logs landed by `meltano run tap-kondado target-...`, then the
command run as a user runs it, on DuckDB and PostgreSQL. Each engine walks one story, step by step, because
every step depends on the checkpoint the step before left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tap_kondado.conversion import to_integer
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tests.meltano_helpers import DEMO_TIME_SCALE, base_env, ensure_installed, meltano
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

TRIGGER = str(Path(sys.executable).with_name("kondado-trigger"))
# A job that records what it received, one JSON line per run, into $JOB_LOG.
RECORDING_JOB = [
    sys.executable,
    "-c",
    "import json, os, sys, time; "
    "keys = [k for k in os.environ if k.startswith('KONDADO_') and not k.startswith('KONDADO_TRIGGER_')]; "
    "line = {k: os.environ[k] for k in keys}; "
    "line['deliveries_file'] = open(os.environ['KONDADO_DELIVERIES_FILE']).read(); "
    "open(os.environ['JOB_LOG'], 'a').write(json.dumps(line) + '\\n'); "
    "time.sleep(float(os.environ.get('JOB_SLEEP', '0'))); "
    "sys.exit(int(os.environ.get('JOB_EXIT', '0')))",
]


class Story:
    """One warehouse, its simulator, and the trigger command run against it."""

    def __init__(self, sim, env, warehouse_args, tmp_path):
        self.sim, self.env, self.warehouse_args = sim, env, warehouse_args
        self.job_log = tmp_path / "job.log"
        self.loader = "target-duckdb" if warehouse_args[0] == "--duckdb" else "target-postgres"

    def land(self):
        meltano("run", "tap-kondado", self.loader, env=self.env)

    def trigger(self, *args, job=RECORDING_JOB, wait=True, **job_env):
        env = {**os.environ, "JOB_LOG": str(self.job_log), **{k: str(v) for k, v in job_env.items()}}
        command = [TRIGGER, *self.warehouse_args, *args, "--", *job]
        if not wait:
            return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    def jobs(self):
        if not self.job_log.exists():
            return []
        return [json.loads(line) for line in self.job_log.read_text().splitlines()]

    def deliveries(self, pipelines, after=0):
        """What the simulator served: the pipeline logs above `after` that moved rows."""
        return [
            r["id"]
            for r in self.sim.visible("pipeline_logs", TEST_KEY)
            if r["pipeline_id"] in pipelines and r["id"] > after and (to_integer(r["row_count"]) or 0) > 0
        ]

    def busiest(self, n):
        counts = {}
        for r in self.sim.visible("pipeline_logs", TEST_KEY):
            counts[r["pipeline_id"]] = counts.get(r["pipeline_id"], 0) + 1
        return sorted(counts, key=lambda p: (-counts[p], p))[:n]


def walk(story: Story, *, full: bool = True) -> None:  # noqa: PLR0915 (one story, told in order)
    """The whole story (full), or, landing once, what the engine changes: the job's status, the lock, the commit."""
    story.land()
    first, second = story.busiest(2)
    select = ["--pipeline", str(first)]

    # A consumer seen for the first time consumes what is there: every log of the pipeline that moved rows.
    done = story.trigger("--consumer", "retrain", *select)
    assert done.returncode == 0, done.stderr
    [job] = story.jobs()
    expected = story.deliveries({first})
    assert [int(i) for i in job["KONDADO_LOG_IDS"].split(",")] == expected
    assert job["KONDADO_CONSUMER"] == "retrain"
    assert job["KONDADO_PIPELINES"] == str(first)
    assert len(job["deliveries_file"].splitlines()) == len(expected)
    assert int(job["KONDADO_ROWS"]) == sum(
        to_integer(r["row_count"]) for r in story.sim.visible("pipeline_logs", TEST_KEY) if r["id"] in set(expected)
    )

    # Nothing new: the job does not run, and the line says since when.
    again = story.trigger("--consumer", "retrain", *select)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"nothing new for retrain since log {expected[-1]}, pipeline {first}, " + (
        job["KONDADO_NEWEST_CREATED_AT"][:19] + "Z"
    )
    assert len(story.jobs()) == 1

    # New logs in one landing: one that moved no rows is not a delivery; the ones that did are offered once.
    newest_before = max(r["id"] for r in story.sim.visible("pipeline_logs", TEST_KEY))
    if full:
        appended = story.sim.append("pipeline_logs", 4)
        for record in appended:
            record["row_count"], record["pipeline_id"] = 7, first
        appended[0]["row_count"] = 0
        story.land()
        new = story.deliveries({first}, after=newest_before)
        assert new == [r["id"] for r in appended[1:]]
    else:  # the same deliveries offered again, without a landing: the checkpoint set back by hand
        new = expected[-3:]
        moved = story.trigger("--consumer", "retrain", *select, "--reset", "--since", str(new[0] - 1), job=[])
        assert moved.returncode == 0, moved.stderr
        assert moved.stdout.strip() == f"retrain: starts after {new[0] - 1}"
    # The job fails, then is killed: the checkpoint stays, the same deliveries are offered each time.
    failed = story.trigger("--consumer", "retrain", *select, JOB_EXIT=1)
    assert failed.returncode == 1
    assert "checkpoint is unchanged" in failed.stderr
    killed = story.trigger("--consumer", "retrain", *select, job=["sh", "-c", "kill -9 $$"])
    assert killed.returncode == 128 + 9
    # Two triggers at once for one consumer: the job runs once.
    racing = [story.trigger("--consumer", "retrain", *select, wait=False, JOB_SLEEP=2) for _ in range(2)]
    outcomes = [p.communicate(timeout=120) for p in racing]
    assert [p.returncode for p in racing] == [0, 0], outcomes
    runs = story.jobs()
    assert [[int(i) for i in j["KONDADO_LOG_IDS"].split(",")] for j in runs[1:]] == [new, new]  # failed, then won
    assert sum("nothing new for retrain" in out for out, _ in outcomes) == 1
    if not full:
        listed = subprocess.run([TRIGGER, *story.warehouse_args, "--list"], capture_output=True, text=True, check=True)
        assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
            ["retrain", "model_logs"],
            ["retrain", "pipeline_logs"],
        ]
        return
    assert int(runs[-1]["KONDADO_ROWS"]) == 21

    # --all: a consumer of two pipelines waits until both delivered since its checkpoint.
    assert story.trigger("--consumer", "both", "--since", "now", "--pipeline", str(first), str(second)).returncode == 0
    for record in story.sim.append("pipeline_logs", 1):
        record["row_count"], record["pipeline_id"] = 5, first
    story.land()
    both = ["--consumer", "both", "--all", "--pipeline", str(first), str(second)]
    waiting = story.trigger(*both)
    assert waiting.returncode == 0
    assert f"both waits for pipeline {second} to deliver (--all)" in waiting.stdout
    for record in story.sim.append("pipeline_logs", 1):
        record["row_count"], record["pipeline_id"] = 5, second
    story.land()
    count = len(story.jobs())
    assert story.trigger(*both).returncode == 0
    assert len(story.jobs()) == count + 1
    assert story.jobs()[-1]["KONDADO_PIPELINES"] == f"{min(first, second)},{max(first, second)}"

    # --wait gives up with its own status; --list shows both consumers.
    timed_out = story.trigger(*both, "--wait", "--timeout", "1", "--interval", "0.2")
    assert timed_out.returncode == 3, timed_out.stdout + timed_out.stderr
    listed = subprocess.run([TRIGGER, *story.warehouse_args, "--list"], capture_output=True, text=True, check=True)
    consumers = {line.split("\t")[0] for line in listed.stdout.splitlines()}
    assert consumers == {"retrain", "both"}

    # Bad input: one line each, status 2.
    unknown = story.trigger("--consumer", "x", "--pipeline", "999999")
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1
    assert "pipeline 999999 never appeared" in unknown.stderr
    assert str(first) in unknown.stderr


@pytest.fixture(scope="module")
def installed():
    ensure_installed()


def _sim(make_sim):
    # Scaled limits, as in the demo environment, so a landing takes seconds.
    return make_sim(pipeline_logs=300, model_logs=150, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE)


def _tap_env(tmp_path, sim, **settings):
    """Meltano's environment for the tap on `sim`, and `settings` (the loader's, the trigger's)."""
    return base_env(
        tmp_path, TAP_KONDADO_KEY=TEST_KEY, TAP_KONDADO_TOKEN=TEST_TOKEN, TAP_KONDADO_API_URL=sim.url, **settings
    )


def test_trigger_on_duckdb(installed, make_sim, tmp_path):
    sim = _sim(make_sim)
    warehouse = tmp_path / "warehouse.duckdb"
    env = _tap_env(tmp_path, sim, TARGET_DUCKDB_FILEPATH=str(warehouse))
    walk(Story(sim, env, ["--duckdb", str(warehouse)], tmp_path))


@pytest.mark.postgres
def test_trigger_on_postgres(installed, make_sim, tmp_path, postgres):
    sim = _sim(make_sim)
    database = postgres.create_database("trigger")
    env = _tap_env(tmp_path, sim, **postgres.meltano_env(database))
    walk(Story(sim, env, ["--postgres", postgres.dsn(database)], tmp_path), full=False)


def test_no_table_and_no_file_are_one_line(tmp_path):
    missing = subprocess.run(
        [TRIGGER, "--duckdb", str(tmp_path / "none.duckdb"), "--consumer", "c", "--pipeline", "1", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("run `meltano run tap-kondado target-duckdb` first")
    duckdb = pytest.importorskip("duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    no_table = subprocess.run(
        [TRIGGER, "--duckdb", str(empty), "--consumer", "c", "--model", "1", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_table.returncode == 2
    assert no_table.stderr.startswith("kondado-trigger: no table tap_kondado.model_logs in ")
    assert no_table.stderr.count("\n") == 1


def test_unreachable_postgres_is_one_line_without_the_password():
    result = subprocess.run(
        [
            TRIGGER,
            "--postgres",
            "postgresql://u:s3cret@127.0.0.1:1/db",
            "--consumer",
            "c",
            "--pipeline",
            "1",
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("kondado-trigger: cannot connect to PostgreSQL database db on 127.0.0.1:1")
    assert "s3cret" not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1


def test_usage_mistakes_are_one_line():
    for args in ([], ["--consumer", "c"], ["--duckdb", "a", "--postgres", "b", "--consumer", "c", "--pipeline", "1"]):
        result = subprocess.run([TRIGGER, *args, "--", "true"], capture_output=True, text=True, check=False)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1, result.stderr
    bad = subprocess.run([TRIGGER, "--wait", "--timeout", "-1"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "--timeout: must be more than 0" in bad.stderr


def test_meltano_job_retrains_once_per_delivery(installed, make_sim, tmp_path):
    """The README's line: `meltano run tap-kondado target-duckdb kondado-trigger:retrain`, run on a schedule."""
    sim = _sim(make_sim)
    warehouse = tmp_path / "warehouse.duckdb"
    retrain_log = tmp_path / "retrain.log"
    env = _tap_env(
        tmp_path,
        sim,
        TARGET_DUCKDB_FILEPATH=str(warehouse),
        KONDADO_TRIGGER_DUCKDB=str(warehouse),
        KONDADO_TRIGGER_CLIENTS="1",
        RETRAIN_LOG=str(retrain_log),
    )
    job = ("run", "tap-kondado", "target-duckdb", "kondado-trigger:retrain")

    def lines():
        return retrain_log.read_text().splitlines() if retrain_log.exists() else []

    meltano(*job, env=env)
    assert len(lines()) == 1
    assert "retrained for retrain:" in lines()[0]
    meltano(*job, env=env)  # an idle run: nothing new, nothing retrained
    assert len(lines()) == 1
    for record in sim.append("pipeline_logs", 2, client_id=1):
        record["row_count"] = 11
    meltano(*job, env=env)
    assert len(lines()) == 2
    assert ", 22 rows," in lines()[1]
    listed = meltano("invoke", "kondado-trigger:list", env=env)
    assert listed.stdout.startswith("retrain\tmodel_logs\t")
