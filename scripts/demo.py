"""`make demo`: Kondado logs -> Meltano -> DuckDB -> the kondado dbt package, and a short report, in one command.

Without credentials: starts the local Kondado simulator on its planted scenario (pipelines on
cadences, some stalled, late or failing; its rate limits scaled by 0.05, the tap pacing itself to
the same windows through the Meltano environment `demo`), runs `meltano run tap-kondado
target-duckdb` into output/demo.duckdb, builds the dbt package there (`meltano invoke dbt-duckdb
build`, with the scenario's plans as kondado_plan_rows), says how many logs the run loaded, and prints
`kondado-report --format text` (health worst first with why, each account's month against its plan, the
busiest) and writes its HTML page. The run selects the status
streams too (TAP_KONDADO__SELECT, as the README shows for one run; meltano.yml selects the log
streams only), so the planted failing and blocked pipelines show as `failing`, with Kondado's message.
The simulator keeps its data in output/simulator.json and adds new logs each time it starts again,
so a second `make demo` loads only those (the bookmarks live in Meltano's state).

With TAP_KONDADO_KEY and TAP_KONDADO_TOKEN set (shell or .env): reads the real Kondado API at
its real limits (1 request/s, 20/min: about 1,000 logs a minute) into output/kondado.duckdb.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tap_kondado.simulator.scenario import PLAN_ROWS

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "output"
BIN = Path(sys.executable).parent
MELTANO = str(BIN / "meltano")
LOG = OUTPUT / "demo-meltano.log"
SIM_DATA = OUTPUT / "simulator.json"
SIM_PORT = OUTPUT / "simulator.port"
DEMO_DB = OUTPUT / "demo.duckdb"
HTML_REPORT = OUTPUT / "kondado-report.html"
REAL_DB = OUTPUT / "kondado.duckdb"  # meltano.yml's default target-duckdb filepath
SIM_KEY, SIM_TOKEN = "demo-key", "demo-token"
# The simulator's windows (Kondado's 1/s and 20/min) scaled by this; meltano.yml's `demo`
# environment gives the tap the same scaled windows.
TIME_SCALE = "0.05"
# The planted scenario over 35 days (this month and the last): ~4,100 pipeline and ~1,200 model
# logs the demo token sees, ~110 pages at 20 per 3 s.
SCENARIO_DAYS = "35"
APPEND_ON_RESTART = "8"  # new runs per stream each time the simulator starts on saved data (2 per steady item)
# The log streams and the status streams (one request per pipeline and model per run): what the dbt package
# needs to tell a failing pipeline from a stalled one. A TAP_KONDADO__SELECT of the user's own wins.
SELECT = json.dumps(["pipeline_logs.*", "model_logs.*", "pipeline_status.*", "model_status.*"])
PLUGINS = ("tap-kondado", "target-duckdb")
DBT = "dbt-duckdb"  # the kondado package (transform/), built in the same DuckDB file
TRIGGER = "kondado-trigger"  # retrains (scripts/retrain_example.py) once per delivery of new data
RETRAIN_LOG = OUTPUT / "retrain.log"
TAP_SCHEMA = "tap_kondado"  # where target-duckdb loads the streams (meltano.yml)
LOG_STREAMS = ("pipeline_logs", "model_logs")


def main() -> int:
    started = time.monotonic()
    OUTPUT.mkdir(exist_ok=True)
    LOG.write_text("")
    env = {
        **os.environ,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    real = _has_credentials(env)

    _step(f"meltano install {' '.join(PLUGINS)} {DBT} {TRIGGER}")
    _meltano(["install", *PLUGINS, DBT, TRIGGER], env)

    if real:
        api = env.get("TAP_KONDADO_API_URL") or "the Kondado API"
        print(f"TAP_KONDADO_KEY and TAP_KONDADO_TOKEN are set: reading {api} at 1 request/s, 20/min.")
        db, before = REAL_DB, _log_counts(REAL_DB)
        _step("meltano run tap-kondado target-duckdb")
        _meltano(["run", "tap-kondado", "target-duckdb"], env)
        _build(db, env, environment=None)
        state_id = "dev:tap-kondado-to-target-duckdb"
    else:
        db, before = DEMO_DB, _log_counts(DEMO_DB)
        full_refresh = not SIM_DATA.exists() or not DEMO_DB.exists()
        if not SIM_DATA.exists():  # a new simulated world: nothing loaded before belongs to it
            DEMO_DB.unlink(missing_ok=True)
            before = _log_counts(DEMO_DB)
        simulator, url = _start_simulator(first=not SIM_DATA.exists())
        try:
            env.update(
                TAP_KONDADO_KEY=SIM_KEY,
                TAP_KONDADO_TOKEN=SIM_TOKEN,
                TAP_KONDADO_API_URL=url,
                TARGET_DUCKDB_FILEPATH=str(DEMO_DB),
            )
            env.setdefault("TAP_KONDADO__SELECT", SELECT)
            args = ["--environment", "demo", "run", *(["--full-refresh"] if full_refresh else []), *PLUGINS]
            why = (
                "a new simulated world: no earlier bookmark applies"
                if full_refresh
                else "incremental, from Meltano's bookmarks"
            )
            _step(f"TAP_KONDADO__SELECT='{env['TAP_KONDADO__SELECT']}' meltano {shlex.join(args)}   ({why})")
            _meltano(args, env)
        finally:
            _stop_simulator(simulator)
        _build(db, env, environment="demo")
        state_id = "demo:tap-kondado-to-target-duckdb"

    _retrain(db, env, environment=None if real else "demo")

    print()
    print(_loaded(db, before))
    print()
    # --- the reports (kondado-report, text then HTML) from the dbt package's models ---------------------------
    _text_report(db)
    _html_report(db)
    # ---------------------------------------------------------------------------------------------------------
    print(_bookmarks(state_id, env))
    print(f"\nDone in {time.monotonic() - started:.0f} s. Meltano's log: {LOG.relative_to(ROOT)}")
    if not real:
        print("Run `make demo` again: the simulator adds new logs, and only those are loaded.")
    return 0


def _log_counts(db: Path) -> dict[str, int]:
    """Rows per log table target-duckdb wrote (0 for a missing file or table): what a run added is the difference."""
    counts = dict.fromkeys(LOG_STREAMS, 0)
    if not db.exists():
        return counts
    with duckdb.connect(str(db), read_only=True) as conn:
        landed = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [TAP_SCHEMA])
        for (table,) in landed.fetchall():
            if table in counts:
                counts[table] = conn.execute(f"SELECT count(*) FROM {TAP_SCHEMA}.{table}").fetchone()[0]  # noqa: S608
    return counts


def _loaded(db: Path, before: dict[str, int]) -> str:
    """One line: the logs this run loaded, per stream, and how many there are in all."""
    after = _log_counts(db)
    added = ", ".join(f"+{after[s] - before.get(s, 0):,} {s} ({after[s]:,} in all)" for s in LOG_STREAMS)
    return f"Loaded into {db.relative_to(ROOT)} this run: {added}"


def _models_built(db: Path) -> bool:
    with duckdb.connect(str(db), read_only=True) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'kondado_pipeline_health'"
            ).fetchone()[0]
        )


def _kondado_report(*args: str) -> str:
    """`kondado-report ARGS` from the project root (its dbt target/manifest.json names the schema); its stdout."""
    result = subprocess.run(
        [str(BIN / "kondado-report"), *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        _fail(result.stderr.strip() or f"kondado-report exited {result.returncode}")
    return result.stdout


def _text_report(db: Path) -> None:
    """The text report on stdout (`kondado-report --format text`), if the dbt build made the health models."""
    if _models_built(db):
        _step(f"kondado-report --duckdb {db.relative_to(ROOT)} --format text")
        print(_kondado_report("--duckdb", str(db), "--format", "text"))


def _html_report(db: Path) -> None:
    """output/kondado-report.html with `kondado-report`, if the dbt build made the health models; else one line."""
    if not _models_built(db):
        print(f"HTML report skipped: no kondado_pipeline_health in {db.relative_to(ROOT)} (the dbt build did not run)")
        return
    _step(f"kondado-report --duckdb {db.relative_to(ROOT)} --output {HTML_REPORT.relative_to(ROOT)}")
    written = _kondado_report("--duckdb", str(db), "--output", str(HTML_REPORT))
    print(f"HTML report: {written.strip()}")  # its path, size and build time


def _has_credentials(env: dict[str, str]) -> bool:
    """Both credentials in the environment or in .env (which Meltano reads too)."""
    dotenv = {}
    if (ROOT / ".env").exists():
        for line in (ROOT / ".env").read_text().splitlines():
            name, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and not name.startswith("#"):
                dotenv[name.strip()] = value.strip().strip("'\"")
    return all(env.get(k) or dotenv.get(k) for k in ("TAP_KONDADO_KEY", "TAP_KONDADO_TOKEN"))


def _retrain(db: Path, env: dict[str, str], environment: str | None) -> None:
    """kondado-trigger twice: the consumer "retrain" runs on what is new, then finds nothing new."""
    with duckdb.connect(str(db), read_only=True) as conn:
        clients = [
            str(row[0])
            for row in conn.execute(
                "SELECT DISTINCT client_id FROM tap_kondado.pipeline_logs WHERE client_id IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
    env = {**env, "KONDADO_TRIGGER_DUCKDB": str(db), "KONDADO_TRIGGER_CLIENTS": ",".join(clients)}
    env["RETRAIN_LOG"] = str(RETRAIN_LOG)
    args = [*(["--environment", environment] if environment else []), "invoke", f"{TRIGGER}:retrain"]
    for why in ("whatever arrived since the last retraining", "again at once: nothing new, nothing run"):
        _step(f"meltano {shlex.join(args)}   ({why})")
        for line in _meltano(args, env).splitlines():
            if line.strip():
                print(f"    {line.strip()}")
    print(f"    {RETRAIN_LOG.relative_to(ROOT)}: {len(RETRAIN_LOG.read_text().splitlines())} retrainings so far")


def _start_simulator(*, first: bool) -> tuple[subprocess.Popen[bytes], str]:
    SIM_PORT.unlink(missing_ok=True)
    command = [str(BIN / "kondado-simulator"), "--port", "0", "--port-file", str(SIM_PORT)]
    command += ["--key", SIM_KEY, "--token", SIM_TOKEN, "--rate-limits", "1/1,20/60", "--time-scale", TIME_SCALE]
    command += ["--scenario", "--days", SCENARIO_DAYS]
    command += ["--data-file", str(SIM_DATA), "--append-on-start", APPEND_ON_RESTART]
    what = "new data" if first else f"saved data + {APPEND_ON_RESTART} new logs per stream"
    _step(f"kondado-simulator ({what}; Kondado's limits, time scaled by {TIME_SCALE})")
    with LOG.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not (SIM_PORT.exists() and SIM_PORT.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            _fail("the simulator did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{SIM_PORT.read_text().strip()}"


def _build(db: Path, env: dict[str, str], environment: str | None) -> None:
    """The kondado dbt package into the same file; the simulator's planted plans when it is the source."""
    env = {**env, "DBT_DUCKDB_PATH": str(db)}
    args = [*(["--environment", environment] if environment else []), "invoke", DBT, "build"]
    if environment == "demo":
        args += ["--vars", json.dumps({"kondado_plan_rows": PLAN_ROWS})]
    _step(f"meltano {shlex.join(args)}")
    _meltano(args, env)


