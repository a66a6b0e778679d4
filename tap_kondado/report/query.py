"""Read what the report shows from the `kondado` dbt package's models, on DuckDB or PostgreSQL.

One SQL text serves both engines (quoted identifiers, `CAST(... AS DATE)`, timestamp literals); every value
leaves as plain Python (int, float, str, bool, naive UTC datetime, date), so the same data gives equal
`ReportData` on either engine.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from tap_kondado.messages import first_line

# ---------------------------------------------------------------------------------------------------------------
# THE COLUMN MAPPING: every model and column this module reads, by the role it plays in the report.
# Names are the report's contract with the package; a model that names one otherwise is aligned here, and only here.
# ---------------------------------------------------------------------------------------------------------------
PIPELINE_HEALTH = "kondado_pipeline_health"
MODEL_HEALTH = "kondado_model_health"
PIPELINE_RUNS = "kondado_pipeline_runs"
BILLABLE_MONTHLY = "kondado_billable_rows_monthly"
MODELS = (PIPELINE_HEALTH, MODEL_HEALTH, PIPELINE_RUNS, BILLABLE_MONTHLY)

# The health models' columns but their id, name and savepoints: the same in both.
_HEALTH_COLUMNS = {
    name: name
    for name in (
        "client_id",
        "health",
        "last_run_at",
        "runs_last_7d",
        "usual_gap_hours",
        "hours_since_last_run",
        "zero_row_streak",
        "last_row_count",
        "row_count_zscore",
        "volume_anomaly",
        "status",
        "status_message",
        "status_observed_at",
    )
}

# The learned schedule's, run time's and rules' columns: read when the health model has them (one built by an older
# package may not). The package decides every flag; the report only reads it.
LATER_HEALTH_COLUMNS = (
    "zero_row_streak_flagged",
    "unknown_reason",
    "schedule_summary",
    "next_run_due_local",
    "runs_missed",
    "slow_run",
    "last_execution_seconds",
    "usual_execution_seconds",
    "schedule_hours_of_week",
    "schedule_time_zone",
)

COLUMNS: dict[str, dict[str, str]] = {
    PIPELINE_HEALTH: {
        "id": "pipeline_id",
        "name": "pipeline_name",
        **_HEALTH_COLUMNS,
        "savepoint_break": "savepoint_break",
    },
    MODEL_HEALTH: {"id": "model_id", "name": "model_name", **_HEALTH_COLUMNS},
    # Run strips and rows moved come from pipeline runs only (kondado_model_runs is not read yet: models get
    # their health table, not strips).
    PIPELINE_RUNS: {
        "pipeline_id": "pipeline_id",
        "client_id": "client_id",
        "run_at": "created_at",  # when the run finished (the log's createdAt), UTC
        "row_count": "row_count",
        "is_billable": "is_billable",
    },
    BILLABLE_MONTHLY: {
        "client_id": "client_id",
        "month": "month",
        "billable_rows": "billable_rows",
        "projected_billable_rows": "projected_billable_rows",
        "plan_rows": "plan_rows",
        "projected_limit_date": "projected_limit_date",
        "projection_note": "projection_note",  # why a number is missing: bad_data, too_early, no_plan
    },
}
# The days of data the projection rests on: read when the monthly model has it (one built by an older package may not).
PROJECTION_DAYS = "projection_days"
# `kondado_as_of` ("now" of the build): the package writes it on every health and monthly row. Read from this
# column when the model has it (a model built by an older package may not); otherwise derived exactly from the
# contract (last_run_at + hours_since_last_run, computed against kondado_as_of); then the newest
# status_observed_at; then the time the report is built.
AS_OF_MODEL, AS_OF_COLUMN = PIPELINE_HEALTH, "kondado_as_of"
# ---------------------------------------------------------------------------------------------------------------

# Where the models are when --schema is not given: the schema dbt recorded for kondado_pipeline_health in its
# manifest (target/manifest.json of the last build, when it was built with the same engine), else `analytics`,
# what both engines' profiles build into; and if the models are not there but in exactly one other schema, that one.
MANIFEST_NODE = f"model.kondado.{PIPELINE_HEALTH}"
DEFAULT_TARGET_PATH = Path("transform/target")  # dbt_project.yml's target-path, relative to the working directory
DEFAULT_SCHEMA = {"duckdb": "analytics", "postgres": "analytics"}

STRIP_DAYS = 14
ROWS_DAYS = 30
# Worst first; "warned" is an on_time item with a warning (warned() below), between the unknown and the quiet.
HEALTH_ORDER = ("failing", "stalled", "late", "inactive", "unknown", "warned", "on_time")


class ReportError(Exception):
    """Bad input the user can fix: printed as one line."""


class _Connection(Protocol):
    engine: str

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...


@dataclass
class Health:
    """One row of a health model (pipeline or model)."""

    id: int
    client_id: int
    name: str
    health: str
    last_run_at: datetime.datetime | None
    runs_last_7d: int | None
    usual_gap_hours: float | None
    hours_since_last_run: float | None
    zero_row_streak: int | None
    last_row_count: int | None
    row_count_zscore: float | None
    volume_anomaly: bool | None
    savepoint_break: bool | None
    status: str | None
    status_message: str | None
    status_observed_at: datetime.datetime | None
    schedule_summary: str | None = None
    next_run_due_local: datetime.datetime | None = None  # in the package's kondado_time_zone
    runs_missed: int | None = None
    slow_run: bool | None = None
    last_execution_seconds: float | None = None
    usual_execution_seconds: float | None = None
    schedule_hours_of_week: str | None = None  # 168 of 0/1, Monday 00:00 first, in schedule_time_zone; 0: quiet
    schedule_time_zone: str | None = None
    zero_row_streak_flagged: bool | None = None  # the package's kondado_zero_row_streak_runs reached
    unknown_reason: str | None = None  # why health is unknown, in words


@dataclass
class Plan:
    """One account's current month from kondado_billable_rows_monthly, and its billable rows day by day."""

    client_id: int
    billable_rows: int
    projected_billable_rows: int | None
    plan_rows: int | None
    projected_limit_date: datetime.date | None
    projection_note: str | None = None
    projection_days: float | None = None  # the days of data the projection rests on
    daily: list[tuple[datetime.date, int]] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the page shows, engine-independent."""

    source: str
    schema: str
    as_of: datetime.datetime
    as_of_origin: str
    pipelines: list[Health]
    models: list[Health]
    runs: dict[int, list[tuple[datetime.datetime, int]]]  # pipeline_id -> (run_at, row_count), last STRIP_DAYS
    rows_per_day: dict[int, dict[datetime.date, int]]  # client_id -> day -> rows moved, last ROWS_DAYS
    plans: list[Plan]

    @property
    def month_start(self) -> datetime.date:
        return self.as_of.date().replace(day=1)


def load(
    *,
    duckdb_file: str | None = None,
    postgres_url: str | None = None,
    schema: str | None = None,
    dbt_target_path: str | Path | None = None,
) -> ReportData:
    """Read the models from one engine (exactly one of duckdb_file / postgres_url; "" = PG* variables).

    `dbt_target_path`: where dbt's manifest.json is (default: $DBT_TARGET_PATH, else transform/target).
    """
    with _connect(duckdb_file, postgres_url) as (conn, source):
        schema = schema or _find_schema(conn, dbt_target_path)
        has_as_of = _check_models(conn, schema)
        return _read(conn, schema, source, has_as_of=has_as_of)


@contextmanager
def _connect(duckdb_file: str | None, postgres_url: str | None) -> Iterator[tuple[_Connection, str]]:
    if duckdb_file is not None:
        conn: _Connection = _DuckDB(duckdb_file)
        source = duckdb_file
    else:
        conn = _Postgres(postgres_url or "")
        source = _redacted(postgres_url) or "PostgreSQL (PG* variables)"
    try:
        yield conn, source
    finally:
        conn.close()  # type: ignore[attr-defined]


class _DuckDB:
    engine = "duckdb"

    def __init__(self, path: str) -> None:
        try:
            import duckdb  # noqa: PLC0415 (the optional extra: missing, it is one line, not a traceback)
        except ImportError as error:
            raise ReportError(missing_extra("duckdb")) from error
        if not Path(path).is_file():
            raise ReportError(f"no DuckDB file at {path}")
        try:
            self._conn = duckdb.connect(path, read_only=True)
        except duckdb.Error as error:
            raise ReportError(f"cannot open {path} as DuckDB: {first_line(error)}") from error
        self._error = duckdb.Error
        # Timestamps with a time zone compare and convert in UTC, whatever the machine's zone (TZ).
        self.rows("SET TimeZone = 'UTC'")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql).fetchall()
        except self._error as error:
            raise ReportError(f"DuckDB query failed: {first_line(error)}") from error

    def close(self) -> None:
        self._conn.close()


class _Postgres:
    engine = "postgres"

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: PLC0415 (as duckdb above)
        except ImportError as error:
            raise ReportError(missing_extra("psycopg")) from error
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ReportError(f"not a PostgreSQL URL (postgresql://user:password@host:port/db): {_redacted(url)}")
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except (psycopg.Error, ValueError) as error:
            reason = _scrubbed(first_line(error), url)
            raise ReportError(f"cannot connect to {_redacted(url) or 'PostgreSQL'}: {reason}") from None
        self._conn.execute("SET TIME ZONE 'UTC'")
        # Text as UTF-8 whatever the database's encoding: a SQL_ASCII one (which dbt builds fine) would otherwise
        # hand back bytes, and its bytes are not checked, so one that is not UTF-8 reads as U+FFFD.
        self._conn.execute("SET client_encoding TO 'UTF8'")
        for type_name in ("text", "varchar", "bpchar", "name"):
            self._conn.adapters.register_loader(type_name, _Utf8Text)
        self._conn.adapters.register_loader(0, _Utf8Text)  # types psycopg does not know: as text
        self._error = psycopg.Error

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql).fetchall()  # type: ignore[arg-type]
        except self._error as error:
            raise ReportError(f"PostgreSQL query failed: {first_line(error)}") from error

    def close(self) -> None:
        self._conn.close()


class _Utf8Text:
    """A psycopg loader: the bytes of a text value decoded as UTF-8, an invalid sequence as U+FFFD."""

    format = 0  # psycopg's text format

    def __init__(self, oid: int, context: Any = None) -> None:  # noqa: ARG002 (psycopg's signature)
        self.oid = oid

    def load(self, data: bytes | bytearray | memoryview) -> str:
        return bytes(data).decode("utf-8", errors="replace")


def _find_schema(conn: _Connection, dbt_target_path: str | Path | None) -> str:
    """The manifest's (or default) schema; if it lacks the models and exactly one other schema has them, that one."""
    preferred = manifest_schema(conn.engine, dbt_target_path) or DEFAULT_SCHEMA[conn.engine]
    found = [
        s
        for (s,) in conn.rows(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            f"WHERE table_name = {_literal(PIPELINE_HEALTH)}"
        )
    ]
    if preferred in found or len(found) != 1:
        return preferred
    return found[0]


