"""The package's answers do not depend on the warehouse's time zone: the real tap into target-postgres through
Meltano, then dbt-postgres, on PostgreSQL servers at UTC, America/Sao_Paulo (UTC-3) and Asia/Tokyo (UTC+9), and
into DuckDB with the machine's TZ at America/Sao_Paulo; every answer equal to the UTC server's. (Columns with a
zone, and a loader in local time named by kondado_loader_time_zone: tests/test_dbt_edges.py.)

The logs are planted around a month's turn (kondado_as_of 2026-12-01T03:00Z), where a shift of hours moves a
pipeline from on time to stalled and a log from December to November.
"""

from __future__ import annotations

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tap_kondado.simulator.data import stamp
from tests import postgres as pg
from tests.dbt_builds import PostgresWarehouse, duckdb_env, postgres_env
from tests.meltano_helpers import ensure_installed, meltano
from tests.tap_runner import TEST_TOKENS

pytestmark = [pytest.mark.meltano, pytest.mark.postgres, pytest.mark.slow]

psycopg = pytest.importorskip("psycopg")
duckdb = pytest.importorskip("duckdb")

AS_OF = datetime.datetime(2026, 12, 1, 3, 0, tzinfo=datetime.timezone.utc)
DECEMBER_LOG = datetime.datetime(2026, 12, 1, 1, 0, tzinfo=datetime.timezone.utc)  # 22:00 Nov 30 in Sao Paulo
ZONES = ("America/Sao_Paulo", "Asia/Tokyo")
# What the UTC server must say (the answers the other zones are held to), by pipeline and model id.
HEALTH = {801: "on_time", 802: "stalled", 803: "late", 804: "unknown"}
MODEL_HEALTH = {901: "on_time"}


def planted_logs() -> dict[str, list[dict[str, Any]]]:
    """Fifteen days of history (the schedule rule judges after a week): pipeline 801 hourly, last 1 h before
    AS_OF; 802 every 6 h, last 26 h before (3 runs missed: stalled); 803 every 4 h, last 7 h before (1 missed:
    late); model 901 hourly; client 3's only December log at DECEMBER_LOG."""
    pipelines: list[tuple[int, int, float, float, int]] = [  # (pipeline, client, gap h, last h before, runs)
        (801, 1, 1, 1, 15 * 24),
        (802, 2, 6, 26, 15 * 4),
        (803, 3, 4, 7, 15 * 6),
    ]
    logs = []
    for pipeline_id, client_id, gap, last, runs in pipelines:
        for n in range(runs):
            logs.append(_pipeline_log(pipeline_id, client_id, AS_OF - datetime.timedelta(hours=last + n * gap), 100))
    logs.append(_pipeline_log(804, 3, DECEMBER_LOG, 1_000))
    logs.sort(key=lambda r: r["createdAt"])
    for number, log in enumerate(logs):
        log["id"] = 5_000_000 + number
    models = [
        {
            "id": 6_000_000 + n,
            "client_id": 1,
            "model_id": 901,
            "model_name": "Kondado - Leads",
            "execution_time_seconds": 1.5,
            "row_count": 10,
            "createdAt": stamp(AS_OF - datetime.timedelta(hours=15 * 24 - n)),
            "updatedAt": stamp(AS_OF - datetime.timedelta(hours=15 * 24 - n)),
        }
        for n in range(15 * 24)  # the last 1 h before AS_OF
    ]
    return {"pipeline_logs": logs, "model_logs": models}


def _pipeline_log(pipeline_id: int, client_id: int, moment: datetime.datetime, rows: int) -> dict[str, Any]:
    return {
        "id": 0,
        "client_id": client_id,
        "pipeline_id": pipeline_id,
        "execution_time_seconds": "1.000000",
        "has_deltas": False,
        "pipeline_name": f"Pipeline {pipeline_id}",
        "row_count": str(rows),
        "createdAt": stamp(moment),
        "updatedAt": stamp(moment),
        "initial_savepoint": None,
        "new_savepoint": None,
        "external_ip": "3.220.239.218",
        "is_billable": True,
        "raw_row_count": str(rows),
        "mb_estimate": "0.00100",
    }


BUILD_VARS = {"kondado_as_of": AS_OF.isoformat()}


