"""The planted scenario: pipelines and models on steady cadences, with what the health package must find.

`Simulator(scenario=True)` (`kondado-simulator --scenario`) generates its logs from this
catalog instead of the random layout: every pipeline runs on its own cadence over the last `days`,
ids come from the realistic mode's global sequence (sparse, nearly ascending with createdAt), and a
few pipelines carry one anomaly each. `planted_statuses()` is what the status endpoints report.

The anomalies, as the `kondado` dbt package defines them (transform/), with `kondado_as_of` = the
simulator's `now`:
- stalled: no run for 8 cadences (7 runs its schedule asked for missed, 3 or more: stalled);
- late: the last hourly run 2 h 15 min ago (one run missed by more than half an hour);
- failing / blocked / not_active: no run for 12 / 16 / 5 cadences, and the status that says why;
- zero_rows: the latest 6 runs moved 0 rows;
- spike: the latest run moved 12 x the usual rows;
- slow: the latest run took 10 x the longest usual run time (`slow_run`);
- savepoint_break: the latest run started from a savepoint other than the previous run's new one;
- new: 2 daily runs so far (health `unknown`);
- scheduled (schedules.py): business hours, every 15 minutes in them, weekdays at 07:00, daily at 06:00, 06:00 and
  18:00, Mondays at 05:00, all in São Paulo time: quiet nights and weekends are normal (`on_time`); `stopped`
  skipped its latest scheduled runs, status still active (`stalled`); `resumed` skipped some and runs again;
- account 3 moves about 2.9 million billable rows in a 30-day month: past `PLAN_ROWS[3]` before its end.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from tap_kondado.simulator.data import JITTER_SECONDS, GlobalSequence, stamp
from tap_kondado.simulator.schedules import EVERY_DAY, WEEKDAYS, Outage, Schedule, every, scheduled_runs
from tap_kondado.simulator.statuses import status_entry

HOUR = 3600.0


@dataclass(frozen=True)
class Planted:
    """One pipeline or model of the scenario."""

    item_id: int
    client_id: int
    name: str
    cadence_hours: float
    rows: int  # usual rows per run
    anomaly: str | None = None
    incremental: bool = False  # pipelines: runs carry savepoints
    billable: bool = True  # pipelines: free connectors move rows that do not count
    schedule: Schedule | None = None  # runs on it (local time) instead of every cadence_hours
    outage: Outage | None = None  # scheduled runs it skipped


BUSINESS_HOURS = every(60, WEEKDAYS, 8, 19)  # 08:00 to 18:00, Monday to Friday
EVERY_15_MIN_IN_BUSINESS_HOURS = every(15, WEEKDAYS, 8, 18)
WEEKDAYS_AT_7 = Schedule(WEEKDAYS, ((7, 0),))
DAILY_AT_6 = Schedule(EVERY_DAY, ((6, 0),))
AT_6_AND_18 = Schedule(EVERY_DAY, ((6, 0), (18, 0)))
MONDAYS_AT_5 = Schedule((0,), ((5, 0),))
STOPPED = Outage(skip_to=0, skip_from=6)  # its latest 6 scheduled runs
RESUMED = Outage(skip_to=30, skip_from=40)  # 10 scheduled runs, then back on schedule 30 runs ago


PIPELINES: tuple[Planted, ...] = (
    Planted(721, 1, "Kondado - Shopify - orders", 1, 1_200, incremental=True),
    Planted(722, 1, "Kondado - Google Ads - campaigns", 6, 8_000),
    Planted(723, 1, "Kondado - Blog - wp_options", 24, 256, billable=False),
    Planted(724, 1, "Kondado - RD Station - leads", 6, 3_000, "stalled", incremental=True),
    Planted(741, 2, "Acme - Facebook Ads - insights", 1, 900, "late"),
    Planted(742, 2, "Acme - PostgreSQL - invoices", 6, 5_000, "failing", incremental=True),
    Planted(743, 2, "Acme - Hubspot - contacts", 24, 2_000, "not_active"),
    Planted(744, 2, "Acme - Omie - vendas", 6, 1_500, "blocked"),
    Planted(761, 3, "Padaria Pão Quente - Pipedrive - deals", 1, 400, "zero_rows", incremental=True),
    Planted(762, 3, "Padaria Pão Quente - Google Ads - campaigns", 6, 6_000, "spike"),
    Planted(763, 3, "Padaria Pão Quente - PostgreSQL - vendas", 1, 2_500, "savepoint_break", incremental=True),
    Planted(764, 3, "Padaria Pão Quente - Omie - estoque", 24, 700, "new"),
    Planted(765, 3, "Padaria Pão Quente - Bling - notas", 6, 800, "slow", billable=False),
    Planted(781, 4, "Hidden Co - Shopify - orders", 1, 1_000),  # an account the demo token never sees
    # Scheduled (free connectors: the plan figures stay those of the cadenced ones).
    Planted(725, 1, "Kondado - Omie - pedidos", 1, 300, billable=False, schedule=BUSINESS_HOURS),
    Planted(
        726, 1, "Kondado - Pipedrive - atividades", 0.25, 40, billable=False, schedule=EVERY_15_MIN_IN_BUSINESS_HOURS
    ),
    Planted(727, 1, "Kondado - Google Sheets - metas", 24, 120, billable=False, schedule=WEEKDAYS_AT_7),
    Planted(728, 2, "Acme - Bling - notas", 24, 900, billable=False, schedule=DAILY_AT_6),
    Planted(745, 2, "Acme - Mercado Livre - pedidos", 12, 700, billable=False, schedule=AT_6_AND_18),
    Planted(746, 2, "Acme - Google Analytics - sessions", 168, 5_000, billable=False, schedule=MONDAYS_AT_5),
    Planted(
        747, 2, "Acme - Zendesk - tickets", 1, 200, "stopped", billable=False, schedule=BUSINESS_HOURS, outage=STOPPED
    ),
    Planted(
        729, 1, "Kondado - Asana - tasks", 1, 150, "resumed", billable=False, schedule=BUSINESS_HOURS, outage=RESUMED
    ),
)
MODELS: tuple[Planted, ...] = (
    Planted(111, 1, "Kondado - Leads", 6, 4_900),
    Planted(112, 1, "Kondado - Receita diária", 24, 365),
    Planted(121, 2, "Acme - Funil de vendas", 6, 12_000, "failing"),
    Planted(131, 3, "Padaria Pão Quente - Churn", 24, 800, "stalled"),
    Planted(132, 3, "Padaria Pão Quente - CAC por canal", 1, 50),
    Planted(113, 1, "Kondado - Funil do dia", 0.25, 300, schedule=EVERY_15_MIN_IN_BUSINESS_HOURS),
    Planted(114, 1, "Kondado - Metas semanais", 168, 52, schedule=MONDAYS_AT_5),
    Planted(122, 2, "Acme - Estoque diário", 24, 2_000, "stopped", schedule=DAILY_AT_6, outage=Outage(0, 4)),
)
# Rows a month each account's plan allows: account 3 reaches its plan before the month ends.
PLAN_ROWS = {1: 3_000_000, 2: 2_000_000, 3: 2_400_000}

# How long before `now` each silent item ran last, in cadences (the others ran within their cadence).
_SILENT_CADENCES = {"stalled": 8, "failing": 12, "blocked": 16, "not_active": 5}
_LATE_HOURS = 2.25
_ZERO_STREAK = 6
_SPIKE_FACTOR = 12
_SLOW_FACTOR = 10
_NEW_RUNS = 2

_STATUS_MESSAGES = {
    "failing": 'Error: relation "public.invoices" does not exist (5 builds in a row failed)',
    "blocked": "Blocked after too many failed builds: the Omie token was revoked",
}


def _runs(item: Planted, rng: random.Random, days: float, now: datetime.datetime) -> list[datetime.datetime]:
    """When `item` ran: on its schedule, or every cadence with a few minutes of jitter up to its anomaly's silence."""
    if item.schedule is not None:
        return scheduled_runs(item.schedule, item.outage, rng, now - datetime.timedelta(days=days), now)
    cadence = item.cadence_hours * HOUR
    if item.anomaly in _SILENT_CADENCES:
        last = now - datetime.timedelta(seconds=_SILENT_CADENCES[item.anomaly] * cadence)
    elif item.anomaly == "late":
        last = now - datetime.timedelta(hours=_LATE_HOURS)
    else:
        last = now - datetime.timedelta(seconds=rng.uniform(0.05, 0.9) * cadence)
    span = days * 86_400 - (now - last).total_seconds()  # from the first day of logs to the last run
    count = _NEW_RUNS if item.anomaly == "new" else max(0, int(span // cadence) + 1)
    moments = []
    for back in range(count):
        wobble = 0.0 if back == 0 else rng.uniform(-120, 120)  # minutes late or early, never past the planted last
        moments.append(last - datetime.timedelta(seconds=back * cadence + wobble))
    return moments[::-1]


def _rows(item: Planted, rng: random.Random, back: int) -> int:
    """Rows of the run `back` runs before the latest (0: the latest); within 20% of the usual."""
    if item.anomaly == "zero_rows" and back < _ZERO_STREAK:
        return 0
    if item.anomaly == "spike" and back == 0:
        return item.rows * _SPIKE_FACTOR
    return round(item.rows * rng.uniform(0.8, 1.2))


def _pipeline_log(
    item: Planted,
    rng: random.Random,
    moment: datetime.datetime,
    rows: int,
    savepoint: str | None,
    *,
    slow: bool = False,
) -> dict[str, Any]:
    created = stamp(moment)
    longest = 30 + item.rows / 200  # from the usual rows: a spike in rows is not a slow run
    seconds = _SLOW_FACTOR * longest if slow else rng.uniform(2, longest)
    return {
        "client_id": item.client_id,
        "pipeline_id": item.item_id,
        "execution_time_seconds": f"{seconds:.6f}",
        "has_deltas": item.incremental and rows > 0,
        "pipeline_name": item.name,
        "row_count": str(rows),
        "createdAt": created,
        "updatedAt": created,
        "initial_savepoint": savepoint if item.incremental else None,
        "new_savepoint": created if item.incremental else None,
        "external_ip": rng.choice(["3.220.239.218", "54.94.12.7"]),
        "is_billable": item.billable and rows > 0,
        "raw_row_count": str(rows + rng.randint(0, rows // 10 + 1)),
        "mb_estimate": f"{rows * rng.uniform(0.00001, 0.0004):.5f}",
    }


def _model_log(item: Planted, rng: random.Random, moment: datetime.datetime, rows: int) -> dict[str, Any]:
    created = stamp(moment)
    return {
        "client_id": item.client_id,
        "model_id": item.item_id,
        "execution_time_seconds": round(rng.uniform(0.05, 120), 6),
        "model_name": item.name,
        "row_count": rows,
        "createdAt": created,
        "updatedAt": created,
    }


def item_logs(stream: str, item: Planted, rng: random.Random, days: float, now: datetime.datetime) -> list[dict]:
    """Every log of one pipeline or model, oldest first, without ids."""
    moments = _runs(item, rng, days, now)
    logs, savepoint = [], None
    for index, moment in enumerate(moments):
        back = len(moments) - 1 - index
        rows = _rows(item, rng, back)
        if stream == "model_logs":
            logs.append(_model_log(item, rng, moment, rows))
            continue
        if item.anomaly == "savepoint_break" and back == 0:
            savepoint = stamp(moment - datetime.timedelta(days=3))  # re-read from 3 days back
        logs.append(_pipeline_log(item, rng, moment, rows, savepoint, slow=item.anomaly == "slow" and back == 0))
        savepoint = logs[-1]["new_savepoint"]
    return logs


def generate_scenario(
    stream: str, *, seed: int, days: float, now: datetime.datetime, ids_per_day: float
) -> tuple[list[dict[str, Any]], GlobalSequence]:
    """Every log of `stream` in the catalog, in id order; ids sparse and nearly ascending with createdAt."""
    rng = random.Random(f"scenario:{stream}:{seed}")
    catalog = PIPELINES if stream == "pipeline_logs" else MODELS
    logs = [log for item in catalog for log in item_logs(stream, item, rng, days, now)]
    logs.sort(key=lambda log: log["createdAt"])
    sequence = GlobalSequence(rng, ids_per_day)
    previous: datetime.datetime | None = None
    for log in logs:
        moment = _parse(log["createdAt"])
        seconds = (moment - previous).total_seconds() if previous else rng.uniform(0, 3_600)
        log["id"] = sequence.next_id(max(seconds, 1.0), moment)
        jittered = moment + datetime.timedelta(seconds=rng.uniform(-JITTER_SECONDS, JITTER_SECONDS))
        log["createdAt"] = stamp(min(jittered, now))
        log["updatedAt"] = log["createdAt"]
        if rng.random() < 0.05:  # edited after the run, as Kondado sometimes does
            log["updatedAt"] = stamp(min(jittered, now) + datetime.timedelta(minutes=rng.randint(1, 90)))
        previous = moment
    return [{"id": log.pop("id"), **log} for log in logs], sequence


def next_run(stream: str, records: list[dict[str, Any]], rng: random.Random, moment: datetime.datetime) -> dict:
    """The next run of a steady item, in turn: a log made after generation (`append`), without its id.

    Its usual rows and, if incremental, the previous run's new savepoint as its initial one.
    """
    catalog = PIPELINES if stream == "pipeline_logs" else MODELS
    steady = [item for item in catalog if item.anomaly is None and item.schedule is None]
    item = steady[len(records) % len(steady)]
    rows = _rows(item, rng, back=1)  # steady: no anomaly on any run
    if stream == "model_logs":
        return _model_log(item, rng, moment, rows)
    previous = next((r for r in reversed(records) if r.get("pipeline_id") == item.item_id), None)
    return _pipeline_log(item, rng, moment, rows, previous["new_savepoint"] if previous else None)


def planted_statuses() -> dict[str, dict[int, dict[str, Any]]]:
    """What the status endpoints report for each pipeline and model of the catalog."""
    return {
        "pipelines": {item.item_id: _status("pipelines", item) for item in PIPELINES},
        "models": {item.item_id: _status("models", item) for item in MODELS},
    }


_PLANTED_STATUS = {
    "failing": "too_many_consecutive_failed_builds",
    "blocked": "too_many_consecutive_failed_builds__blocked",
    "not_active": "not_active",
}


def _status(kind: str, item: Planted) -> dict[str, Any]:
    """`active` (idle and enabled, as the API says of a healthy one), or the status the anomaly planted."""
    return status_entry(kind, _PLANTED_STATUS.get(item.anomaly, "active"), _STATUS_MESSAGES.get(item.anomaly))


def flagged(anomaly: str, catalog: tuple[Planted, ...] = PIPELINES, clients: set[int] | None = None) -> set[int]:
    """Ids of the catalog's items planted with `anomaly` (of `clients` only, if given)."""
    return {i.item_id for i in catalog if i.anomaly == anomaly and (clients is None or i.client_id in clients)}


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