def manifest_schema(engine: str, target_path: str | Path | None = None) -> str | None:
    """The schema dbt's last build put kondado_pipeline_health in, from target/manifest.json (None: not known).

    dbt resolved the profile, its env_var()s and any generate_schema_name override when it wrote this; a manifest
    written for another engine's adapter says nothing about this one.
    """
    folder = Path(target_path or os.environ.get("DBT_TARGET_PATH") or DEFAULT_TARGET_PATH)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    adapter = (manifest.get("metadata") or {}).get("adapter_type")
    node = (manifest.get("nodes") or {}).get(MANIFEST_NODE) or {}
    schema = node.get("schema") if isinstance(node, dict) else None
    if adapter not in (None, engine) or not isinstance(schema, str) or not schema:
        return None
    return schema


def _check_models(conn: _Connection, schema: str) -> bool:
    """Every model and column of the mapping is there (else one line saying what is not); True if AS_OF_COLUMN is."""
    present: dict[str, set[str]] = {}
    for table, column in conn.rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        f"WHERE table_schema = {_literal(schema)} AND table_name IN ({', '.join(_literal(m) for m in MODELS)})"
    ):
        present.setdefault(table, set()).add(column)
    missing = [m for m in MODELS if m not in present]
    if missing:
        msg = (
            f"schema {schema!r} lacks the kondado models {', '.join(missing)}: build the dbt package first "
            "(meltano run ... dbt-duckdb:build or dbt-postgres:build), or name the schema with --schema"
        )
        raise ReportError(msg)
    for model, columns in COLUMNS.items():
        absent = sorted(set(columns.values()) - present[model])
        if absent:
            msg = f"{model} has no column {', '.join(absent)} (align COLUMNS in tap_kondado/report/query.py)"
            raise ReportError(msg)
    return AS_OF_COLUMN in present[AS_OF_MODEL]