def answers(rows_of) -> dict[str, Any]:
    """The models' answers, in a form both engines give alike (numbers as floats to 6 places)."""

    def plain(value: Any) -> Any:
        if isinstance(value, (Decimal, float)):
            return round(float(value), 6)
        return value

    def table(name: str, key: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
        rows = rows_of(f"SELECT * FROM analytics.{name}")  # noqa: S608 (constants)
        return {tuple(row[k] for k in key): {k: plain(v) for k, v in row.items()} for row in rows}

    return {
        "pipelines": table("kondado_pipeline_health", ("pipeline_id",)),
        "models": table("kondado_model_health", ("model_id",)),
        "monthly": table("kondado_billable_rows_monthly", ("client_id", "month")),
    }


# The models the answers come from and what they read: built, not tested (the dbt tests run elsewhere).
ANSWERING = ("+kondado_pipeline_health", "+kondado_model_health", "+kondado_billable_rows_monthly")


def load_and_build(env: dict[str, str], loader: str, utility: str) -> None:
    meltano("run", "tap-kondado", loader, env=env)
    meltano("invoke", utility, "run", "--select", *ANSWERING, "--vars", json.dumps(BUILD_VARS), env=env)


def simulator() -> Simulator:
    sim = Simulator(pipeline_logs=0, model_logs=0, tokens=TEST_TOKENS)
    sim.load(planted_logs())
    return sim.start()


@pytest.fixture(scope="module")
def built(postgres, tmp_path_factory):
    """The planted logs loaded and built on every server at once: {"UTC", each of ZONES, "duckdb": its answers}."""
    ensure_installed()
    bin_dir = pg.find_bin_dir()
    servers = {"UTC": postgres}
    started = []
    sim = simulator()
    try:
        for zone in ZONES:
            servers[zone] = pg.start_server(bin_dir, time_zone=zone)
            started.append(servers[zone])

        def run(zone: str) -> dict:
            server = servers[zone]
            database = server.create_database("kondado_tz")
            env = postgres_env(tmp_path_factory.mktemp(zone.replace("/", "_")), sim, server, database)
            load_and_build(env, "target-postgres", "dbt-postgres")
            warehouse = PostgresWarehouse(psycopg, server.dsn(database))
            return answers(warehouse.rows)

        def run_duckdb() -> dict:
            tmp = tmp_path_factory.mktemp("duckdb_tz")
            path = tmp / "warehouse.duckdb"
            env = {**duckdb_env(tmp, sim, path), "TZ": "America/Sao_Paulo"}
            load_and_build(env, "target-duckdb", "dbt-duckdb")

            def rows(query: str) -> list[dict[str, Any]]:
                with duckdb.connect(str(path), read_only=True) as conn:
                    result = conn.execute(query)
                    names = [d[0] for d in result.description]
                    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

            return answers(rows)

        with ThreadPoolExecutor(2) as pool:
            futures = {zone: pool.submit(run, zone) for zone in servers}
            futures["duckdb"] = pool.submit(run_duckdb)
            yield {zone: future.result() for zone, future in futures.items()}
    finally:
        sim.stop()
        for server in started:
            server.stop()


def test_the_utc_server_gives_the_planted_answers(built):
    utc = built["UTC"]
    assert {key[0]: row["health"] for key, row in utc["pipelines"].items()} == HEALTH
    assert {key[0]: row["health"] for key, row in utc["models"].items()} == MODEL_HEALTH
    assert utc["pipelines"][(801,)]["hours_since_last_run"] == 1.0
    assert utc["pipelines"][(801,)]["last_run_at"] == (AS_OF - datetime.timedelta(hours=1)).replace(tzinfo=None)
    december = datetime.date(2026, 12, 1)
    assert utc["monthly"][(3, december)]["billable_rows"] == 1_000  # the 01:00Z log is December's


@pytest.mark.parametrize("zone", ZONES)
def test_a_server_in_another_time_zone_gives_the_utc_servers_answers(built, zone):
    assert built[zone] == built["UTC"]


def test_duckdb_with_the_machine_in_another_time_zone_gives_the_same_answers(built):
    duck, utc = built["duckdb"], built["UTC"]
    for model in ("pipelines", "models", "monthly"):
        assert duck[model].keys() == utc[model].keys()
        for key, row in utc[model].items():
            assert {k: duck[model][key][k] for k in row} == row, (model, key)
