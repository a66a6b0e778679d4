"""tap_kondado.report.charts: marks where the data says, and a stated point on each SVG."""

from __future__ import annotations

import datetime
import re

from tap_kondado.report import charts

START = datetime.datetime(2026, 11, 6, 12)
END = datetime.datetime(2026, 11, 20, 12)


def _marks(svg, css):
    """(left, width) of every mark of the paths of this class."""
    marks = []
    for d in re.findall(rf'<path class="{css}"[^>]* d="([^"]*)"', svg):
        marks += [(float(x), float(w)) for x, w in re.findall(r"M([-\d.]+) 3h([\d.]+)v14h-[\d.]+z", d)]
    return sorted(marks)


def test_run_strip_a_mark_per_run_placed_in_time_zero_rows_apart():
    runs = [(START + datetime.timedelta(days=1), 100), (START + datetime.timedelta(days=7), 0), (END, 5000)]
    svg = charts.run_strip(runs, START, END, 5000, 'Pipeline "A" <b>: 3 runs')
    assert _marks(svg, "run") == [(69.5, 3), (996.5, 3)]  # day 1 of 14 at 71.4; the last mark whole, inside
    assert _marks(svg, "run zero") == [(498.5, 3)]
    assert svg.count('<line class="grid"') == 14  # one per midnight inside the 14 days
    assert 'data-runs="3"' in svg
    assert 'role="img"' in svg
    assert 'preserveAspectRatio="none"' in svg
    assert "<title>Pipeline &quot;A&quot; &lt;b&gt;: 3 runs</title>" in svg
    assert 'aria-label="Pipeline &quot;A&quot; &lt;b&gt;: 3 runs"' in svg
    shades = [float(s) for s in re.findall(r'fill-opacity="([\d.]+)"', svg)]
    assert shades[0] < shades[1] == 1.0  # more rows, darker


def test_run_strip_shows_a_gap_and_stays_small_for_frequent_runs():
    hourly = [(START + datetime.timedelta(hours=h), 100) for h in range(14 * 24) if not 100 <= h < 106]
    marks = _marks(charts.run_strip(hourly, START, END, 100, "x"), "run")
    assert len(marks) == 2  # contiguous hours merge; the 6 missing hours leave a hole
    assert marks[0][0] + marks[0][1] < 100 / 336 * 1000 < marks[1][0]
    every_5_minutes = [(START + datetime.timedelta(minutes=5 * n), n % 1000) for n in range(14 * 24 * 12)]
    assert len(charts.run_strip(every_5_minutes, START, END, 1000, "x")) < 20_000


def test_day_bars_scaled_to_the_largest_day_and_none_for_zero():
    svg = charts.day_bars([10, 0, 40], "rows")
    heights = [float(h) for h in re.findall(r'<rect class="bar" [^>]*height="([\d.]+)"', svg)]
    assert heights == [14.5, 58.0]
    assert 'viewBox="0 0 30 60"' in svg


def test_plan_chart_plan_line_projection_and_crossing():
    month_start, month_end = datetime.datetime(2026, 11, 1), datetime.datetime(2026, 12, 1)
    as_of = datetime.datetime(2026, 11, 16)
    points = [(month_start + datetime.timedelta(days=d + 1), 1000 * (d + 1)) for d in range(15)]
    crossing = datetime.datetime(2026, 11, 25, 12)
    svg = charts.plan_chart(points, month_start, month_end, as_of, 30000, 25000, crossing, 50000, "point")
    plan = re.search(r'<line class="plan" x1="0" x2="1000" y1="([\d.]+)"', svg)
    assert float(plan.group(1)) == 220 - 25000 / 50000 * 220
    projection = re.search(r'<line class="projection" x1="([\d.]+)" y1="([\d.]+)" x2="1000" y2="([\d.]+)"', svg)
    assert float(projection.group(1)) == 500.0  # as_of: half the month
    assert float(projection.group(2)) == 220 - 15000 / 50000 * 220
    assert float(projection.group(3)) == 220 - 30000 / 50000 * 220
    assert re.search(r'<line class="crossing" x1="816.7"', svg)
    no_plan = charts.plan_chart(points, month_start, month_end, as_of, None, None, None, 50000, "point")
    assert 'class="plan"' not in no_plan
    assert 'class="crossing"' not in no_plan
    assert 'class="projection"' not in no_plan