def _read(conn: _Connection, schema: str, source: str, *, has_as_of: bool) -> ReportData:
    pipelines = _health(conn, schema, PIPELINE_HEALTH)
    models = _health(conn, schema, MODEL_HEALTH)
    as_of, origin = _as_of(conn, schema, pipelines + models, has_as_of=has_as_of)
    month_start = as_of.date().replace(day=1)
    plans = _plans(conn, schema, month_start, as_of)
    return ReportData(
        source=source,
        schema=schema,
        as_of=as_of,
        as_of_origin=origin,
        pipelines=sort_worst_first(pipelines),
        models=sort_worst_first(models),
        runs=_runs(conn, schema, as_of),
        rows_per_day=_rows_per_day(conn, schema, as_of),
        plans=plans,
    )


def _health(conn: _Connection, schema: str, model: str) -> list[Health]:
    present = conn.rows(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = {_literal(schema)} AND table_name = {_literal(model)}"
    )
    columns = {**COLUMNS[model], **{c: c for (c,) in present if c in LATER_HEALTH_COLUMNS}}
    roles = [f.name for f in Health.__dataclass_fields__.values()]
    select = ", ".join(_ident(columns[r]) if r in columns else "NULL" for r in roles)
    rows = conn.rows(f"SELECT {select} FROM {_ident(schema)}.{_ident(model)}")
    items = [Health(**dict(zip(roles, (_plain(v) for v in row), strict=True))) for row in rows]
    for item in items:  # never a blank row: a missing name or health still shows
        item.name = item.name if item.name not in (None, "") else f"#{item.id}"
        item.health = item.health or "unknown"
    return items


