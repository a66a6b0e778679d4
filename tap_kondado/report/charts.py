"""The report's charts: hand-written inline SVG, no library and no script.

Why SVG written here rather than a chart library: the page must be one file that opens anywhere with no network,
stays small, prints, and reads on a phone. Plotly inlined is ~4 MB of JavaScript per file; Altair needs
vl-convert (a ~60 MB binary) to make static SVG and still draws its text inside the picture, where a phone
shrinks it to illegible. These charts are only marks: each SVG stretches to its box (`preserveAspectRatio=
"none"`, strokes that do not scale), and every word (names, axis days, values) is HTML around it, so it wraps
and stays legible at any width. Each SVG has role="img", an aria-label and a <title> stating its point; the
page adds a table of the same numbers.
"""

from __future__ import annotations

import datetime
import math
from html import escape

STRIP_WIDTH, STRIP_HEIGHT = 1000, 20
MARK_WIDTH = 3  # strip units (of 1000: 14 days), about an hour
SHADES = 5  # darkness steps for rows moved (log scale)
BARS_HEIGHT = 60
PLAN_WIDTH, PLAN_HEIGHT = 1000, 220


def _svg(width: int, height: int, label: str, body: list[str], css_class: str, *, extra: str = "") -> str:
    """An SVG that fills its box, with its point as title and aria-label (escaped)."""
    text = escape(label)
    return (
        f'<svg class="{css_class}"{extra} viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{text}" xmlns="http://www.w3.org/2000/svg"><title>{text}</title>{"".join(body)}</svg>'
    )


def _fraction(moment: datetime.datetime, start: datetime.datetime, end: datetime.datetime) -> float:
    return (moment - start).total_seconds() / max((end - start).total_seconds(), 1)


def run_strip(
    runs: list[tuple[datetime.datetime, int]],
    start: datetime.datetime,
    end: datetime.datetime,
    largest: int,
    label: str,
    *,
    quiet: list[tuple[datetime.datetime, datetime.datetime]] | None = None,
) -> str:
    """One pipeline's runs between start and end: a mark per run, darker for more rows, orange for zero rows.

    `quiet` spans (the hours its schedule does not run in) are shaded behind the marks, so a blank night or
    weekend reads as normal. Faint lines mark each midnight (UTC), so a missing day shows as an empty cell.
    Marks are drawn as one path per shade: runs closer than a mark's width at the same shade merge into one
    wider mark, so a pipeline that runs every few minutes costs at most one mark per unit of the 1000-unit strip,
    not one per run.
    """
    body = []
    quiet_path = "".join(
        f"M{left:.1f} 0H{right:.1f}V{STRIP_HEIGHT}H{left:.1f}z"
        for span_start, span_end in quiet or []
        if (left := max(_fraction(span_start, start, end), 0) * STRIP_WIDTH)
        < (right := min(_fraction(span_end, start, end), 1) * STRIP_WIDTH)
    )
    if quiet_path:
        body.append(f'<path class="quiet" d="{quiet_path}"/>')
    quiet_hours = round(sum((b - a).total_seconds() for a, b in quiet or []) / 3600)
    day = datetime.datetime.combine(start.date() + datetime.timedelta(days=1), datetime.time())
    while day < end:
        x = _fraction(day, start, end) * STRIP_WIDTH
        body.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{STRIP_HEIGHT}"/>')
        day += datetime.timedelta(days=1)
    scale = math.log1p(max(largest, 1))
    columns: dict[int, int] = {}  # a unit of the strip -> its mark's shade (0: zero rows, which wins)
    for run_at, rows in runs:
        x = round(min(max(_fraction(run_at, start, end) * STRIP_WIDTH, 1.5), STRIP_WIDTH - 1.5))
        shade = 0 if rows <= 0 else 1 + min(int(SHADES * math.log1p(rows) / scale), SHADES - 1)
        columns[x] = 0 if shade == 0 or columns.get(x) == 0 else max(shade, columns.get(x, 1))
    ordered = sorted(columns.items())
    spans: dict[int, list[list[float]]] = {}  # shade -> [left, right] of its marks, merged where they touch
    for n, (x, shade) in enumerate(ordered):
        left, right = x - MARK_WIDTH / 2, x + MARK_WIDTH / 2
        if n + 1 < len(ordered) and ordered[n + 1][0] - x <= MARK_WIDTH + 1:
            right = ordered[n + 1][0] - MARK_WIDTH / 2  # runs < 20 minutes apart touch: no sliver to read as a gap
        same = spans.setdefault(shade, [])
        if same and left <= same[-1][1]:
            same[-1][1] = right
        else:
            same.append([left, right])
    for shade, marks in sorted(spans.items()):
        d = "".join(f"M{left:g} 3h{right - left:g}v14h-{right - left:g}z" for left, right in marks)
        css, opacity = ("run zero", "") if shade == 0 else ("run", f' fill-opacity="{0.3 + 0.7 * shade / SHADES:.2f}"')
        body.append(f'<path class="{css}"{opacity} d="{d}"/>')
    extra = f' data-runs="{len(runs)}" data-quiet-hours="{quiet_hours}"'
    return _svg(STRIP_WIDTH, STRIP_HEIGHT, label, body, "strip", extra=extra)


