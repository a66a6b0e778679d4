"""The report page: one self-contained HTML file (inline CSS, inline SVG, no script, no font or image fetched).

This module computes what the page says: every word, number and order (flags, badges, worst first). The Jinja2
template templates/report.html.j2 only places them, autoescaped, with report.css inlined. Sections: headline,
pipelines' health, models' health (both worst first), run strips, rows moved per day per account, billable rows
against the plan.
"""

from __future__ import annotations

import datetime
import functools
from html import escape
from importlib import resources
from typing import Any

from tap_kondado.report import charts, formats
from tap_kondado.report.query import (
    ROWS_DAYS,
    STRIP_DAYS,
    Health,
    Plan,
    ReportData,
    ReportError,
    missing_extra,
    shown_health,
)
from tap_kondado.report.quiet_hours import quiet_spans
from tap_kondado.report.words import health_words, status_words

PROBLEMS = ("failing", "stalled", "late")
TEMPLATE = "report.html.j2"


def render(data: ReportData, *, built_in: float | None = None) -> str:
    """The whole page."""
    markup, template = _template()
    items = [*data.pipelines, *data.models]
    problems = {h: sum(i.health == h for i in items) for h in PROBLEMS}
    return template.render(
        css=markup(resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")),
        strip_days=STRIP_DAYS,
        rows_days=ROWS_DAYS,
        head=_headline(data, problems),
        health_sections=[
            _health_section("pipelines-health", "Pipelines' health", "pipeline", data.pipelines, data.as_of),
            # Next to the pipelines': a failing model is not left at the page's end, below every chart.
            _health_section("models-health", "Models' health", "model", data.models, data.as_of),
        ],
        strips=_strips_section(data, markup),
        per_day=_rows_section(data, markup),
        plans=_plans_section(data, markup),
        footer={
            "took": f" in {built_in:.2f} s" if built_in is not None else "",
            "source": data.source,
            "schema": data.schema,
        },
    )


@functools.cache
def _template() -> tuple[Any, Any]:
    """Markup (to pass the charts' SVG through as it is) and the page's template, loaded once."""
    try:
        import jinja2  # noqa: PLC0415 (the report extra's: missing, it is one line, not a traceback)
        from markupsafe import Markup  # noqa: PLC0415
    except ImportError as error:
        raise ReportError(missing_extra("jinja2")) from error

    def escaped(value: object) -> object:
        # html.escape's entities (&#x27;, &quot;), the ones the page always had, rather than markupsafe's.
        return value if hasattr(value, "__html__") else Markup(escape(str(value)))  # noqa: S704 (escaped here)

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        finalize=escaped,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return Markup, environment.get_template(TEMPLATE)


# --- headline -------------------------------------------------------------------------------------------------


def _headline(data: ReportData, problems: dict[str, int]) -> dict:
    items = [*data.pipelines, *data.models]
    accounts = {i.client_id for i in items} | set(data.rows_per_day) | {p.client_id for p in data.plans}
    newest = max((i.last_run_at for i in items if i.last_run_at is not None), default=None)
    age = formats.hours(formats.age_hours(data.as_of, newest)) if newest else "no log"
    point = headline_point(data, problems)
    cards = [
        (str(len(accounts)), "accounts", ""),
        (str(len(data.pipelines)), "pipelines", ""),
        (str(len(data.models)), "models", ""),
        *((str(n), f"{h}: {_split(h, data)}", h) for h, n in problems.items()),
        (age, "since the newest log", ""),
    ]
    return {
        "moment": formats.moment(data.as_of),
        "as_of_origin": data.as_of_origin,
        "source": data.source,
        "schema": data.schema,
        "point": point,
        "cards": [{"value": v, "text": t, "css": css} for v, t, css in cards],
    }


def headline_point(data: ReportData, problems: dict[str, int]) -> str:
    """The page's first sentence: how many of what are failing, stalled or late, or that nothing is."""
    if not sum(problems.values()):
        return "Everything ran on time."
    counts = ", ".join(f"{n} {h}" for h, n in problems.items() if n)
    return f"{counts} of {len(data.pipelines)} pipelines and {len(data.models)} models: see the tables below."


def _split(health: str, data: ReportData) -> str:
    pipelines = sum(i.health == health for i in data.pipelines)
    models = sum(i.health == health for i in data.models)
    return f"{formats.count(pipelines, 'pipeline')}, {formats.count(models, 'model')}"


# --- health tables --------------------------------------------------------------------------------------------


def flags(item: Health) -> list[str]:
    """Why an item is listed: its health's reason, then every streak or anomaly."""
    reasons = []
    if item.health == "failing":
        reasons.append(status_words(item.status) if item.status else "failing")
    elif item.health in ("stalled", "late") and item.next_run_due_local is not None and item.runs_missed:
        missed = f"{item.runs_missed} run{'s' if item.runs_missed != 1 else ''} missed"
        reasons.append(f"due {item.next_run_due_local:%a %H:%M}, {missed}")
        if item.schedule_summary:
            reasons.append(f"schedule: {item.schedule_summary}")
    elif item.health in ("stalled", "late") and item.hours_since_last_run is not None and item.usual_gap_hours:
        ratio = item.hours_since_last_run / item.usual_gap_hours
        reasons.append(
            f"{formats.hours(item.hours_since_last_run)} since its last run: {ratio:.1f} times its usual gap "
            f"of {formats.hours(item.usual_gap_hours)}"
        )
    elif item.health == "inactive":
        reasons.append(status_words("not_active"))
    elif item.health == "unknown":
        reasons.append(item.unknown_reason or item.schedule_summary or "no cadence yet")
    if item.zero_row_streak_flagged:
        reasons.append(f"last {item.zero_row_streak} runs moved 0 rows")
    if item.volume_anomaly:
        z = f", z = {item.row_count_zscore:+.1f}" if item.row_count_zscore is not None else ""
        reasons.append(f"volume anomaly: last run moved {formats.integer(item.last_row_count)} rows{z}")
    if item.savepoint_break:
        reasons.append("savepoint break: the last run did not start where the previous one ended")
    if item.slow_run:
        took = f" {item.last_execution_seconds:.0f} s" if item.last_execution_seconds is not None else ""
        usual = f", usually {item.usual_execution_seconds:.0f} s" if item.usual_execution_seconds is not None else ""
        reasons.append(f"slow run: the last took{took}{usual}")
    return reasons


def _isolated(text: str) -> str:
    """Plain text from the data (an SVG title or label) between U+2068 and U+2069, Unicode's isolates.

    A right-to-left override in it (U+202E) then turns only that text around, not the rest of its sentence; in
    HTML the template puts such text in a <bdi>.
    """
    return f"\u2068{text}\u2069"


def _listed(item: Health) -> bool:
    return shown_health(item) != "on_time"


def _badge(item: Health) -> dict:
    """Its health's badge: an on_time item with a warning gets an amber one, not the plain green."""
    health = shown_health(item)
    return {"css": health, "words": health_words(health)}


def _health_section(anchor: str, title: str, kind: str, items: list[Health], as_of: datetime.datetime) -> dict:
    listed = [i for i in items if _listed(i)]
    rest = [i for i in items if not _listed(i)]
    point = health_point(kind, items, listed)
    return {
        "anchor": anchor,
        "title": title,
        "point": point,
        "columns": _columns(kind, "health", "flagged by", "status", "last run (UTC)", "#usual gap", "#runs, 7 d"),
        "listed": [_health_row(i, as_of) for i in listed],
        "rest": [_health_row(i, as_of) for i in rest],
        "rest_summary": f"{len(rest)} {kind}s on time",
        "empty": "" if items else f"No {kind} in the models.",
    }


def health_point(kind: str, items: list[Health], listed: list[Health]) -> str:
    """A health table's point: how many need a look (`listed`), how many ran on time with nothing odd."""
    if not listed:
        return f"All {len(items)} {kind}s ran on time with nothing odd."
    rest = len(items) - len(listed)
    return f"{len(listed)} of {len(items)} {kind}s need a look, worst first; {rest} ran on time with nothing odd."


def _health_row(item: Health, as_of: datetime.datetime) -> dict:
    # For a failing or inactive one the status is already its first flag: only Kondado's message then.
    status_is_a_flag = item.health in ("failing", "inactive") and item.status
    return {
        "name": item.name,
        "sub": f"#{item.id} · account {item.client_id}",
        "badge": _badge(item),
        "flags": flags(item),
        "status": "" if status_is_a_flag else status_words(item.status) if item.status else "not synced",
        "message": item.status_message or "",
        "last_run": formats.moment(item.last_run_at) if item.last_run_at else "never",
        "last_run_ago": f"{formats.hours(formats.age_hours(as_of, item.last_run_at))} ago" if item.last_run_at else "",
        "usual_gap": formats.hours(item.usual_gap_hours),
        "runs_7d": formats.integer(item.runs_last_7d),
    }


# --- run strips -----------------------------------------------------------------------------------------------


def _strips_section(data: ReportData, markup: Any) -> dict:
    end = data.as_of
    start = end - datetime.timedelta(days=STRIP_DAYS)
    largest = max((rows for runs in data.runs.values() for _, rows in runs), default=1)
    rows = []
    for item in data.pipelines:  # already worst first: failing and stalled on top
        runs = data.runs.get(item.id, [])
        zero = sum(r <= 0 for _, r in runs)
        label = f"{_isolated(item.name)}: {len(runs)} runs in the last {STRIP_DAYS} days" + (
            f", last {formats.hours(formats.age_hours(end, runs[-1][0]))} before kondado_as_of" if runs else ", none"
        )
        label += f"; {zero} moved 0 rows" if zero else ""
        quiet = quiet_spans(item.schedule_hours_of_week, item.schedule_time_zone, start, end)
        label += "; shaded: the hours its schedule does not run in" if quiet else ""
        rows.append(
            {
                "name": item.name,
                "badge": _badge(item),
                "sub": f"#{item.id} · account {item.client_id} · {len(runs)} runs"
                + (f", {zero} with 0 rows" if zero else ""),
                "svg": markup(charts.run_strip(runs, start, end, largest, label, quiet=quiet)),
            }
        )
    return {
        "point": f"One row per pipeline, a mark per run over the {STRIP_DAYS} days to kondado_as_of; "
        "darker marks moved more rows.",
        "on_top": [{"name": i.name, "health": i.health} for i in data.pipelines if i.health in ("failing", "stalled")],
        "silent": [i.name for i in data.pipelines if not data.runs.get(i.id)],
        "ticks": _axis(_day_ticks(start, end, step=2)),
        "rows": rows,
    }


# --- rows moved per day ---------------------------------------------------------------------------------------


def _rows_section(data: ReportData, markup: Any) -> dict:
    last_day = data.as_of.date()
    days = [last_day - datetime.timedelta(days=n) for n in range(ROWS_DAYS - 1, -1, -1)]
    accounts = sorted(data.rows_per_day)
    rows = []
    totals = {}
    for client in accounts:
        values = [data.rows_per_day[client].get(day, 0) for day in days]
        totals[client] = sum(values)
        peak = max(range(len(values)), key=lambda n: values[n])
        label = (
            f"Account {client}: {formats.integer(totals[client])} rows moved in {ROWS_DAYS} days, "
            f"at most {formats.integer(values[peak])} on {formats.day(days[peak])}"
        )
        rows.append(
            {
                "name": f"Account {client}",
                "sub": f"{formats.integer(totals[client])} rows in {ROWS_DAYS} days · "
                f"peak {formats.integer(values[peak])} on {formats.day(days[peak])}",
                "svg": markup(charts.day_bars(values, label)),
            }
        )
    start = datetime.datetime.combine(days[0], datetime.time())
    end = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time())
    ticks = [
        ((datetime.datetime.combine(d, datetime.time(12)) - start) / (end - start), formats.day(d)) for d in days[::7]
    ]
    busiest = max(accounts, key=lambda c: totals[c]) if accounts else None
    point = (
        f"Rows moved per day (billable or not), per account, {formats.day(days[0])} to {formats.day(last_day)} "
        "(that day up to kondado_as_of); each account on its own scale."
        + (
            f" Account {busiest} moved the most: {formats.integer(totals[busiest])} rows."
            if busiest is not None
            else ""
        )
    )
    return {
        "point": point,
        "rows": rows,
        "ticks": _axis(ticks),
        "columns": _columns("day (UTC)", *(f"#account {c}" for c in accounts)),
        "table": [
            {"day": formats.day(day), "counts": [formats.integer(data.rows_per_day[c].get(day, 0)) for c in accounts]}
            for day in days
        ],
    }