def _as_of(conn: _Connection, schema: str, items: list[Health], *, has_as_of: bool) -> tuple[datetime.datetime, str]:
    if has_as_of:
        (value,) = conn.rows(f"SELECT max({_ident(AS_OF_COLUMN)}) FROM {_ident(schema)}.{_ident(AS_OF_MODEL)}")[0]
        if value is not None:
            return _as_datetime(_plain(value)), f"{AS_OF_MODEL}.{AS_OF_COLUMN}"
    derived = [
        i.last_run_at + datetime.timedelta(hours=i.hours_since_last_run)
        for i in items
        if i.last_run_at is not None and i.hours_since_last_run is not None
    ]
    if derived:
        # To the nearest second: hours as a float carry rounding noise below that.
        newest = max(derived) + datetime.timedelta(microseconds=500_000)
        return newest.replace(microsecond=0), "last_run_at + hours_since_last_run"
    observed = [i.status_observed_at for i in items if i.status_observed_at is not None]
    if observed:
        return max(observed), "newest status_observed_at"
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    return now, "the report's build time"


def _runs(conn: _Connection, schema: str, as_of: datetime.datetime) -> dict[int, list[tuple[datetime.datetime, int]]]:
    c = COLUMNS[PIPELINE_RUNS]
    since = as_of - datetime.timedelta(days=STRIP_DAYS)
    rows = conn.rows(
        f"SELECT {_ident(c['pipeline_id'])}, {_ident(c['run_at'])}, {_ident(c['row_count'])} "
        f"FROM {_ident(schema)}.{_ident(PIPELINE_RUNS)} "
        f"WHERE {_ident(c['run_at'])} > {_timestamp(since)} AND {_ident(c['run_at'])} <= {_timestamp(as_of)} "
        f"ORDER BY 1, 2"
    )
    runs: dict[int, list[tuple[datetime.datetime, int]]] = {}
    for pipeline_id, run_at, row_count in rows:
        runs.setdefault(_plain(pipeline_id), []).append((_as_datetime(_plain(run_at)), _plain(row_count) or 0))
    return runs


