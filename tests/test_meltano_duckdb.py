"""`meltano run tap-kondado target-duckdb`: the embedded warehouse of `make demo`, checked with SQL."""

from __future__ import annotations

import datetime

import pytest

from tap_kondado.simulator.data import MODEL_EXAMPLE, PIPELINE_EXAMPLE
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tests.meltano_helpers import DEMO_TIME_SCALE, base_env, ensure_installed, meltano, meltano_state
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

duckdb = pytest.importorskip("duckdb")

SCHEMA = "tap_kondado"  # target-duckdb's default: the extractor's namespace
STREAMS = ("pipeline_logs", "model_logs")
# target-duckdb lower-cases column names. The examples are the first record of each stream:
# the one a header-sniffing COPY would drop (see the target-duckdb note in meltano.yml).
EXPECTED_EXAMPLES = {
    "pipeline_logs": {
        "id": PIPELINE_EXAMPLE["id"],
        "client_id": 1,
        "pipeline_id": 702,
        "pipeline_name": "Kondado - Blog - wp_options",
        "execution_time_seconds": 0.486988,
        "row_count": 256,
        "raw_row_count": 123,
        "mb_estimate": 0.00231,
        "has_deltas": False,
        "is_billable": True,
        "initial_savepoint": None,
        "external_ip": "3.220.239.218",
        "createdat": datetime.datetime(2020, 9, 17, 0, 3, 48, 108000),
    },
    "model_logs": {
        "id": MODEL_EXAMPLE["id"],
        "client_id": 1,
        "model_id": 162,
        "model_name": "Kondado - Leads",
        "execution_time_seconds": 0.201923,
        "row_count": 4915,
        "createdat": datetime.datetime(2020, 9, 17, 0, 5, 0, 892000),
    },
}
EXPECTED_TYPES = {
    "pipeline_logs": {
        "row_count": "HUGEINT",
        "execution_time_seconds": "DOUBLE",
        "mb_estimate": "DOUBLE",
        "createdat": "TIMESTAMP",
    },
    "model_logs": {"row_count": "HUGEINT", "execution_time_seconds": "DOUBLE", "createdat": "TIMESTAMP"},
}


@pytest.fixture(scope="module")
def installed():
    ensure_installed()


def test_meltano_run_into_duckdb_incrementally(installed, make_sim, tmp_path):
    sim = make_sim(pipeline_logs=300, model_logs=150, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE)
    warehouse = tmp_path / "warehouse.duckdb"
    env = base_env(
        tmp_path,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        TARGET_DUCKDB_FILEPATH=str(warehouse),
    )

    def visible_ids(stream):
        return {r["id"] for r in sim.visible(stream, TEST_KEY)}

    def loaded(stream):
        """{id: _sdc_batched_at}: when each row was last written."""
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            rows = conn.execute(f"SELECT id, _sdc_batched_at FROM {SCHEMA}.{stream}").fetchall()  # noqa: S608
        ids = [row[0] for row in rows]
        assert len(ids) == len(set(ids)), f"duplicate ids in {stream}"
        return dict(rows)

    meltano("run", "tap-kondado", "target-duckdb", env=env)
    first = {stream: loaded(stream) for stream in STREAMS}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for stream in STREAMS:
            assert set(first[stream]) == visible_ids(stream)
            assert len(first[stream]) == len(sim.visible(stream, TEST_KEY))
            types = dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [SCHEMA, stream],
                ).fetchall()
            )
            assert {c: types.get(c) for c in EXPECTED_TYPES[stream]} == EXPECTED_TYPES[stream]
            columns = list(EXPECTED_EXAMPLES[stream])
            query = f"SELECT {', '.join(columns)} FROM {SCHEMA}.{stream} WHERE id = ?"  # noqa: S608 (constants)
            row = conn.execute(query, [EXPECTED_EXAMPLES[stream]["id"]]).fetchone()
            assert row is not None, f"{stream}: the first record of the batch is missing"
            assert dict(zip(columns, row, strict=True)) == EXPECTED_EXAMPLES[stream]
    assert sim.stats()["rate_limited"] == 0

    before = {stream: visible_ids(stream) for stream in STREAMS}
    sim.append("pipeline_logs", 40)
    sim.append("model_logs", 20)
    new = {stream: visible_ids(stream) - before[stream] for stream in STREAMS}
    meltano("run", "tap-kondado", "target-duckdb", env=env)
    second = {stream: loaded(stream) for stream in STREAMS}
    for stream in STREAMS:
        assert set(second[stream]) == visible_ids(stream)
        newest_first = max(first[stream].values())
        assert {i for i, at in second[stream].items() if at > newest_first} == new[stream]
    state = meltano_state("target-duckdb", env)
    assert {s: state["bookmarks"][s]["replication_key_value"] for s in STREAMS} == {
        s: max(visible_ids(s)) for s in STREAMS
    }

    meltano("run", "tap-kondado", "target-duckdb", env=env)
    assert {stream: loaded(stream) for stream in STREAMS} == second
