"""The health models replayed at many past moments, on both engines, from a real tap run into each.

The warehouses are the session's builds (tests/dbt_builds.py: the tap through Meltano, then the package). The
health models' SQL is compiled once with a placeholder `kondado_as_of` and run at every moment: every 3 hours over
the last 14 days, Friday evenings, weekend nights and Monday mornings in São Paulo time, and just after each
outage's first interval and each resumption. Each judgement is compared with tests/schedule_truth.py: no healthy
item ever late or stalled (0 false alarms), every outage flagged once one interval has passed since its first
missed run, `on_time` again once it runs.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from pathlib import Path

import pytest

from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator.schedules import TIME_ZONE
from tests import dbt_scenario
from tests import schedule_truth as truth
from tests.meltano_helpers import meltano
from tests.tap_runner import TEST_KEY

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

PLACEHOLDER = datetime.datetime(2000, 1, 1)
PLACEHOLDER_SQL = "'2000-01-01 00:00:00.000000'"  # as kondado_as_of() writes it
MODELS = {"kondado_pipeline_health": ("pipeline_logs", "pipeline_id", planted.PIPELINES),
          "kondado_model_health": ("model_logs", "model_id", planted.MODELS)}  # fmt: skip
REPLAY_DAYS = 14
EVERY = datetime.timedelta(hours=3)
# Local moments a schedule must be right about: Friday evening, Saturday and Sunday nights, Monday morning.
LOCAL_MOMENTS = ((4, 20, 30), (5, 3, 0), (6, 23, 0), (0, 7, 30), (0, 8, 40))  # (weekday, hour, minute)


def replay_moments(now: datetime.datetime, extra: list[datetime.datetime]) -> list[datetime.datetime]:
    """Naive UTC moments, oldest first: every 3 h back from now over REPLAY_DAYS, the LOCAL_MOMENTS, `extra`."""
    start = now - datetime.timedelta(days=REPLAY_DAYS)
    moments = {now - datetime.timedelta(minutes=7) - k * EVERY for k in range(REPLAY_DAYS * 8)}
    day = start.astimezone(TIME_ZONE).date()
    while day <= now.astimezone(TIME_ZONE).date():
        for weekday, hour, minute in LOCAL_MOMENTS:
            if day.weekday() == weekday:
                local = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TIME_ZONE)
                moments.add(local.astimezone(datetime.timezone.utc))
        day += datetime.timedelta(days=1)
    moments |= set(extra)
    return sorted(m.replace(tzinfo=None, microsecond=0) for m in moments if start <= m <= now)


def compiled_health_sql(built: dict, **more_vars: object) -> dict[str, str]:
    """Both health models' SQL as dbt compiles them (one dbt run), `kondado_as_of` the placeholder."""
    vars_ = json.dumps({"kondado_as_of": PLACEHOLDER.isoformat() + "Z", **more_vars})
    meltano("invoke", built["utility"], "compile", "--select", *MODELS, "--vars", vars_, env=built["env"])
    compiled = {}
    for model in MODELS:
        path = Path(built["env"]["DBT_TARGET_PATH"]) / "compiled" / "kondado" / "models" / "marts" / f"{model}.sql"
        compiled[model] = path.read_text()
        assert PLACEHOLDER_SQL in compiled[model]
    return compiled


def at(sql: str, moment: datetime.datetime) -> str:
    """`sql` with `moment` (naive UTC) as kondado_as_of."""
    return sql.replace(PLACEHOLDER_SQL, f"'{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}'")


def runs_by_item(sim, stream: str, key: str) -> dict[int, list[datetime.datetime]]:
    runs: dict[int, list[datetime.datetime]] = {}
    for record in sim.visible(stream, TEST_KEY):
        moment = datetime.datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
        runs.setdefault(record[key], []).append(moment)
    return {item: sorted(moments) for item, moments in runs.items()}