def day_bars(values: list[int], label: str) -> str:
    """One bar per day, scaled to this series' own largest day."""
    count = max(len(values), 1)
    width = count * 10
    top = max(max(values, default=0), 1)
    body = []
    for index, value in enumerate(values):
        if value <= 0:
            continue
        height = max(value / top * (BARS_HEIGHT - 2), 1)
        body.append(
            f'<rect class="bar" x="{index * 10 + 1}" y="{BARS_HEIGHT - height:.1f}" width="8" height="{height:.1f}"/>'
        )
    body.append(f'<line class="baseline" x1="0" x2="{width}" y1="{BARS_HEIGHT - 0.5}" y2="{BARS_HEIGHT - 0.5}"/>')
    return _svg(width, BARS_HEIGHT, label, body, "bars")


def plan_chart(  # noqa: PLR0917 (one chart's nine facts, each named at the call)
    cumulative: list[tuple[datetime.datetime, int]],
    month_start: datetime.datetime,
    month_end: datetime.datetime,
    as_of: datetime.datetime,
    projected: int | None,
    plan_rows: int | None,
    crossing: datetime.datetime | None,
    top: int,
    label: str,
) -> str:
    """Billable rows so far this month (filled), the projection to month end (dashed), the plan (red line).

    `cumulative` holds (moment, rows so far) points in time order, one per day's end (the last at as_of);
    `top` is the value at the chart's top edge.
    """

    def x(moment: datetime.datetime) -> float:
        return _fraction(moment, month_start, month_end) * PLAN_WIDTH

    def y(value: float) -> float:
        return PLAN_HEIGHT - value / max(top, 1) * PLAN_HEIGHT

    points = [(x(month_start), y(0))]
    points += [(x(moment), y(total)) for moment, total in cumulative]
    so_far = cumulative[-1][1] if cumulative else 0
    points.append((x(as_of), y(so_far)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    body = [
        f'<polygon class="actual-area" points="{path} {x(as_of):.1f},{PLAN_HEIGHT}"/>',
        f'<polyline class="actual" points="{path}"/>',
    ]
    if projected is not None:
        body.append(
            f'<line class="projection" x1="{x(as_of):.1f}" y1="{y(so_far):.1f}" '
            f'x2="{PLAN_WIDTH}" y2="{y(projected):.1f}"/>'
        )
    if plan_rows is not None:
        body.append(f'<line class="plan" x1="0" x2="{PLAN_WIDTH}" y1="{y(plan_rows):.1f}" y2="{y(plan_rows):.1f}"/>')
    if crossing is not None:
        cx = min(max(x(crossing), 0), PLAN_WIDTH)
        body.append(f'<line class="crossing" x1="{cx:.1f}" x2="{cx:.1f}" y1="0" y2="{PLAN_HEIGHT}"/>')
    body.append(f'<line class="now" x1="{x(as_of):.1f}" x2="{x(as_of):.1f}" y1="0" y2="{PLAN_HEIGHT}"/>')
    return _svg(PLAN_WIDTH, PLAN_HEIGHT, label, body, "plan-chart")