# --- billable rows against the plan ---------------------------------------------------------------------------


def plan_sentence(plan: Plan, as_of: datetime.datetime) -> str:
    """The point of one account's plan chart, in words."""
    if plan.projection_note == "bad_data":
        return (
            f"Account {plan.client_id}: a run this month has a negative row count, which no run can move: "
            "bad data, so no percentage and no projection."
        )
    so_far = f"{formats.integer(plan.billable_rows)} billable rows by {formats.day(as_of.date())}"
    projected = plan.projected_billable_rows
    early = "; too early in the month to project" if plan.projection_note == "too_early" else ""
    basis = f"from {_days_of_data(plan.projection_days)}" if plan.projection_days is not None else ""
    if not plan.plan_rows:  # none set, or a plan of 0: nothing to measure against
        why = "no plan_rows set" if plan.plan_rows is None else "a plan of 0: no plan"
        end = (
            f"; {formats.integer(projected)} projected by month end {basis}".rstrip()
            if projected is not None
            else early
        )
        return f"Account {plan.client_id}: {so_far} ({why}){end}."
    used = plan.billable_rows / plan.plan_rows * 100
    sentence = f"Account {plan.client_id}: {so_far}, {used:.0f}% of its plan of {formats.integer(plan.plan_rows)}"
    if projected is not None:
        share = f"{projected / plan.plan_rows * 100:.0f}%" + (f", projected {basis}" if basis else "")
        sentence += f"; at this pace {formats.integer(projected)} by month end ({share})"
    sentence += early
    if plan.billable_rows >= plan.plan_rows:
        sentence += ": it is over its plan, and Kondado pauses its pipelines until next month"
    elif plan.projected_limit_date is not None:
        sentence += (
            f": it crosses the plan on {formats.day(plan.projected_limit_date)} and Kondado pauses its pipelines"
        )
    elif projected is not None:
        sentence += ": it stays under the plan"
    return sentence + "."