def _rows_per_day(conn: _Connection, schema: str, as_of: datetime.datetime) -> dict[int, dict[datetime.date, int]]:
    c = COLUMNS[PIPELINE_RUNS]
    first_day = as_of.date() - datetime.timedelta(days=ROWS_DAYS - 1)
    rows = conn.rows(
        f"SELECT {_ident(c['client_id'])}, CAST({_ident(c['run_at'])} AS DATE), sum({_ident(c['row_count'])}) "
        f"FROM {_ident(schema)}.{_ident(PIPELINE_RUNS)} "
        f"WHERE {_ident(c['run_at'])} >= {_timestamp(first_day)} AND {_ident(c['run_at'])} <= {_timestamp(as_of)} "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    per_client: dict[int, dict[datetime.date, int]] = {}
    for client_id, day, total in rows:
        per_client.setdefault(_plain(client_id), {})[_as_date(_plain(day))] = _plain(total) or 0
    return per_client


def _plans(conn: _Connection, schema: str, month_start: datetime.date, as_of: datetime.datetime) -> list[Plan]:
    m = COLUMNS[BILLABLE_MONTHLY]
    r = COLUMNS[PIPELINE_RUNS]
    roles = (
        "client_id",
        "billable_rows",
        "projected_billable_rows",
        "plan_rows",
        "projected_limit_date",
        "projection_note",
    )
    present = conn.rows(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = {_literal(schema)} AND table_name = {_literal(BILLABLE_MONTHLY)}"
    )
    columns = [_ident(m[role]) for role in roles]
    if (PROJECTION_DAYS,) in present:
        roles, columns = (*roles, PROJECTION_DAYS), [*columns, _ident(PROJECTION_DAYS)]
    rows = conn.rows(
        f"SELECT {', '.join(columns)} FROM {_ident(schema)}.{_ident(BILLABLE_MONTHLY)} "
        f"WHERE CAST({_ident(m['month'])} AS DATE) = {_date(month_start)} ORDER BY 1"
    )
    plans = []
    for row in rows:
        values = dict(zip(roles, (_plain(v) for v in row), strict=True))
        values["projected_limit_date"] = _as_date(values["projected_limit_date"])
        for role in ("billable_rows", "projected_billable_rows", "plan_rows"):
            values[role] = None if values[role] is None else round(values[role])
        values["billable_rows"] = values["billable_rows"] or 0
        if values.get(PROJECTION_DAYS) is not None:
            values[PROJECTION_DAYS] = float(values[PROJECTION_DAYS])
        plans.append(Plan(**values))
    daily = conn.rows(
        f"SELECT {_ident(r['client_id'])}, CAST({_ident(r['run_at'])} AS DATE), sum({_ident(r['row_count'])}) "
        f"FROM {_ident(schema)}.{_ident(PIPELINE_RUNS)} "
        f"WHERE {_ident(r['is_billable'])} AND {_ident(r['run_at'])} >= {_timestamp(month_start)} "
        f"AND {_ident(r['run_at'])} <= {_timestamp(as_of)} GROUP BY 1, 2 ORDER BY 1, 2"
    )
    by_client = {p.client_id: p for p in plans}
    for client_id, day, total in daily:
        if (plan := by_client.get(_plain(client_id))) is not None:
            plan.daily.append((_as_date(_plain(day)), _plain(total) or 0))
    return plans


def warned(item: Health) -> bool:
    """Something odd in its latest runs, whatever its health.

    A zero-row streak, a volume anomaly, a savepoint break or a slow run.
    """
    flags = (item.zero_row_streak_flagged, item.volume_anomaly, item.savepoint_break, item.slow_run)
    return any(bool(flag) for flag in flags)


def shown_health(item: Health) -> str:
    """Its health as the report ranks and badges it: an on_time one with a warning is "warned"."""
    return "warned" if item.health == "on_time" and warned(item) else item.health


def sort_worst_first(items: list[Health]) -> list[Health]:
    """HEALTH_ORDER (failing, stalled, late, inactive, unknown, warned, on_time); then most overdue; then name."""

    def key(item: Health) -> tuple[int, float, str, int]:
        health = shown_health(item)
        rank = HEALTH_ORDER.index(health) if health in HEALTH_ORDER else len(HEALTH_ORDER)
        overdue = -(item.hours_since_last_run or 0) / (item.usual_gap_hours or 1)
        return rank, overdue, item.name.casefold(), item.id

    return sorted(items, key=key)


def _plain(value: Any) -> Any:
    """Engine types to plain Python: Decimal to int or float, aware timestamps to naive UTC."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _as_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)


def _as_date(value: Any) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _timestamp(moment: datetime.date) -> str:
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.combine(moment, datetime.time())
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


def _date(day: datetime.date) -> str:
    return f"DATE '{day.isoformat()}'"


def _redacted(url: str | None) -> str:
    """The URL without its password, to name it in an error or the page, whatever the URL's form.

    libpq takes a password with `#`, `?` or `/` unencoded, which urlsplit then reads as fragment, query or path:
    so everything between the user's `:` and the authority's last `@` goes, and so does any `password=`.
    """
    if not url:
        return ""
    text = _PASSWORD_PARAMETER.sub(r"\1***", url)
    scheme, rest = _SCHEME.match(text).groups()  # no scheme (not a URL, named in an error): all of it
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user, colon, _ = credentials.partition(":")
        text = f"{scheme or ''}{user}{':***' if colon else ''}@{host}"
    return text


def _secrets(url: str | None) -> list[str]:
    """Every form the URL's password may take in a message: as written, and percent-decoded."""
    if not url:
        return []
    found = [m.group(2) for m in _PASSWORD_PARAMETER.finditer(url)]
    rest = _SCHEME.match(url).group(2)
    if "@" in rest:
        credentials = rest.rpartition("@")[0]
        if ":" in credentials:
            found.append(credentials.partition(":")[2])
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def _scrubbed(message: str, url: str | None) -> str:
    """`message` (psycopg's or libpq's, which may echo the URL) with the URL and its password masked."""
    if url:
        message = message.replace(url, _redacted(url))
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return message


# A URL's scheme (`postgresql://`, none in a string that is not a URL), and the rest.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)?(.*)", re.DOTALL)
# `password=...` in a URL's query (any case), up to the next `&` or the end.
_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword=)([^&#]*)")


def missing_extra(module: str) -> str:
    """The one line for a module of the report's extra that is not installed."""
    return f"{module} is not installed: install the report's extra, pip install 'tap-kondado[report]'"
