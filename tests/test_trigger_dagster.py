"""The Dagster sensor on kondado-trigger's deliveries, evaluated by real Dagster (`build_sensor_context`) on a
DuckDB file laid out as target-duckdb lands it: one RunRequest per new set of deliveries, none on the next tick."""

from __future__ import annotations

import json

import pytest

dg = pytest.importorskip("dagster")
duckdb = pytest.importorskip("duckdb")

from tap_kondado.trigger import DuckDBStore, Selection  # noqa: E402
from tap_kondado.trigger.dagster import kondado_delivery_sensor  # noqa: E402


@dg.op
def retrain() -> None:
    pass


@dg.job
def retrain_job() -> None:
    retrain()


def add_logs(path, rows):
    """Pipeline logs (id, pipeline_id, row_count) as target-duckdb's table holds them."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS tap_kondado")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tap_kondado.pipeline_logs (id BIGINT PRIMARY KEY, client_id BIGINT, "
            "pipeline_id BIGINT, pipeline_name VARCHAR, row_count HUGEINT, has_deltas BOOLEAN, createdat TIMESTAMP)"
        )
        for log_id, pipeline, count in rows:
            conn.execute(
                "INSERT INTO tap_kondado.pipeline_logs VALUES (?, 1, ?, 'p', ?, true, TIMESTAMP '2026-12-01 08:00:00' "
                "+ to_seconds(?))",
                [log_id, pipeline, count, log_id],
            )


def tick(sensor, instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = sensor(context)
    return list(result or []), context.cursor


def test_one_run_request_per_delivery_set_and_none_on_the_next_tick(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    add_logs(path, [(10, 702, 5), (11, 702, 0), (12, 703, 9), (13, 702, 7)])
    sensor = kondado_delivery_sensor(
        name="retrain_on_kondado",
        store=lambda: DuckDBStore(path),
        selection=Selection(pipelines=(702,)),
        job=retrain_job,
    )
    dg.Definitions(jobs=[retrain_job], sensors=[sensor])  # Dagster accepts it as a real definition
    assert sensor.job_name == "retrain_job"
    with dg.instance_for_test() as instance:
        [request], cursor = tick(sensor, instance, None)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == "retrain_on_kondado:p10-13"
        assert request.tags["kondado/log_ids"] == "10,13"  # 11 moved no rows; 12 is another pipeline
        assert request.tags["kondado/rows"] == "12"
        assert json.loads(cursor) == {"pipeline_logs": 13}

        [skip], same = tick(sensor, instance, cursor)
        assert isinstance(skip, dg.SkipReason)
        assert "nothing new for retrain_on_kondado" in skip.skip_message
        assert same == cursor

        add_logs(path, [(14, 703, 3), (15, 702, 0)])  # nothing for 702 moved rows
        [skip], cursor = tick(sensor, instance, cursor)
        assert isinstance(skip, dg.SkipReason)
        assert json.loads(cursor) == {"pipeline_logs": 13}  # a skip leaves the cursor as it was

        add_logs(path, [(16, 702, 4)])
        [request], cursor = tick(sensor, instance, cursor)
        assert request.run_key == "retrain_on_kondado:p16-16"
        assert request.tags["kondado/log_ids"] == "16"
        assert json.loads(cursor) == {"pipeline_logs": 16}
