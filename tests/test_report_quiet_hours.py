"""The run strips shade the hours a pipeline's learned schedule does not run in, so a blank night reads as normal:
the package's schedule_hours_of_week, turned into UTC spans (tap_kondado/report/quiet_hours.py) and drawn."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from tap_kondado.report import layout
from tap_kondado.report.query import load
from tap_kondado.report.quiet_hours import quiet_spans

ZONE = "America/Sao_Paulo"
BUSINESS_HOURS = ("0" * 8 + "1" * 11 + "0" * 5) * 5 + "0" * 48  # Mon-Fri 08:00-18:00
ALWAYS = "1" * 168
BUSINESS_PIPELINE, ALWAYS_PIPELINE = 725, 721  # the planted scenario's Mon-Fri 08-18 and hourly, 24/7, ones


def _quiet_at(spans, local: datetime.datetime) -> bool:
    """Whether the local moment falls in a quiet span (spans are naive UTC)."""
    utc = local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return any(start <= utc < end for start, end in spans)


def test_business_hours_shade_nights_and_the_weekend_and_24_7_shades_nothing():
    start, end = datetime.datetime(2026, 11, 16, 3, 0), datetime.datetime(2026, 11, 30, 3, 0)  # Mondays 00:00 local
    spans = quiet_spans(BUSINESS_HOURS, ZONE, start, end)
    assert sum((b - a).total_seconds() for a, b in spans) / 3600 == 2 * (168 - 55)
    assert len(spans) == 1 + 2 * 5  # the first Monday morning, then each evening to the next morning (weekends in one)
    assert _quiet_at(spans, datetime.datetime(2026, 11, 18, 3, 0))  # Wednesday night
    assert _quiet_at(spans, datetime.datetime(2026, 11, 21, 12, 0))  # Saturday noon
    assert not _quiet_at(spans, datetime.datetime(2026, 11, 18, 10, 30))  # Wednesday morning
    assert not _quiet_at(spans, datetime.datetime(2026, 11, 20, 18, 59))  # Friday's last hour
    assert quiet_spans(ALWAYS, ZONE, start, end) == []
    assert quiet_spans(None, ZONE, start, end) == []  # learning or pinned: no guess


@pytest.mark.meltano
@pytest.mark.slow
def test_the_strips_of_a_real_build_shade_a_business_hours_pipeline_and_not_a_24_7_one(duckdb_built):
    data = load(duckdb_file=str(duckdb_built["report"]))
    by_id = {p.id: p for p in data.pipelines}
    assert by_id[BUSINESS_PIPELINE].schedule_hours_of_week == BUSINESS_HOURS
    assert by_id[ALWAYS_PIPELINE].schedule_hours_of_week == ALWAYS
    section = layout.render(data).split('<section id="run-strips">')[1].split("</section>")[0]
    quiet = {}
    for row in section.split('<div class="chart-row">')[1:]:
        found = re.search(r"#(\d+) · account .*data-quiet-hours=\"(\d+)\"", row, re.DOTALL)
        if found:
            quiet[int(found.group(1))] = int(found.group(2))
    assert quiet[ALWAYS_PIPELINE] == 0
    # 14 days: two weekends (48 h each) and ten weekday nights (13 h each), to the hour at the strip's ends.
    assert abs(quiet[BUSINESS_PIPELINE] - (2 * 48 + 10 * 13)) <= 24
    spans = quiet_spans(BUSINESS_HOURS, ZONE, data.as_of - datetime.timedelta(days=14), data.as_of)
    runs = data.runs[BUSINESS_PIPELINE]
    assert runs
    assert not [at for at, _ in runs if any(a <= at < b for a, b in spans)]  # every run in an hour left unshaded
