"""`kondado-trigger`: run COMMAND once per delivery of new data, the consumer's checkpoint kept in the warehouse.

Exit status: 0 when COMMAND ran and succeeded or nothing was new; COMMAND's own status when it failed (the
checkpoint does not move); 2 for bad input or an unusable warehouse; 3 when --wait timed out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from tap_kondado.trigger.api import ApiTrigger, CheckpointFile, default_checkpoint_file, load_config
from tap_kondado.trigger.duckdb_store import DuckDBStore
from tap_kondado.trigger.model import Selection, TriggerError
from tap_kondado.trigger.postgres_store import PostgresStore
from tap_kondado.trigger.runner import run_command
from tap_kondado.trigger.store import WarehouseStore
from tap_kondado.trigger.trigger import Check, Trigger

BAD_INPUT = 2
TIMED_OUT = 3
ENV_PREFIX = "KONDADO_TRIGGER_"  # what a Meltano utility's settings become, e.g. KONDADO_TRIGGER_DUCKDB


def main(argv: Sequence[str] | None = None) -> int:
    """The command; returns its exit status."""
    args, command = _split(list(sys.argv[1:] if argv is None else argv))
    options = _parser().parse_args(args)
    try:
        if options.api:
            return _main_api(options, command)
        with _store(options) as store:
            if options.list:
                return _list(store)
            consumer = options.consumer or os.environ.get(f"{ENV_PREFIX}CONSUMER", "")
            return _main(Trigger(store, consumer, _selection(options)), options, command)
    except TriggerError as error:
        print(f"kondado-trigger: {error}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _main_api(options: argparse.Namespace, command: list[str]) -> int:
    """--api: the same steps, the logs read from the API, the checkpoint in a local file."""
    if options.duckdb or options.postgres:
        raise TriggerError("--api reads the API itself: give no --duckdb or --postgres with it")
    checkpoints = CheckpointFile(options.checkpoint_file or default_checkpoint_file())
    if options.list:
        return _list_file(checkpoints)
    consumer = options.consumer or os.environ.get(f"{ENV_PREFIX}CONSUMER", "")
    return _main(ApiTrigger(load_config(options.config), checkpoints, consumer, _selection(options)), options, command)


def _main(trigger: Trigger | ApiTrigger, options: argparse.Namespace, command: list[str]) -> int:
    _set_checkpoint(trigger, options)
    if options.dry_run:
        print(_dry_run_line(trigger.check(), command))
        return 0
    if not command:
        return _no_command(options)
    return _consume(trigger, command, options)


def _no_command(options: argparse.Namespace) -> int:
    """Fine after --reset or --since alone (a checkpoint set by hand); otherwise the job is missing."""
    if options.reset or options.since:
        return 0
    raise TriggerError("give the job to run after --, e.g. kondado-trigger ... -- python retrain.py")


def _set_checkpoint(trigger: Trigger | ApiTrigger, options: argparse.Namespace) -> None:
    """--reset and --since: by hand, before looking."""
    if options.reset and not options.since:
        trigger.reset()
        print(f"{trigger.consumer}: checkpoint forgotten; its next check offers every delivery there is")
    if options.since and trigger.start_at(options.since, reset=options.reset):
        print(f"{trigger.consumer}: starts after {options.since}")


def _consume(trigger: Trigger | ApiTrigger, command: list[str], options: argparse.Namespace) -> int:
    """Run the job on what is new (with --wait: once something is), committing only when it exits 0."""
    deadline = None if options.timeout is None else time.monotonic() + options.timeout
    while True:
        with trigger.poll() as check:
            if check.batch is not None:
                return _run_job(trigger.consumer, check, command)
        if not options.wait:
            print(check.summary(), flush=True)
            return 0
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            print(f"kondado-trigger: timed out after {options.timeout:g} s: {check.summary()}", flush=True)
            return TIMED_OUT
        time.sleep(options.interval if left is None else min(options.interval, left))


def _run_job(consumer: str, check: Check, command: list[str]) -> int:
    batch = check.batch
    assert batch is not None  # noqa: S101 (the caller checked)
    print(f"kondado-trigger: {check.summary()}: running {' '.join(command)}", flush=True)
    code = run_command(command, batch)
    if code == 0:
        batch.commit()
        print(f"kondado-trigger: {consumer} consumed up to {batch.newest.describe()}", flush=True)
    else:
        print(
            f"kondado-trigger: {command[0]} exited {code}: {consumer}'s checkpoint is unchanged, "
            "the same deliveries are offered next time",
            file=sys.stderr,
            flush=True,
        )
    return code


def _dry_run_line(check: Check, command: list[str]) -> str:
    if check.batch is None:
        return f"dry run: {check.summary()}"
    job = " ".join(command) if command else "the job"
    ids = ", ".join(map(str, check.batch.log_ids[:20])) + (", ..." if len(check.batch.log_ids) > 20 else "")
    return f"dry run: would run {job} for {check.summary()}; log ids {ids}"


def _list(store: WarehouseStore) -> int:
    rows = store.checkpoints()
    if not rows:
        print(f"no consumers yet in {store.where()}")
        return 0
    for row in rows:
        when = row.committed_at.isoformat(timespec="seconds") + "Z" if row.committed_at else "never"
        last = row.last_delivery or "no delivery yet"
        print(
            f"{row.consumer}\t{row.stream}\tafter log {row.last_log_id}\t"
            f"{row.deliveries} consumed\tlast: {last}\tat {when}"
        )
    return 0


def _list_file(checkpoints: CheckpointFile) -> int:
    consumers = checkpoints.read()
    if not consumers:
        print(f"no consumers yet in {checkpoints.path}")
        return 0
    for name, mine in sorted(consumers.items()):
        last = mine.get("last_delivery") or "no delivery yet"
        print(
            f"{name}\tapi\t{mine.get('deliveries', 0)} consumed\tlast: {last}\tat {mine.get('committed_at') or 'never'}"
        )
    return 0


def _selection(options: argparse.Namespace) -> Selection:
    return Selection(
        pipelines=_ids(options.pipeline, "PIPELINES", "--pipeline"),
        models=_ids(options.model, "MODELS", "--model"),
        clients=_ids(options.client, "CLIENTS", "--client"),
        require_all=options.all,
        min_rows=options.min_rows,
        has_deltas=options.has_deltas,
    )


def _ids(given: list[str] | None, setting: str, flag: str) -> tuple[int, ...]:
    """Ids from repeated or comma-separated values, else from the KONDADO_TRIGGER_<SETTING> variable."""
    values = given or [os.environ.get(f"{ENV_PREFIX}{setting}", "")]
    ids = []
    for value in values:
        for part in str(value).replace("[", "").replace("]", "").split(","):
            if not part.strip():
                continue
            try:
                ids.append(int(part.strip()))
            except ValueError:
                raise TriggerError(f"{flag} takes ids (numbers), got {part.strip()!r}") from None
    return tuple(dict.fromkeys(ids))


def _store(options: argparse.Namespace) -> WarehouseStore:
    """The warehouse from the flags, else from the settings (a PostgreSQL URL wins over the DuckDB default)."""
    schema = options.schema or os.environ.get(f"{ENV_PREFIX}SCHEMA") or "tap_kondado"
    if options.duckdb and options.postgres:
        raise TriggerError("give one warehouse: --duckdb PATH or --postgres URL, not both")
    postgres_url = options.postgres or (None if options.duckdb else os.environ.get(f"{ENV_PREFIX}POSTGRES"))
    if postgres_url:
        return PostgresStore(postgres_url, schema)
    duckdb_path = options.duckdb or os.environ.get(f"{ENV_PREFIX}DUCKDB")
    if not duckdb_path:
        raise TriggerError("give a warehouse: --duckdb PATH or --postgres URL")
    return DuckDBStore(duckdb_path, schema)


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """The trigger's own arguments, and COMMAND after `--`."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line, and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(BAD_INPUT, f"kondado-trigger: {message} (see kondado-trigger --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="kondado-trigger",
        description="Run COMMAND once per delivery of new Kondado data (a pipeline log that moved rows, or a model "
        "run), remembering in the warehouse what each consumer consumed.",
        usage="kondado-trigger --consumer NAME (--pipeline ID... | --model ID... | --client ID...) [--all] "
        "(--duckdb PATH | --postgres URL | --api) [options] -- COMMAND [ARGS...]",
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--consumer", help="who consumes: one checkpoint per name (e.g. retrain)")
    parser.add_argument("--pipeline", nargs="+", metavar="ID", help="pipeline ids (repeat or separate with commas)")
    parser.add_argument("--model", nargs="+", metavar="ID", help="model ids")
    parser.add_argument("--client", nargs="+", metavar="ID", help="every pipeline and model of these accounts")
    parser.add_argument("--all", action="store_true", help="run only once every named pipeline and model delivered")
    parser.add_argument("--duckdb", metavar="PATH", help="the DuckDB file target-duckdb loads")
    parser.add_argument("--postgres", metavar="URL", help="postgresql://user:password@host:port/db")
    parser.add_argument("--schema", help="where the tap's tables are (default tap_kondado)")
    parser.add_argument("--api", action="store_true", help="no warehouse: read the Kondado API with the tap's config")
    parser.add_argument("--config", metavar="FILE", help="with --api: the tap's config (else TAP_KONDADO_KEY, _TOKEN)")
    parser.add_argument("--checkpoint-file", metavar="FILE", help="with --api: where checkpoints are kept")
    criterion = parser.add_mutually_exclusive_group()
    criterion.add_argument("--min-rows", type=int, default=1, metavar="N", help="a pipeline log moved at least N rows")
    criterion.add_argument("--has-deltas", action="store_true", help="a pipeline log with has_deltas (any rows)")
    parser.add_argument("--since", metavar="WHEN", help="a new consumer starts after: now, a log id or an ISO time")
    parser.add_argument("--reset", action="store_true", help="forget the consumer's checkpoint (with --since: move it)")
    parser.add_argument("--dry-run", action="store_true", help="say what would run, run nothing, move nothing")
    parser.add_argument("--list", action="store_true", help="every consumer and what it last consumed")
    parser.add_argument("--wait", action="store_true", help="poll until something is new (see --timeout)")
    parser.add_argument("--timeout", type=_positive, metavar="S", help="with --wait: give up after S seconds (exit 3)")
    parser.add_argument(
        "--interval", type=_positive, default=30.0, metavar="S", help="with --wait: seconds between looks"
    )
    return parser