def plans_point(plans: list[Plan]) -> str:
    """The plan section's point: who reaches a plan, and which accounts have none to reach."""
    if not plans:
        return "No billable row this month: nothing to project."
    unplanned = [p.client_id for p in plans if not p.plan_rows]
    if len(unplanned) == len(plans):  # "no account reaches its plan" would be true and misleading
        return (
            "No plan is set, so no account has one to reach: set the var kondado_plan_rows to the rows a month "
            "of the plan, one number for every account or one per account, e.g. "
            "--vars '{kondado_plan_rows: 2400000}' or --vars '{kondado_plan_rows: {\"3\": 2400000}}'."
        )
    near = [p for p in plans if p.projected_limit_date is not None]
    point = (
        "At this pace, "
        + "; ".join(f"account {p.client_id} reaches its plan on {formats.day(p.projected_limit_date)}" for p in near)
        + "."
        if near
        else "At this pace no account with a plan reaches it this month."
    )
    if unplanned:
        names = ", ".join(str(c) for c in unplanned)
        point += f" No plan set for account{'s' if len(unplanned) > 1 else ''} {names} (var kondado_plan_rows)."
    return point


def _days_of_data(days: float) -> str:
    """What a projection rests on: "2 days of data", "19.5 days of data", "30 hours of data"."""
    if days < 2:
        return f"{formats.count(round(days * 24), 'hour')} of data"
    text = f"{days:.1f}".removesuffix(".0")
    return f"{text} days of data"


