"""The job `kondado-trigger` runs in the demo and the README's example: a stand-in for retraining a model.

It writes one line per run to $RETRAIN_LOG (default output/retrain.log) with what it was given: a real job
would read the new rows (KONDADO_LOG_IDS, KONDADO_DELIVERIES_FILE) and retrain, exiting non-zero on failure
so the same deliveries are offered again.
"""

import datetime
import os
from pathlib import Path

log = Path(os.environ.get("RETRAIN_LOG", "output/retrain.log"))
log.parent.mkdir(parents=True, exist_ok=True)
now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
line = (
    f"{now} retrained for {os.environ['KONDADO_CONSUMER']}: {os.environ['KONDADO_DELIVERIES']} deliveries, "
    f"{os.environ['KONDADO_ROWS']} rows, pipelines {os.environ['KONDADO_PIPELINES'] or '-'}, "
    f"models {os.environ['KONDADO_MODELS'] or '-'}, newest {os.environ['KONDADO_NEWEST_CREATED_AT']}"
)
with log.open("a", encoding="utf-8") as handle:
    handle.write(line + "\n")
print(line)