def _stop_simulator(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the simulator saves its data to --data-file, for the next run."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    SIM_PORT.unlink(missing_ok=True)


def _meltano(args: list[str], env: dict[str, str]) -> str:
    started = time.monotonic()
    result = subprocess.run(
        [MELTANO, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    with LOG.open("a") as log:
        log.write(f"$ meltano {shlex.join(args)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).splitlines()[-25:])
        _fail(f"meltano {shlex.join(args)} exited {result.returncode}:\n{tail}")
    print(f"    ok, {time.monotonic() - started:.1f} s")
    return result.stdout


def _bookmarks(state_id: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [MELTANO, "state", "get", state_id], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    try:
        bookmarks = json.loads(result.stdout)["singer_state"]["bookmarks"]
    except (ValueError, KeyError):
        return f"Meltano state {state_id}: none"
    marks = ", ".join(
        f"{s} id {b['replication_key_value']}" for s, b in sorted(bookmarks.items()) if "replication_key_value" in b
    )
    # The status streams keep no position: the ids they ask about next run (remembered from the logs).
    ids = ", ".join(f"{len(b['ids'])} for {s}" for s, b in sorted(bookmarks.items()) if isinstance(b.get("ids"), dict))
    return f"Meltano state {state_id}: next run starts after {marks}" + (f"; ids remembered: {ids}" if ids else "")


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


def _fail(message: str) -> None:
    print(f"demo failed: {message}", file=sys.stderr)
    raise SystemExit(1)


if __name__ == "__main__":
    sys.exit(main())
