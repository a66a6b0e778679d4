"""Prefect: retrain once per delivery of new Kondado data, over `kondado-trigger` (no watermark to write).

The flow runs the command; the command keeps the consumer's checkpoint in the warehouse and moves it only when
the job exits 0, so a failed flow run (or a machine that dies mid-run) is offered the same deliveries next time.
Serve it on a schedule (`python prefect_retrain.py`), after the run that lands the logs:

    kondado_retrain.serve(name="hourly", cron="5 * * * *", parameters={...})

tests/test_trigger_prefect.py runs this very flow with Prefect.
"""

from __future__ import annotations

import shutil
import subprocess

from prefect import flow, get_run_logger, task


@task
def run_trigger(command: list[str]) -> str:
    """kondado-trigger: the job when something is new, one line otherwise; a failure fails the task."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own command)
    logger = get_run_logger()
    for line in (result.stdout + result.stderr).splitlines():
        logger.info(line)
    if result.returncode != 0:
        msg = f"kondado-trigger exited {result.returncode}: the same deliveries are offered on the next run"
        raise RuntimeError(msg)
    return result.stdout


@flow(name="kondado-retrain")
def kondado_retrain(warehouse: list[str], selection: list[str], job: list[str], consumer: str = "retrain") -> str:
    """`warehouse`: ["--duckdb", PATH] or ["--postgres", URL]; `selection`: e.g. ["--pipeline", "702", "703"]."""
    trigger = shutil.which("kondado-trigger") or "kondado-trigger"
    return run_trigger([trigger, "--consumer", consumer, *selection, *warehouse, "--", *job])


if __name__ == "__main__":
    kondado_retrain.serve(
        name="hourly",
        cron="5 * * * *",
        parameters={
            "warehouse": ["--duckdb", "output/kondado.duckdb"],
            "selection": ["--pipeline", "702"],
            "job": ["python", "retrain.py"],
        },
    )
