"""Run the consumer's job with what it consumes in its environment; a signal to the trigger reaches the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from types import FrameType

from tap_kondado.trigger.model import MODEL_LOGS, PIPELINE_LOGS, Batch, TriggerError

MAX_IDS_IN_ENV = 10_000  # past this the id lists stay in KONDADO_DELIVERIES_FILE only (an env value has a size cap)


def job_environment(batch: Batch, deliveries_file: Path) -> dict[str, str]:
    """The variables the job receives: who consumes, which logs, pipelines, models, rows, the newest createdAt."""
    newest = batch.newest.created_at
    env = {
        "KONDADO_CONSUMER": batch.consumer,
        "KONDADO_DELIVERIES": str(len(batch.deliveries)),
        "KONDADO_PIPELINES": ",".join(map(str, batch.items_of(PIPELINE_LOGS))),
        "KONDADO_MODELS": ",".join(map(str, batch.items_of(MODEL_LOGS))),
        "KONDADO_ROWS": str(batch.rows),
        "KONDADO_NEWEST_CREATED_AT": newest.isoformat(timespec="milliseconds") + "Z" if newest else "",
        "KONDADO_RUN_KEY": batch.run_key,
        "KONDADO_DELIVERIES_FILE": str(deliveries_file),
    }
    lists = {
        "KONDADO_LOG_IDS": batch.log_ids,
        "KONDADO_PIPELINE_LOG_IDS": batch.ids_of(PIPELINE_LOGS),
        "KONDADO_MODEL_LOG_IDS": batch.ids_of(MODEL_LOGS),
    }
    for name, ids in lists.items():
        env[name] = ",".join(map(str, ids)) if len(ids) <= MAX_IDS_IN_ENV else ""
    env["KONDADO_LOG_IDS_TRUNCATED"] = "1" if len(batch.log_ids) > MAX_IDS_IN_ENV else "0"
    return env


def write_deliveries(batch: Batch, path: Path) -> None:
    """One JSON object per delivery, for a job that wants every detail."""
    with path.open("w", encoding="utf-8") as handle:
        for d in batch.deliveries:
            row = {
                "stream": d.stream,
                "log_id": d.log_id,
                "client_id": d.client_id,
                "item_id": d.item_id,
                "item_name": d.item_name,
                "row_count": d.rows,
                "has_deltas": d.has_deltas,
                "created_at": d.created_at.isoformat() + "Z" if d.created_at else None,
            }
            handle.write(json.dumps(row) + "\n")


def run_command(command: list[str], batch: Batch) -> int:
    """Run the job to its end and return its exit status (128 + N when a signal N ended it)."""
    with tempfile.TemporaryDirectory(prefix="kondado-trigger-") as folder:
        deliveries_file = Path(folder) / "deliveries.jsonl"
        write_deliveries(batch, deliveries_file)
        env = {**os.environ, **job_environment(batch, deliveries_file)}
        try:
            job = subprocess.Popen(command, env=env)  # noqa: S603 (the user's own command, as given)
        except OSError as error:
            raise TriggerError(f"cannot run {command[0]}: {error.strerror or error}") from error
        forwarded = _forward_signals(job)
        try:
            code = job.wait()
        finally:
            for signum, handler in forwarded.items():
                signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def _forward_signals(job: subprocess.Popen[bytes]) -> dict[int, object]:
    """SIGTERM and SIGINT to the trigger go to the job; the trigger then returns its status, uncommitted."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        if job.poll() is None:
            job.send_signal(signum)

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[signum] = signal.signal(signum, forward)
        except ValueError:  # not the main thread (an orchestrator's worker): leave signals alone
            break
    return previous
