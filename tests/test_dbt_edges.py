"""The `kondado` package on records and vars at the edges, on DuckDB and PostgreSQL: logs with no id, counts past
bigint, negative counts, a plan of 0, a month barely begun, times with a zone read by a session in another
(Tokyo), times without one from a loader in local time (Sao Paulo), and vars that cannot be meant.

The source tables are written here directly, typed as the targets type them, and dbt runs from Meltano's dbt
utilities' own environments without Meltano's start-up (the tap, the targets and Meltano are tested elsewhere);
each engine's cases in one build.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import subprocess
import types
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.dbt_builds import DuckDBWarehouse, PostgresWarehouse, duckdb_env, postgres_env
from tests.meltano_helpers import PROJECT_ROOT, ensure_installed

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

AS_OF = datetime.datetime(2026, 11, 15, 12, 0)  # 14.5 days into a 30-day month
EARLY = datetime.datetime(2026, 11, 1, 0, 30)  # half an hour into it
NOVEMBER = datetime.date(2026, 11, 1)
# Pipeline logs' times without a zone, written in Sao Paulo's wall-clock time (a loader in local time), named by
# kondado_loader_time_zone.
LOADER_ZONE = "America/Sao_Paulo"
LAST_MODEL_RUN = AS_OF - datetime.timedelta(hours=1)
SESSION_ZONE = {"TZ": "Asia/Tokyo", "PGTZ": "Asia/Tokyo"}  # DuckDB's session follows TZ, libpq's PGTZ
HUGE = 2**62  # one log's row_count: the month's projection is past bigint
PLANS = {1: 1_000, 3: 1_000, 5: 0, 7: 100}  # account 7 has no log
NO_SIMULATOR = types.SimpleNamespace(url="http://127.0.0.1:9")  # the dbt steps never call the API

PIPELINE_COLUMNS = (
    "id bigint, client_id bigint, pipeline_id bigint, pipeline_name text, {created} timestamp, {updated} timestamp, "
    "row_count bigint, raw_row_count bigint, execution_time_seconds numeric, mb_estimate numeric, "
    "is_billable boolean, has_deltas boolean, initial_savepoint text, new_savepoint text, external_ip text"
)
PIPELINE_INSERT = (
    "INSERT INTO tap_kondado.pipeline_logs VALUES (?, ?, ?, 'p', ?, ?, ?, ?, 1, 0.1, true, false, null, null, null)"
)
# Model logs' times with a zone (another loader's choice), read by dbt sessions in Tokyo time: still UTC.
MODEL_COLUMNS = (
    "id bigint, client_id bigint, model_id bigint, model_name text, {created} timestamptz, {updated} timestamptz, "
    "row_count bigint, execution_time_seconds numeric"
)


def pipeline_logs() -> list[tuple]:
    """(id, client_id, pipeline_id, created_at, row_count): readable ones, then three a person must look at."""
    hour = datetime.timedelta(hours=1)
    return [
        (1, 1, 11, EARLY - datetime.timedelta(minutes=20), 10),
        *((2 + n, 1, 11, AS_OF - n * hour, 100) for n in range(5)),
        (10, 2, 21, AS_OF - hour, HUGE),
        (11, 3, 31, AS_OF - 2 * hour, 100),
        (12, 3, 31, AS_OF - hour, -50),
        (13, 5, 51, AS_OF - hour, 100),
        (None, 1, 11, AS_OF - hour, 100),  # no id
        (14, 1, None, AS_OF - hour, 100),  # an id the tap could not read (pipeline_id "abc")
        (15, 1, 11, None, 100),  # no createdAt
    ]


def model_logs() -> list[tuple]:
    utc = datetime.timezone.utc
    return [(100, 1, 901, LAST_MODEL_RUN.replace(tzinfo=utc), 10), (101, 1, None, AS_OF.replace(tzinfo=utc), 10)]


def write_sources(execute, quote) -> None:
    created, updated = quote("createdAt"), quote("updatedAt")
    execute("CREATE SCHEMA tap_kondado")
    execute(f"CREATE TABLE tap_kondado.pipeline_logs ({PIPELINE_COLUMNS.format(created=created, updated=updated)})")
    execute(f"CREATE TABLE tap_kondado.model_logs ({MODEL_COLUMNS.format(created=created, updated=updated)})")
    for log_id, client, pipeline, at, rows in pipeline_logs():
        local = None if at is None else _wall_clock(at, LOADER_ZONE)
        execute(PIPELINE_INSERT, (log_id, client, pipeline, local, local, rows, rows))
    for log_id, client, model, at, rows in model_logs():
        execute(
            "INSERT INTO tap_kondado.model_logs VALUES (?, ?, ?, 'm', ?, ?, ?, 1)",
            (log_id, client, model, at, at, rows),
        )


def _wall_clock(utc: datetime.datetime, zone: str) -> datetime.datetime:
    """A naive UTC moment as a clock in `zone` shows it (naive)."""
    return utc.replace(tzinfo=datetime.timezone.utc).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _duckdb_name(name: str) -> str:
    return f'"{name.lower()}"'  # target-duckdb lower-cases column names


def _text(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value  # with its offset, if any


def write_with_the_utilitys_duckdb(path, statements: list[tuple[str, list]]) -> None:
    """Run `statements` with dbt-duckdb's own duckdb: its storage format, which this venv's newer one would not keep."""
    python = PROJECT_ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "python"
    script = (
        "import duckdb, json, sys\n"
        "with duckdb.connect(sys.argv[1]) as c:\n"
        "    [c.execute(s, p) for s, p in json.load(sys.stdin)]"
    )
    subprocess.run([str(python), "-c", script, str(path)], input=json.dumps(statements), text=True, check=True)


def dbt(utility: str, *args: str, env: dict[str, str]) -> str:
    """`dbt ARGS` on the package with the utility's dbt and profile; its output, or AssertionError with it."""
    binary = PROJECT_ROOT / ".meltano" / "utilities" / utility / "venv" / "bin" / "dbt"
    profiles = PROJECT_ROOT / "transform" / "profiles" / utility.removeprefix("dbt-")
    command = [str(binary), *args, "--project-dir", str(PROJECT_ROOT / "transform"), "--profiles-dir", str(profiles)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        msg = f"dbt {' '.join(args)} exited {result.returncode}:\n{output[-8000:]}"
        raise AssertionError(msg)
    return output


def build_vars(as_of: datetime.datetime) -> str:
    return json.dumps(
        {"kondado_as_of": as_of.isoformat() + "Z", "kondado_plan_rows": PLANS, "kondado_loader_time_zone": LOADER_ZONE}
    )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine(request, tmp_path_factory):
    """{warehouse, env, utility, output (of the build at AS_OF), monthly (at AS_OF), early (monthly at EARLY)}."""
    ensure_installed()
    tmp = tmp_path_factory.mktemp(f"edges-{request.param}")
    if request.param == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        path = tmp / "warehouse.duckdb"
        statements: list[tuple[str, list]] = []
        write_sources(lambda sql, params=(): statements.append((sql, [_text(p) for p in params])), _duckdb_name)
        write_with_the_utilitys_duckdb(path, statements)
        warehouse, env, utility = DuckDBWarehouse(duckdb, path), duckdb_env(tmp, NO_SIMULATOR, path), "dbt-duckdb"
    else:
        psycopg = pytest.importorskip("psycopg")
        server = request.getfixturevalue("postgres")
        database = server.create_database("kondado_edges")
        with psycopg.connect(server.dsn(database), autocommit=True) as conn:
            write_sources(lambda sql, params=(): conn.execute(sql.replace("?", "%s"), params), lambda n: f'"{n}"')
        warehouse = PostgresWarehouse(psycopg, server.dsn(database))
        env, utility = postgres_env(tmp, NO_SIMULATOR, server, database), "dbt-postgres"
    env.update(SESSION_ZONE)
    output = dbt(utility, "build", "--vars", build_vars(AS_OF), env=env)
    built = {"warehouse": warehouse, "env": env, "utility": utility, "output": output}
    built["monthly"] = monthly(warehouse)
    built["unreadable"] = {r["stream"]: int(r["unreadable_logs"]) for r in warehouse.model("kondado_unreadable_logs")}
    health = warehouse.model("kondado_pipeline_health")
    built["pipelines"] = {int(r["pipeline_id"]) for r in health}
    built["last_pipeline_runs"] = {int(r["pipeline_id"]): r["last_run_at"] for r in health}
    built["models"] = {int(r["model_id"]): r["last_run_at"] for r in warehouse.model("kondado_model_health")}
    selection = ["--select", "+kondado_billable_rows_monthly"]
    dbt(utility, "run", *selection, "--vars", build_vars(EARLY), env=env)
    built["early"] = monthly(warehouse)
    return built


def monthly(warehouse) -> dict[int, dict[str, Any]]:
    """The current month's rows by account, numbers as Python ints."""

    def plain(value: Any) -> Any:
        return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value

    return {
        int(row["client_id"]): {k: plain(v) for k, v in row.items()}
        for row in warehouse.model("kondado_billable_rows_monthly")
        if row["month"] == NOVEMBER
    }


MONTH_SECONDS = 30 * 86_400
ELAPSED = int((AS_OF - datetime.datetime(2026, 11, 1)).total_seconds())


def test_unreadable_logs_are_counted_and_kept_out_of_the_answers(engine):
    assert engine["unreadable"] == {"pipeline_logs": 3, "model_logs": 1}
    assert "Warning in test kondado_logs_all_readable" in engine["output"]
    assert engine["pipelines"] == {11, 21, 31, 51}
    assert engine["monthly"][1]["runs"] == 6  # none of the unreadable three


def test_times_with_a_zone_read_as_utc_in_a_session_of_another_zone(engine):
    assert engine["models"] == {901: LAST_MODEL_RUN}


def test_times_without_a_zone_read_in_the_loaders_zone(engine):
    assert engine["last_pipeline_runs"][11] == AS_OF  # its newest log, written as 09:00 Sao Paulo time
    assert engine["early"][1]["billable_rows"] == 10  # the log of 00:10 UTC is November's, not October's


def test_a_projection_past_bigint_is_exact(engine):
    row = engine["monthly"][2]
    assert row["billable_rows"] == HUGE
    assert row["projected_billable_rows"] == HUGE * MONTH_SECONDS // ELAPSED > 2**63


def test_negative_row_counts_are_bad_data_not_a_projection(engine):
    row = engine["monthly"][3]
    assert row["projection_note"] == "bad_data"
    assert (row["projected_billable_rows"], row["plan_used_pct"], row["projected_limit_date"]) == (None, None, None)


def test_a_plan_of_zero_is_no_plan(engine):
    row = engine["monthly"][5]
    assert row["projection_note"] == "no_plan"
    assert (row["plan_used_pct"], row["projected_limit_date"]) == (None, None)
    assert row["projected_billable_rows"] == math.floor(100 * MONTH_SECONDS / ELAPSED)


def test_a_normal_account_is_projected(engine):
    row = engine["monthly"][1]
    assert row["projection_note"] is None
    assert row["projected_billable_rows"] == 510 * MONTH_SECONDS // ELAPSED
    assert row["projected_limit_date"] is not None


def test_too_early_in_the_month_to_project(engine):
    row = engine["early"][1]
    assert (row["billable_rows"], row["projection_note"]) == (10, "too_early")
    assert (row["projected_billable_rows"], row["projected_limit_date"]) == (None, None)
    assert row["plan_used_pct"] == 1  # 10 of 1,000: what is true so far still shows


def test_a_plan_for_an_account_with_no_log_warns(engine):
    assert "Warning in test kondado_plan_accounts_have_logs" in engine["output"]


@pytest.mark.parametrize(
    ("vars_", "message"),
    [
        ({"kondado_plan_rows": {"01": 100, "1": 200}}, "kondado_plan_rows: account 1 is given twice ('01', '1')"),
        ({"kondado_plan_rows": {"\u0661": 100}}, "kondado_plan_rows: account '\u0661' is not a client_id"),
        ({"kondado_plan_rows": {"1": 2**63}}, "kondado_plan_rows: 9223372036854775808 rows is more than"),
        ({"kondado_source_schema": 'tap"kondado'}, "kondado_source_schema must be a schema name, not 'tap\"kondado'"),
        (
            {"kondado_history_start_date": "01/11/2026"},
            "kondado_history_start_date must be a date such as 2026-01-01, not '01/11/2026'",
        ),
    ],
)
def test_a_var_that_cannot_be_meant_stops_the_build_with_a_line_naming_it(engine, vars_, message):
    if engine["utility"] != "dbt-duckdb":
        pytest.skip("vars are checked as the SQL is compiled, the same on both engines: DuckDB's compile says it")
    with pytest.raises(AssertionError) as failed:
        dbt(engine["utility"], "compile", "--vars", json.dumps(vars_), env=engine["env"])
    assert message in str(failed.value)


# Each form as people write it, and what the package reads: the plan SQL of each, in one compile.
PLAN_FORMS = {
    "3e6": [("null", "3000000")],
    "2.4e6": [("null", "2400000")],
    '{"3": 2400000, "1": "1.5e6"}': [("3", "2400000"), ("1", "1500000")],  # a map given as a JSON string
    "2_400_000": [("null", "2400000")],
}


def test_plans_in_the_forms_people_write_them(engine):
    if engine["utility"] != "dbt-duckdb":
        pytest.skip("vars are read as the SQL is compiled, the same on both engines: DuckDB's compile shows it")
    inline = " ;; ".join(f"{{{{ kondado_plan_rows_sql({json.dumps(form)}) }}}}" for form in PLAN_FORMS)
    output = dbt(engine["utility"], "compile", "--inline", inline, env=engine["env"])
    compiled = output[output.index("kondado_plan_rows_sql") :] if "kondado_plan_rows_sql" in output else output
    parts = compiled.split(";;")
    assert len(parts) == len(PLAN_FORMS), output[-3000:]
    pattern = r"cast\((\w+) as bigint\) as client_id, cast\((\d+) as bigint\) as plan_rows"
    assert [re.findall(pattern, part) for part in parts] == list(PLAN_FORMS.values())


def test_a_map_that_is_not_json_says_so(engine):
    if engine["utility"] != "dbt-duckdb":
        pytest.skip("vars are read as the SQL is compiled: DuckDB's compile says it")
    with pytest.raises(AssertionError) as failed:
        dbt(engine["utility"], "compile", "--vars", json.dumps({"kondado_plan_rows": "{3: 2400000"}), env=engine["env"])
    assert "kondado_plan_rows looks like a map but is not JSON" in str(failed.value)
