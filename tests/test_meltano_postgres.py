"""`meltano run tap-kondado target-postgres` for real: Meltano, MeltanoLabs target-postgres and a
throwaway PostgreSQL server, fed by the simulator. Everything is checked with SQL."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tap_kondado.simulator.data import MODEL_EXAMPLE, PIPELINE_EXAMPLE
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tests.meltano_helpers import DEMO_TIME_SCALE, base_env, ensure_installed, meltano, meltano_state
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.postgres, pytest.mark.slow]

psycopg = pytest.importorskip("psycopg")
sql = psycopg.sql

SCHEMA = "kondado_logs"
STREAMS = ("pipeline_logs", "model_logs")
STATUS_STREAMS = ("pipeline_status", "model_status")
CREATED_AT = datetime.datetime(2020, 9, 17, 0, 3, 48, 108000)
# The API docs' two example records, as PostgreSQL returns them (numbers as numbers, UTC naive timestamps).
EXPECTED_EXAMPLES = {
    "pipeline_logs": {
        "id": 5181910,
        "client_id": 1,
        "pipeline_id": 702,
        "pipeline_name": "Kondado - Blog - wp_options",
        "execution_time_seconds": Decimal("0.486988"),
        "row_count": 256,
        "raw_row_count": 123,
        "mb_estimate": Decimal("0.00231"),
        "has_deltas": False,
        "is_billable": True,
        "initial_savepoint": None,
        "new_savepoint": None,
        "external_ip": "3.220.239.218",
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
    },
    "model_logs": {
        "id": 5219430,
        "client_id": 1,
        "model_id": 162,
        "model_name": "Kondado - Leads",
        "execution_time_seconds": Decimal("0.201923"),
        "row_count": 4915,
        "createdAt": datetime.datetime(2020, 9, 17, 0, 5, 0, 892000),
        "updatedAt": datetime.datetime(2020, 9, 17, 0, 5, 0, 892000),
    },
}
EXPECTED_TYPES = {
    "pipeline_logs": {
        "id": "bigint",
        "row_count": "bigint",
        "raw_row_count": "bigint",
        "execution_time_seconds": "numeric",
        "mb_estimate": "numeric",
        "has_deltas": "boolean",
        "createdAt": "timestamp without time zone",
        "updatedAt": "timestamp without time zone",
    },
    "model_logs": {
        "id": "bigint",
        "row_count": "bigint",
        "execution_time_seconds": "numeric",
        "createdAt": "timestamp without time zone",
    },
}


@pytest.fixture(scope="module")
def installed():
    ensure_installed()


def test_meltano_run_loads_both_streams_incrementally(postgres, installed, make_sim, tmp_path):
    # Enough logs for more than 20 requests: the tap must pace itself to the demo environment's
    # windows, which are the simulator's scaled the same way.
    sim = make_sim(pipeline_logs=1000, model_logs=400, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE)
    database = postgres.create_database("meltano_e2e")
    env = base_env(
        tmp_path,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        **postgres.meltano_env(database),
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=SCHEMA,
    )

    def visible_ids(stream):
        return {r["id"] for r in sim.visible(stream, TEST_KEY)}

    with psycopg.connect(postgres.dsn(database), autocommit=True) as conn:

        def loaded(stream):
            """{id: _sdc_sync_started_at}: which run last wrote each row."""
            query = sql.SQL("SELECT id, _sdc_sync_started_at FROM {}").format(sql.Identifier(SCHEMA, stream))
            rows = conn.execute(query).fetchall()
            ids = [row[0] for row in rows]
            assert len(ids) == len(set(ids)), f"duplicate ids in {stream}"
            return dict(rows)

        # Run 1: everything the token sees, typed, the docs' examples value for value.
        meltano("run", "tap-kondado", "target-postgres", env=env)
        first = {stream: loaded(stream) for stream in STREAMS}
        for stream in STREAMS:
            assert set(first[stream]) == visible_ids(stream)
            assert len(first[stream]) == len(sim.visible(stream, TEST_KEY))
            assert _column_types(conn, stream, EXPECTED_TYPES[stream]) == EXPECTED_TYPES[stream]
            assert _example_row(conn, stream) == EXPECTED_EXAMPLES[stream]
        stats = sim.stats()
        assert stats["requests"] > 20  # the per-minute window was reached...
        assert stats["rate_limited"] == 0  # ...and never exceeded
        assert _bookmarks(meltano_state("target-postgres", env)) == {s: max(visible_ids(s)) for s in STREAMS}

        # Run 2: only the logs appended since, once each.
        before = {stream: visible_ids(stream) for stream in STREAMS}
        sim.append("pipeline_logs", 60)
        sim.append("model_logs", 25)
        new = {stream: visible_ids(stream) - before[stream] for stream in STREAMS}
        assert all(new.values())
        meltano("run", "tap-kondado", "target-postgres", env=env)
        second = {stream: loaded(stream) for stream in STREAMS}
        for stream in STREAMS:
            assert set(second[stream]) == visible_ids(stream)
            run_two = max(second[stream].values())
            assert {i for i, run in second[stream].items() if run == run_two} == new[stream]
            assert {i: second[stream][i] for i in first[stream]} == first[stream]  # old rows untouched
        assert _bookmarks(meltano_state("target-postgres", env)) == {s: max(visible_ids(s)) for s in STREAMS}

        # Run 3, nothing new: nothing loaded, the bookmarks stay.
        requests_before = sim.stats()["requests"]
        meltano("run", "tap-kondado", "target-postgres", env=env)
        assert {stream: loaded(stream) for stream in STREAMS} == second
        assert sim.stats()["requests"] - requests_before == len(STREAMS)  # one empty-handed page each
        assert _bookmarks(meltano_state("target-postgres", env)) == {s: max(visible_ids(s)) for s in STREAMS}

        # The README's example queries run against what landed, and answer something.
        queries = _readme_sql()
        assert len(queries) == 3
        for query in queries:
            assert conn.execute(query.replace("tap_kondado.", f"{SCHEMA}.")).fetchall(), query


def test_meltano_run_lands_the_status_streams_when_selected(postgres, installed, make_sim, tmp_path):
    """Selected by name, both status tables land, one row per id per run; `*.*` alone asks nothing."""
    sim = make_sim(pipeline_logs=300, model_logs=120, status_envelope="vendor")
    database = postgres.create_database("meltano_status")
    env = base_env(
        tmp_path,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        TAP_KONDADO_RATE_LIMITS="[]",
        TAP_KONDADO_STATUS_DAYS="365",
        TAP_KONDADO__SELECT=json.dumps([f"{stream}.*" for stream in (*STREAMS, *STATUS_STREAMS)]),
        **postgres.meltano_env(database),
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=SCHEMA,
    )
    year_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=365)

    def expected_ids(stream, field):
        newest = {}
        for record in sim.visible(stream, TEST_KEY):
            newest[record[field]] = record["createdAt"]
        return {i for i, created in newest.items() if created >= year_ago.strftime("%Y-%m-%dT%H:%M:%S")}

    pipelines = expected_ids("pipeline_logs", "pipeline_id")
    models = expected_ids("model_logs", "model_id")
    with psycopg.connect(postgres.dsn(database), autocommit=True) as conn:

        def rows(table, field):
            query = sql.SQL("SELECT {}, status, observed_at FROM {}").format(
                sql.Identifier(field), sql.Identifier(SCHEMA, table)
            )
            return conn.execute(query).fetchall()

        meltano("run", "tap-kondado", "target-postgres", env=env)
        assert {row[0] for row in rows("pipeline_status", "pipeline_id")} == pipelines
        assert {row[0] for row in rows("model_status", "model_id")} == models
        assert len(rows("pipeline_status", "pipeline_id")) == len(pipelines)
        assert _column_types(conn, "pipeline_status", {"observed_at": None, "is_blocked": None}) == {
            "observed_at": "timestamp without time zone",
            "is_blocked": "boolean",
        }

        # A pipeline fails and writes no more logs: the next run still asks about it, and adds a row per id.
        quiet = min(pipelines)
        sim.set_status("pipelines", quiet, "too_many_consecutive_failed_builds", raw_msg="source unreachable")
        meltano("run", "tap-kondado", "target-postgres", env=env)
        history = rows("pipeline_status", "pipeline_id")
        assert len(history) == 2 * len(pipelines)
        latest = max((row for row in history if row[0] == quiet), key=lambda row: row[2])
        assert latest[1] == "too_many_consecutive_failed_builds"

        # Meltano's default select (*.*) selects every stream: the status streams still ask nothing.
        before = len(sim.log)
        meltano("run", "tap-kondado", "target-postgres", env={**env, "TAP_KONDADO__SELECT": '["*.*"]'})
        assert not [e for e in sim.log[before:] if e["path"].endswith("/status")]
        assert len(rows("pipeline_status", "pipeline_id")) == 2 * len(pipelines)


def _readme_sql():
    """The ```sql blocks of the README."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return [block.split("```", 1)[0] for block in readme.split("```sql\n")[1:]]


def _column_types(conn, table, columns):
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (SCHEMA, table),
    ).fetchall()
    types = dict(rows)
    return {column: types.get(column) for column in columns}


def _example_row(conn, stream):
    example = {"pipeline_logs": PIPELINE_EXAMPLE, "model_logs": MODEL_EXAMPLE}[stream]
    columns = list(EXPECTED_EXAMPLES[stream])
    query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(SCHEMA, stream)
    )
    row = conn.execute(query, (example["id"],)).fetchone()
    return dict(zip(columns, row, strict=True)) if row else None


def _bookmarks(state):
    return {stream: state["bookmarks"][stream]["replication_key_value"] for stream in STREAMS}
