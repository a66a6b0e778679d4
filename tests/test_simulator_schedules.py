"""The scenario's scheduled items: runs only at their local scheduled times, a few minutes after each, and the
outages skip exactly the scheduled runs they say."""

from __future__ import annotations

import datetime

from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator.data import DEFAULT_IDS_PER_DAY
from tap_kondado.simulator.schedules import FINISH_SECONDS, TIME_ZONE, Outage, every

NOW = datetime.datetime(2026, 11, 23, 11, 0, tzinfo=datetime.timezone.utc)  # a Monday, 08:00 in São Paulo
CATALOG = {"pipeline_logs": ("pipeline_id", planted.PIPELINES), "model_logs": ("model_id", planted.MODELS)}


def _runs(stream: str) -> dict[int, list[datetime.datetime]]:
    logs = planted.generate_scenario(stream, seed=3, days=30, now=NOW, ids_per_day=DEFAULT_IDS_PER_DAY)[0]
    key = CATALOG[stream][0]
    runs: dict[int, list[datetime.datetime]] = {}
    for log in logs:
        moment = datetime.datetime.fromisoformat(log["createdAt"].replace("Z", "+00:00"))
        runs.setdefault(log[key], []).append(moment)
    return {item: sorted(moments) for item, moments in runs.items()}


def test_every_makes_the_times_of_a_day():
    assert every(60, (0,), 8, 19).times == tuple((hour, 0) for hour in range(8, 19))
    assert len(every(15, (0,), 8, 18).times) == 40
    assert every(15, (0,), 8, 18).times[-1] == (17, 45)


def test_scheduled_items_run_a_few_minutes_after_their_local_times_only():
    for stream, (_, catalog) in CATALOG.items():
        runs = _runs(stream)
        for item in (i for i in catalog if i.schedule is not None):
            scheduled = item.schedule.moments(NOW - datetime.timedelta(days=30), NOW)
            for run in runs[item.item_id]:
                local = run.astimezone(TIME_ZONE)
                late = next(run - m for m in reversed(scheduled) if m <= run).total_seconds()
                assert FINISH_SECONDS[0] - 6 <= late <= FINISH_SECONDS[1] + 6, (item.item_id, local)
                assert local.weekday() in item.schedule.weekdays, (item.item_id, local)
            skipped = item.outage.skipped(scheduled) if item.outage else []
            assert len(runs[item.item_id]) == len(scheduled) - len(skipped), item.item_id


def test_a_stopped_item_skips_its_latest_runs_and_a_resumed_one_runs_again():
    runs = _runs("pipeline_logs")
    stopped = next(i for i in planted.PIPELINES if i.anomaly == "stopped")
    scheduled = stopped.schedule.moments(NOW - datetime.timedelta(days=30), NOW)
    assert runs[stopped.item_id][-1] < scheduled[-6]
    assert runs[stopped.item_id][-1] > scheduled[-7]
    resumed = next(i for i in planted.PIPELINES if i.anomaly == "resumed")
    assert resumed.outage == Outage(skip_to=30, skip_from=40)
    newest_first = resumed.schedule.moments(NOW - datetime.timedelta(days=30), NOW)[::-1]
    silence = [run for run in runs[resumed.item_id] if newest_first[39] <= run < newest_first[29]]
    assert silence == []
    assert len([run for run in runs[resumed.item_id] if run >= newest_first[29]]) == 30