def _plans_section(data: ReportData, markup: Any) -> dict:
    month_start = datetime.datetime.combine(data.month_start, datetime.time())
    month_end = datetime.datetime.combine(
        (data.month_start + datetime.timedelta(days=32)).replace(day=1), datetime.time()
    )
    boxes = []
    for plan in data.plans:
        points = _cumulative(plan, month_start, data.as_of)
        so_far = points[-1][1] if points else 0
        top = round(max(plan.plan_rows or 0, plan.projected_billable_rows or 0, so_far, 1) * 1.08)
        crossing = (
            datetime.datetime.combine(plan.projected_limit_date, datetime.time(12))
            if plan.projected_limit_date
            else None
        )
        sentence = plan_sentence(plan, data.as_of)
        chart = charts.plan_chart(
            points,
            month_start,
            month_end,
            data.as_of,
            plan.projected_billable_rows,
            plan.plan_rows,
            crossing,
            top,
            sentence,
        )
        now = _frac(data.as_of, month_start, month_end)
        ticks = [
            (0.0, formats.day(data.month_start)),
            (1.0, formats.day((month_end - datetime.timedelta(days=1)).date())),
        ]
        plan_near_top = plan.plan_rows is not None and plan.plan_rows / top > AS_OF_TAG_BELOW_PLAN_ABOVE
        over = bool(plan.plan_rows) and plan.billable_rows >= plan.plan_rows
        boxes.append(
            {
                "over": plan.projected_limit_date is not None or over,
                "sentence": sentence,
                "plan_tag": None
                if plan.plan_rows is None
                else {
                    "top": f"{(1 - plan.plan_rows / top) * 100:.1f}",
                    "text": f"plan {formats.integer(plan.plan_rows)}",
                },
                "as_of_tag": _as_of_tag(data.as_of, now, at_bottom=plan_near_top),
                "svg": markup(chart),
                "ticks": _axis(ticks),
            }
        )
    return {
        "month": data.month_start.strftime("%B %Y"),
        "point": plans_point(data.plans),
        "boxes": boxes,
        "columns": _columns("account", "#billable so far", "#plan_rows", "#projected", "crosses the plan on"),
        "table": [
            {
                "account": f"account {p.client_id}",
                "billable": formats.integer(p.billable_rows),
                "plan": formats.integer(p.plan_rows),
                "projected": formats.integer(p.projected_billable_rows),
                "crosses": formats.day(p.projected_limit_date) if p.projected_limit_date else "",
            }
            for p in data.plans
        ],
    }


