"""A Dagster sensor that requests one run per set of new Kondado deliveries (`pip install 'tap-kondado[dagster]'`).

Dagster keeps the position in the sensor's cursor (stream -> newest log id looked past), as its own Fivetran
polling sensor does; a tick with nothing new is a SkipReason saying so. The run key names the log ids, so
Dagster never starts two runs for one set of deliveries. The cursor moves when the run is requested: a run
that fails is retried by Dagster's retry policy, not offered again by the sensor (that is kondado-trigger's
job outside Dagster).

    from tap_kondado.trigger import DuckDBStore, Selection
    from tap_kondado.trigger.dagster import kondado_delivery_sensor

    retrain_sensor = kondado_delivery_sensor(
        name="retrain_on_new_kondado_data",
        store=lambda: DuckDBStore("output/kondado.duckdb"),
        selection=Selection(pipelines=(702, 703)),
        job=retrain_job,
    )
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from tap_kondado.trigger.model import MODEL_LOGS, PIPELINE_LOGS, Batch, Selection
from tap_kondado.trigger.store import WarehouseStore
from tap_kondado.trigger.trigger import Trigger

MAX_TAGGED_IDS = 200  # Dagster tags are short strings; the full list is in the run config when asked for


def kondado_delivery_sensor(
    *,
    name: str,
    store: Callable[[], WarehouseStore],
    selection: Selection,
    job: Any = None,
    job_name: str | None = None,
    minimum_interval_seconds: int = 60,
    run_config: Callable[[Batch], dict[str, Any]] | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor named `name`: a RunRequest per new set of deliveries of `selection` in the warehouse `store()`."""

    @dg.sensor(
        name=name,
        job=job,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Requests a run when Kondado delivered new data ({_describe(selection)}).",
    )
    def kondado_deliveries(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
        positions = {k: int(v) for k, v in json.loads(context.cursor).items()} if context.cursor else {}
        with store() as warehouse:
            check = Trigger(warehouse, name, selection).look_after(positions)
        if check.batch is None:
            yield dg.SkipReason(check.summary())
            return
        batch = check.batch
        yield dg.RunRequest(
            run_key=batch.run_key,
            run_config=run_config(batch) if run_config else {},
            tags=tags(batch),
        )
        context.update_cursor(json.dumps(batch.horizon, sort_keys=True))

    return kondado_deliveries


def tags(batch: Batch) -> dict[str, str]:
    """What a run was requested for, as Dagster tags (the kondado-trigger job environment's, in short)."""
    newest = batch.newest.created_at
    return {
        "kondado/deliveries": str(len(batch.deliveries)),
        "kondado/log_ids": ",".join(map(str, batch.log_ids[:MAX_TAGGED_IDS])),
        "kondado/pipelines": ",".join(map(str, batch.items_of(PIPELINE_LOGS))),
        "kondado/models": ",".join(map(str, batch.items_of(MODEL_LOGS))),
        "kondado/rows": str(batch.rows),
        "kondado/newest_created_at": newest.isoformat(timespec="milliseconds") + "Z" if newest else "",
    }


def _describe(selection: Selection) -> str:
    parts = [
        f"{kind} {', '.join(map(str, ids))}"
        for kind, ids in (
            ("pipelines", selection.pipelines),
            ("models", selection.models),
            ("accounts", selection.clients),
        )
        if ids
    ]
    return "; ".join(parts)