def replay(built: dict) -> tuple[Counter, list[str]]:
    """Judge every item at every moment; (counts, the wrong judgements)."""
    sim, now = built["sim"], built["sim"].now
    counts: Counter = Counter()
    wrong: list[str] = []
    compiled = compiled_health_sql(built)
    for model, (stream, key, catalog) in MODELS.items():
        expected = truth.expectations(catalog, runs_by_item(sim, stream, key), now)
        moments = replay_moments(now, truth.checkpoints(expected, now))
        answers = built["warehouse"].many([at(compiled[model], moment) for moment in moments])
        for moment, answer in zip(moments, answers, strict=True):
            rows = {int(row[key]): row for row in answer}
            aware = moment.replace(tzinfo=datetime.timezone.utc)
            for item_id, expectation in expected.items():
                if item_id not in rows:  # not run yet at that moment
                    continue
                state, health = expectation.at(aware), rows[item_id]["health"]
                flagged = health in ("late", "stalled")
                counts["judgements"] += 1
                counts[f"{state} judgements"] += 1
                if state == truth.TOO_FEW:
                    assert health == "unknown", (model, item_id, moment)
                elif state == truth.HEALTHY and health != "on_time":
                    counts["false alarms" if flagged else "healthy not on_time"] += 1
                    summary = rows[item_id]["schedule_summary"]
                    wrong.append(f"{model} {item_id} at {moment}: {health}, expected on_time ({summary})")
                elif state == truth.OUTAGE and not flagged:
                    counts["missed outages"] += 1
                    wrong.append(f"{model} {item_id} at {moment}: {health}, expected late or stalled")
                elif state == truth.OUTAGE:
                    counts["outages flagged"] += 1
                if expectation.resumed_at is not None and aware >= expectation.resumed_at and health == "on_time":
                    counts["on_time after resuming"] += 1
    return counts, wrong


def check(built: dict, engine: str) -> None:
    counts, wrong = replay(built)
    print(f"\n{engine} replay: " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))
    assert wrong == []
    assert counts["false alarms"] == 0
    assert counts["missed outages"] == 0
    assert counts["outages flagged"] > 0
    assert counts["on_time after resuming"] > 0
    assert counts["healthy judgements"] > 100 * len(planted.PIPELINES)


def test_replay_on_duckdb(duckdb_built):
    check(duckdb_built, "DuckDB")


@pytest.mark.postgres
def test_replay_on_postgres(postgres_built):
    check(postgres_built, "PostgreSQL")


def test_a_pinned_gap_overrides_the_learned_schedule(duckdb_built):
    # Weekdays at 07:00 pinned to "every hour": 5 h after a run, it is stalled; pipeline 725 pinned as a model is
    # untouched. The run is the last one whose 5 h have passed by the simulator's now: a moment past the data
    # would find 725 overdue too (a run between 07:00 and 12:00 São Paulo time).
    sim = duckdb_built["sim"]
    gap = datetime.timedelta(hours=5)
    last = max(run for run in runs_by_item(sim, "pipeline_logs", "pipeline_id")[727] if run + gap <= sim.now)
    moment = (last + gap).replace(tzinfo=None, microsecond=0)
    pins = {"727": 1, "model:725": 1, "pipeline:746": "24"}
    compiled = compiled_health_sql(duckdb_built, kondado_expected_gap_hours=pins)
    sql = at(compiled["kondado_pipeline_health"], moment)
    rows = {r["pipeline_id"]: r for r in duckdb_built["warehouse"].rows(sql)}
    assert rows[727]["is_pinned"]
    assert rows[727]["health"] == "stalled"
    assert rows[727]["schedule_summary"] == "every 1 h (pinned: kondado_expected_gap_hours)"
    assert rows[746]["expected_gap_hours"] == 24
    assert not rows[725]["is_pinned"]
    assert rows[725]["health"] == "on_time"


def test_a_healthy_scheduled_item_reads_its_schedule(duckdb_built):
    rows = {r["pipeline_id"]: r for r in dbt_scenario.snapshot(duckdb_built["warehouse"])["pipeline_health"]}
    assert rows[725]["schedule_summary"] == "every 1 h, Mon-Fri 08:00-18:00 (America/Sao_Paulo)"
    assert rows[727]["schedule_summary"] == "every 24 h, Mon-Fri at 07:00 (America/Sao_Paulo)"
    assert rows[745]["schedule_summary"] == "every 12 h, every day at 06:00, 18:00 (America/Sao_Paulo)"
    assert rows[746]["schedule_summary"] == "every 7 d, Mon at 05:00 (America/Sao_Paulo)"
    assert rows[747]["runs_missed"] >= 3