def _cumulative(
    plan: Plan, month_start: datetime.datetime, as_of: datetime.datetime
) -> list[tuple[datetime.datetime, int]]:
    """(end of each day so far, or as_of for today; billable rows up to it)."""
    per_day = dict(plan.daily)
    points = []
    total = 0
    day = month_start.date()
    while day <= as_of.date():
        total += per_day.get(day, 0)
        points.append((min(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()), as_of), total))
        day += datetime.timedelta(days=1)
    return points


# --- pieces ---------------------------------------------------------------------------------------------------


def _columns(*names: str) -> list[dict]:
    """A table's header; a name starting with # is a number column (right-aligned), shown without the #."""
    return [{"name": n.removeprefix("#"), "num": n.startswith("#")} for n in names]


# The plan chart's "as of" tag sits at the plot's bottom when the plan line (and its tag) is this high up.
AS_OF_TAG_BELOW_PLAN_ABOVE = 0.7


def _as_of_tag(as_of: datetime.datetime, fraction: float, *, at_bottom: bool) -> dict:
    """kondado_as_of's line named in words, inside the plot: on the side of the line with more room.

    Not an axis label: there, early in a month it printed over the first day's, and centred on its line it
    began left of the plot.
    """
    side = "right" if fraction < 0.5 else "left"
    css = f"as-of-tag {side}" + (" bottom" if at_bottom else "")
    return {"css": css, "left": f"{fraction * 100:.1f}", "text": _as_of_words(as_of)}


def _as_of_words(moment: datetime.datetime) -> str:
    return f"as of {moment.day} {moment:%b %H:%M}"


def _axis(ticks: list[tuple[float, str]]) -> list[dict]:
    """Labels under a chart; the first starts at its line and one near the end ends at it, inside the chart."""
    labels = []
    for n, (fraction, text) in enumerate(ticks):
        css = "first" if n == 0 and fraction < 0.05 else "last" if fraction > 0.95 else ""
        css = css or ("minor" if n % 2 else "")  # every other label: hidden on a phone
        labels.append({"css": css, "left": f"{fraction * 100:.1f}", "text": text})
    return labels


def _day_ticks(start: datetime.datetime, end: datetime.datetime, *, step: int) -> list[tuple[float, str]]:
    ticks = []
    day = start.date() + datetime.timedelta(days=1)
    while datetime.datetime.combine(day, datetime.time()) < end:
        ticks.append((_frac(datetime.datetime.combine(day, datetime.time()), start, end), formats.day(day)))
        day += datetime.timedelta(days=step)
    return ticks


def _frac(moment: datetime.datetime, start: datetime.datetime, end: datetime.datetime) -> float:
    return (moment - start) / (end - start)
