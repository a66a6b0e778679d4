"""The report page: one self-contained HTML file (inline CSS, inline SVG, no script, no font or image fetched).

Every string that comes from the data (names, status messages) goes through `html.escape`; numbers and dates
are formatted here. Sections: headline, pipelines' health, models' health (both worst first), run strips, rows
moved per day per account, billable rows against the plan.
"""

from __future__ import annotations

import datetime
from html import escape

from tap_kondado.report import charts
from tap_kondado.report.query import (
    ROWS_DAYS,
    STRIP_DAYS,
    Health,
    Plan,
    ReportData,
    shown_health,
)
from tap_kondado.report.quiet_hours import quiet_spans
from tap_kondado.report.words import health_words, status_words

PROBLEMS = ("failing", "stalled", "late")

CSS = """
:root{--ink:#1d2330;--muted:#5b6474;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf;
--failing:#b3261e;--stalled:#9c3d00;--late:#7a5a00;--unknown:#5b6474;--inactive:#5b6474;--on_time:#1e7b34}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.5rem;margin:.2rem 0 .25rem}
h2{font-size:1.15rem;margin:2.2rem 0 .35rem}
.point{margin:.1rem 0 .8rem;color:var(--muted)}
.source{color:var(--muted);margin:0 0 1rem;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.6rem;margin:1rem 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}
.card b{display:block;font-size:1.45rem;line-height:1.2}
.card span{color:var(--muted);font-size:.85rem}
.card.failing b{color:var(--failing)}.card.stalled b{color:var(--stalled)}.card.late b{color:var(--late)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem .9rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;vertical-align:top;padding:.45rem .5rem;border-bottom:1px solid var(--line)}
th{white-space:nowrap;font-size:.8rem;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.02em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.health td{overflow-wrap:break-word}
.name{font-weight:600;overflow-wrap:anywhere}
.sub{display:block;color:var(--muted);font-size:.82rem;font-weight:400}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.8rem;font-weight:600;
color:#fff;white-space:nowrap}
.badge.failing{background:var(--failing)}.badge.stalled{background:var(--stalled)}
.badge.late{background:#b58400}.badge.unknown,.badge.inactive{background:var(--unknown)}
.badge.on_time{background:var(--on_time)}
.badge.warned{background:#fff;color:#7a4f00;border:1.5px solid #b58400;padding:0 .4rem}
.msg{overflow-wrap:anywhere;font-size:.85rem;color:var(--muted)}
ul.flags{margin:0;padding-left:1.1rem}
details{margin-top:.6rem}
summary{cursor:pointer;color:var(--accent);font-weight:600;padding:.3rem 0}
.chart-row{display:grid;grid-template-columns:minmax(11rem,19rem) 1fr;gap:.2rem 1rem;align-items:center;
padding:.3rem 0;border-bottom:1px solid #eef0f4}
.chart-row .label{font-size:.88rem;overflow-wrap:anywhere}
.axis{position:relative;height:1.2rem;font-size:.75rem;color:var(--muted)}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.axis span.first{transform:none}.axis span.last{transform:translateX(-100%)}
svg{display:block;width:100%}
svg.strip{height:20px;background:#fafbfc}
svg.bars{height:60px}
svg.plan-chart{height:200px}
.grid{stroke:#e3e6ec;stroke-width:1;vector-effect:non-scaling-stroke}
.run{fill:var(--accent)}.run.zero{fill:#e07b00;fill-opacity:1}
.bar{fill:var(--accent)}
.baseline{stroke:#b9bfca;stroke-width:1;vector-effect:non-scaling-stroke}
.actual{fill:none;stroke:var(--accent);stroke-width:2.5;vector-effect:non-scaling-stroke}
.actual-area{fill:var(--accent);fill-opacity:.12}
.projection{stroke:var(--accent);stroke-width:2;stroke-dasharray:6 5;vector-effect:non-scaling-stroke}
.plan{stroke:var(--failing);stroke-width:2;vector-effect:non-scaling-stroke}
.crossing{stroke:var(--failing);stroke-width:1.5;stroke-dasharray:3 3;vector-effect:non-scaling-stroke}
.now{stroke:var(--muted);stroke-width:1;vector-effect:non-scaling-stroke}
.plans{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));gap:.8rem}
.plan-box{position:relative}
.plan-tag{position:absolute;right:.2rem;transform:translateY(-110%);font-size:.75rem;color:var(--failing);
background:rgba(255,255,255,.85);padding:0 .2rem}
.as-of-tag{position:absolute;top:.2rem;font-size:.75rem;color:var(--muted);background:rgba(255,255,255,.85);
padding:0 .2rem;white-space:nowrap}
.as-of-tag.right{margin-left:.25rem}.as-of-tag.left{transform:translateX(calc(-100% - .25rem))}
.as-of-tag.bottom{top:auto;bottom:.2rem}
.legend{font-size:.8rem;color:var(--muted);margin:.3rem 0 0}
.legend i{display:inline-block;width:1.4rem;height:0;vertical-align:middle;margin:0 .3rem 0 .6rem;
border-top:2.5px solid var(--accent)}
.legend i.dash{border-top-style:dashed}.legend i.red{border-color:var(--failing)}
.legend i.zero{width:.35rem;height:.8rem;border:0;background:#e07b00}
.legend i.quiet{width:.9rem;height:.8rem;border:0;background:#e6e9ef}
.quiet{fill:#e6e9ef}
.legend i.mark{width:.35rem;height:.8rem;border:0;background:var(--accent)}
.over{color:var(--failing);font-weight:600}
.empty{color:var(--muted);font-style:italic}
.table-scroll{overflow-x:auto}
footer{margin-top:2.5rem;color:var(--muted);font-size:.82rem}
@media (max-width:700px){
 main{padding:.8rem .6rem 2rem}
 .chart-row{grid-template-columns:1fr}
 table.health thead{display:none}
 table.health,table.health tbody,table.health tr,table.health td{display:block;width:100%}
 table.health tr{border-bottom:1px solid var(--line);padding:.4rem 0}
 table.health td{border:0;padding:.15rem 0}
 table.health td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.8rem}
 table.health td.num{text-align:left}
 .axis span.minor{display:none}
}
@media print{details{display:block}body{background:#fff}}
"""


def render(data: ReportData, *, built_in: float | None = None) -> str:
    """The whole page."""
    items = [*data.pipelines, *data.models]
    problems = {h: sum(i.health == h for i in items) for h in PROBLEMS}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Kondado report, {escape(_moment(data.as_of))}</title>",
        f"<style>{CSS}</style></head><body><main>",
        _headline(data, problems),
        _health_section("pipelines-health", "Pipelines' health", "pipeline", data.pipelines, data.as_of),
        # Next to the pipelines': a failing model is not left at the page's end, below every chart.
        _health_section("models-health", "Models' health", "model", data.models, data.as_of),
        _strips_section(data),
        _rows_section(data),
        _plans_section(data),
        _footer(data, built_in),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- headline -------------------------------------------------------------------------------------------------


def _headline(data: ReportData, problems: dict[str, int]) -> str:
    items = [*data.pipelines, *data.models]
    accounts = {i.client_id for i in items} | set(data.rows_per_day) | {p.client_id for p in data.plans}
    newest = max((i.last_run_at for i in items if i.last_run_at is not None), default=None)
    age = _hours(_age_hours(data.as_of, newest)) if newest else "no log"
    flagged = sum(problems.values())
    point = (
        "Everything ran on time."
        if not flagged
        else ", ".join(f"{n} {h}" for h, n in problems.items() if n)
        + f" of {len(data.pipelines)} pipelines and {len(data.models)} models: see the tables below."
    )
    cards = [
        (str(len(accounts)), "accounts", ""),
        (str(len(data.pipelines)), "pipelines", ""),
        (str(len(data.models)), "models", ""),
        *((str(n), f"{h}: {_split(h, data)}", h) for h, n in problems.items()),
        (age, "since the newest log", ""),
    ]
    html = [
        '<header id="headline">',
        "<h1>Kondado: pipeline health and plan usage</h1>",
        f'<p class="source">kondado_as_of <b>{escape(_moment(data.as_of))}</b> '
        f"(from {escape(data.as_of_origin)}) · read from {escape(data.source)}, schema {escape(data.schema)}</p>",
        f'<p class="point"><b>{escape(point)}</b></p>',
        '<div class="cards">',
        *(f'<div class="card {css}"><b>{escape(v)}</b><span>{escape(t)}</span></div>' for v, t, css in cards),
        "</div></header>",
    ]
    return "\n".join(html)


def _split(health: str, data: ReportData) -> str:
    pipelines = sum(i.health == health for i in data.pipelines)
    models = sum(i.health == health for i in data.models)
    return f"{_count(pipelines, 'pipeline')}, {_count(models, 'model')}"


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
            f"{_hours(item.hours_since_last_run)} since its last run: {ratio:.1f} times its usual gap "
            f"of {_hours(item.usual_gap_hours)}"
        )
    elif item.health == "inactive":
        reasons.append(status_words("not_active"))
    elif item.health == "unknown":
        reasons.append(item.unknown_reason or item.schedule_summary or "no cadence yet")
    if item.zero_row_streak_flagged:
        reasons.append(f"last {item.zero_row_streak} runs moved 0 rows")
    if item.volume_anomaly:
        z = f", z = {item.row_count_zscore:+.1f}" if item.row_count_zscore is not None else ""
        reasons.append(f"volume anomaly: last run moved {_int(item.last_row_count)} rows{z}")
    if item.savepoint_break:
        reasons.append("savepoint break: the last run did not start where the previous one ended")
    if item.slow_run:
        took = f" {item.last_execution_seconds:.0f} s" if item.last_execution_seconds is not None else ""
        usual = f", usually {item.usual_execution_seconds:.0f} s" if item.usual_execution_seconds is not None else ""
        reasons.append(f"slow run: the last took{took}{usual}")
    return reasons


def _bdi(text: str) -> str:
    """Text from the data, escaped and isolated.

    A right-to-left override in it (U+202E) then turns only that text around, not the rest of its cell or sentence.
    """
    return f"<bdi>{escape(text)}</bdi>"


def _isolated(text: str) -> str:
    """The same for plain text (an SVG title or label): between U+2068 and U+2069, Unicode's isolates."""
    return f"\u2068{text}\u2069"


def _listed(item: Health) -> bool:
    return shown_health(item) != "on_time"


def _badge(item: Health) -> str:
    """Its health's badge: an on_time item with a warning gets an amber one, not the plain green."""
    health = shown_health(item)
    return f'<span class="badge {escape(health)}">{escape(health_words(health))}</span>'


def _status_cell(item: Health) -> str:
    """Its status in words and Kondado's message.

    For a failing or inactive one the status is already its first flag: only the message then.
    """
    message = f'<span class="msg">{_bdi(item.status_message)}</span>' if item.status_message else ""
    if item.health in ("failing", "inactive") and item.status:
        return message
    status = escape(status_words(item.status)) if item.status else "not synced"
    return f"{status}<br>{message}" if message else status


def _health_section(anchor: str, title: str, kind: str, items: list[Health], as_of: datetime.datetime) -> str:
    listed = [i for i in items if _listed(i)]
    rest = [i for i in items if not _listed(i)]
    point = (
        f"{len(listed)} of {len(items)} {kind}s need a look, worst first; {len(rest)} ran on time with nothing odd."
        if listed
        else f"All {len(items)} {kind}s ran on time with nothing odd."
    )
    html = [f'<section id="{anchor}"><h2>{escape(title)}</h2>', f'<p class="point">{escape(point)}</p>']
    if listed:
        html.append(f'<div class="panel">{_health_table(listed, kind, as_of)}</div>')
    if rest:
        html.append(
            f"<details><summary>{len(rest)} {kind}s on time</summary>"
            f'<div class="panel">{_health_table(rest, kind, as_of)}</div></details>'
        )
    if not items:
        html.append(f'<p class="empty">No {kind} in the models.</p>')
    html.append("</section>")
    return "\n".join(html)


def _health_table(items: list[Health], kind: str, as_of: datetime.datetime) -> str:
    head = _thead(kind, "health", "flagged by", "status", "last run (UTC)", "#usual gap", "#runs, 7 d")
    rows = []
    for i in items:
        reasons = flags(i)
        flagged = "<ul class=flags>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>" if reasons else ""
        last = (
            f"{escape(_moment(i.last_run_at))}"
            f"<span class=sub>{escape(_hours(_age_hours(as_of, i.last_run_at)))} ago</span>"
            if i.last_run_at
            else "never"
        )
        rows.append(
            "<tr>"
            f'<td class="name">{_bdi(i.name)}<span class="sub">#{i.id} · account {i.client_id}</span></td>'
            f'<td data-label="health">{_badge(i)}</td>'
            f'<td data-label="flagged by">{flagged}</td>'
            f'<td data-label="status">{_status_cell(i)}</td>'
            f'<td data-label="last run">{last}</td>'
            f'<td data-label="usual gap" class="num">{escape(_hours(i.usual_gap_hours))}</td>'
            f'<td data-label="runs in 7 days" class="num">{_int(i.runs_last_7d)}</td>'
            "</tr>"
        )
    return f'<table class="health">{head}<tbody>{"".join(rows)}</tbody></table>'


# --- run strips -----------------------------------------------------------------------------------------------


def _strips_section(data: ReportData) -> str:
    end = data.as_of
    start = end - datetime.timedelta(days=STRIP_DAYS)
    largest = max((rows for runs in data.runs.values() for _, rows in runs), default=1)
    rows = []
    silent = []
    for item in data.pipelines:  # already worst first: failing and stalled on top
        runs = data.runs.get(item.id, [])
        zero = sum(r <= 0 for _, r in runs)
        label = f"{_isolated(item.name)}: {len(runs)} runs in the last {STRIP_DAYS} days" + (
            f", last {_hours(_age_hours(end, runs[-1][0]))} before kondado_as_of" if runs else ", none"
        )
        label += f"; {zero} moved 0 rows" if zero else ""
        quiet = quiet_spans(item.schedule_hours_of_week, item.schedule_time_zone, start, end)
        label += "; shaded: the hours its schedule does not run in" if quiet else ""
        if not runs:
            silent.append(_bdi(item.name))
        rows.append(
            '<div class="chart-row">'
            f'<div class="label"><span class="name">{_bdi(item.name)}</span> '
            f"{_badge(item)}"
            f'<span class="sub">#{item.id} · account {item.client_id} · {len(runs)} runs'
            f"{f', {zero} with 0 rows' if zero else ''}</span></div>"
            f"{charts.run_strip(runs, start, end, largest, label, quiet=quiet)}</div>"
        )
    axis = f'<div class="chart-row"><div></div>{_axis(_day_ticks(start, end, step=2))}</div>'
    problems = [i for i in data.pipelines if i.health in ("failing", "stalled")]
    point = escape(
        f"One row per pipeline, a mark per run over the {STRIP_DAYS} days to kondado_as_of; "
        "darker marks moved more rows."
    )
    if problems:  # HTML from here: each name isolated
        point += " On top: " + ", ".join(f"{_bdi(i.name)} ({escape(i.health)})" for i in problems) + "."
    if silent:
        point += f" No run at all in {STRIP_DAYS} days: " + ", ".join(silent) + "."
    html = [
        '<section id="run-strips"><h2>Runs over the last 14 days</h2>',
        f'<p class="point">{point}</p>',
        '<div class="panel">',
        '<p class="legend"><i class="mark"></i>a run (shade: rows moved) <i class="zero"></i>a run that moved 0 rows'
        ' <i class="quiet"></i>hours its schedule does not run in · faint lines: midnight UTC</p>',
        axis,  # above and below: a long list keeps its days in sight
        *rows,
        axis,
        "</div></section>",
    ]
    return "\n".join(html)


# --- rows moved per day ---------------------------------------------------------------------------------------


def _rows_section(data: ReportData) -> str:
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
            f"Account {client}: {_int(totals[client])} rows moved in {ROWS_DAYS} days, "
            f"at most {_int(values[peak])} on {_day(days[peak])}"
        )
        rows.append(
            '<div class="chart-row">'
            f'<div class="label"><span class="name">Account {client}</span>'
            f'<span class="sub">{_int(totals[client])} rows in {ROWS_DAYS} days · '
            f"peak {_int(values[peak])} on {escape(_day(days[peak]))}</span></div>"
            f"{charts.day_bars(values, label)}</div>"
        )
    start = datetime.datetime.combine(days[0], datetime.time())
    end = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time())
    ticks = [((datetime.datetime.combine(d, datetime.time(12)) - start) / (end - start), _day(d)) for d in days[::7]]
    busiest = max(accounts, key=lambda c: totals[c]) if accounts else None
    point = (
        f"Rows moved per day (billable or not), per account, {_day(days[0])} to {_day(last_day)} (that day up to "
        "kondado_as_of); each account on its own scale."
        + (f" Account {busiest} moved the most: {_int(totals[busiest])} rows." if busiest is not None else "")
    )
    table_head = _thead("day (UTC)", *(f"#account {c}" for c in accounts))
    table_rows = "".join(
        f"<tr><td>{escape(_day(day))}</td>"
        + "".join(f'<td class="num">{_int(data.rows_per_day[c].get(day, 0))}</td>' for c in accounts)
        + "</tr>"
        for day in days
    )
    html = [
        '<section id="rows-per-day"><h2>Rows moved per day, per account, last 30 days</h2>',
        f'<p class="point">{escape(point)}</p>',
        '<div class="panel">',
        *rows,
        f'<div class="chart-row"><div></div>{_axis(ticks)}</div>' if accounts else '<p class="empty">No run.</p>',
        "<details><summary>The same as a table</summary>",
        f'<div class="table-scroll"><table>{table_head}<tbody>{table_rows}</tbody></table></div></details>',
        "</div></section>",
    ]
    return "\n".join(html)


# --- billable rows against the plan ---------------------------------------------------------------------------


def plan_sentence(plan: Plan, as_of: datetime.datetime) -> str:
    """The point of one account's plan chart, in words."""
    if plan.projection_note == "bad_data":
        return (
            f"Account {plan.client_id}: a run this month has a negative row count, which no run can move: "
            "bad data, so no percentage and no projection."
        )
    so_far = f"{_int(plan.billable_rows)} billable rows by {_day(as_of.date())}"
    projected = plan.projected_billable_rows
    early = "; too early in the month to project" if plan.projection_note == "too_early" else ""
    basis = f"from {_days_of_data(plan.projection_days)}" if plan.projection_days is not None else ""
    if not plan.plan_rows:  # none set, or a plan of 0: nothing to measure against
        why = "no plan_rows set" if plan.plan_rows is None else "a plan of 0: no plan"
        end = f"; {_int(projected)} projected by month end {basis}".rstrip() if projected is not None else early
        return f"Account {plan.client_id}: {so_far} ({why}){end}."
    used = plan.billable_rows / plan.plan_rows * 100
    sentence = f"Account {plan.client_id}: {so_far}, {used:.0f}% of its plan of {_int(plan.plan_rows)}"
    if projected is not None:
        share = f"{projected / plan.plan_rows * 100:.0f}%" + (f", projected {basis}" if basis else "")
        sentence += f"; at this pace {_int(projected)} by month end ({share})"
    sentence += early
    if plan.billable_rows >= plan.plan_rows:
        sentence += ": it is over its plan, and Kondado pauses its pipelines until next month"
    elif plan.projected_limit_date is not None:
        sentence += f": it crosses the plan on {_day(plan.projected_limit_date)} and Kondado pauses its pipelines"
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
        + "; ".join(f"account {p.client_id} reaches its plan on {_day(p.projected_limit_date)}" for p in near)
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
        return f"{_count(round(days * 24), 'hour')} of data"
    text = f"{days:.1f}".removesuffix(".0")
    return f"{text} days of data"


def _plans_section(data: ReportData) -> str:
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
        tag = ""
        if plan.plan_rows is not None:
            tag = (
                f'<span class="plan-tag" style="top:{(1 - plan.plan_rows / top) * 100:.1f}%">'
                f"plan {_int(plan.plan_rows)}</span>"
            )
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
        ticks = [(0.0, _day(data.month_start)), (1.0, _day((month_end - datetime.timedelta(days=1)).date()))]
        plan_near_top = plan.plan_rows is not None and plan.plan_rows / top > AS_OF_TAG_BELOW_PLAN_ABOVE
        over = bool(plan.plan_rows) and plan.billable_rows >= plan.plan_rows
        css = ' class="over"' if plan.projected_limit_date is not None or over else ""
        boxes.append(
            f'<div class="panel"><p{css}>{escape(sentence)}</p>'
            f'<div class="plan-box">{tag}{_as_of_tag(data.as_of, now, at_bottom=plan_near_top)}{chart}</div>'
            f"{_axis(ticks)}</div>"
        )
    point = plans_point(data.plans)
    table_rows = "".join(
        f"<tr><td>account {p.client_id}</td><td class=num>{_int(p.billable_rows)}</td>"
        f"<td class=num>{_int(p.plan_rows)}</td><td class=num>{_int(p.projected_billable_rows)}</td>"
        f"<td>{escape(_day(p.projected_limit_date)) if p.projected_limit_date else ''}</td></tr>"
        for p in data.plans
    )
    html = [
        f'<section id="plan"><h2>Billable rows in {escape(data.month_start.strftime("%B %Y"))} against the plan</h2>',
        f'<p class="point">{escape(point)}</p>',
        '<p class="legend"><i></i>billable rows so far <i class="dash"></i>projection to month end '
        '<i class="red"></i>plan_rows <i class="dash red"></i>day the projection crosses it</p>',
        f'<div class="plans">{"".join(boxes)}</div>' if boxes else '<p class="empty">No billable row this month.</p>',
        "<details><summary>The same as a table</summary>",
        '<div class="table-scroll"><table>'
        + _thead("account", "#billable so far", "#plan_rows", "#projected", "crosses the plan on")
        + f"<tbody>{table_rows}</tbody></table></div></details>",
        "</section>",
    ]
    return "\n".join(html)


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


def _footer(data: ReportData, built_in: float | None) -> str:
    took = f" in {built_in:.2f} s" if built_in is not None else ""
    return (
        f"<footer>Made by kondado-report{took} from the dbt package kondado's models in {escape(data.source)} "
        f"(schema {escape(data.schema)}). All times UTC. One file: no script, no request.</footer>"
    )


def _thead(*names: str) -> str:
    """A header row; a name starting with # is a number column (right-aligned), shown without the #."""
    cells = (
        f'<th scope="col" class="num">{escape(n[1:])}</th>'
        if n.startswith("#")
        else f'<th scope="col">{escape(n)}</th>'
        for n in names
    )
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


# The plan chart's "as of" tag sits at the plot's bottom when the plan line (and its tag) is this high up.
AS_OF_TAG_BELOW_PLAN_ABOVE = 0.7


def _as_of_tag(as_of: datetime.datetime, fraction: float, *, at_bottom: bool) -> str:
    """kondado_as_of's line named in words, inside the plot: on the side of the line with more room.

    Not an axis label: there, early in a month it printed over the first day's, and centred on its line it
    began left of the plot.
    """
    side = "right" if fraction < 0.5 else "left"
    css = f"as-of-tag {side}" + (" bottom" if at_bottom else "")
    return f'<span class="{css}" style="left:{fraction * 100:.1f}%">{escape(_as_of_words(as_of))}</span>'


def _as_of_words(moment: datetime.datetime) -> str:
    return f"as of {moment.day} {moment:%b %H:%M}"


def _axis(ticks: list[tuple[float, str]]) -> str:
    """Labels under a chart; the first starts at its line and one near the end ends at it, inside the chart."""
    spans = []
    for n, (fraction, text) in enumerate(ticks):
        css = " class=first" if n == 0 and fraction < 0.05 else " class=last" if fraction > 0.95 else ""
        css = css or (" class=minor" if n % 2 else "")  # every other label: hidden on a phone
        spans.append(f'<span{css} style="left:{fraction * 100:.1f}%">{escape(text)}</span>')
    return f'<div class="axis" aria-hidden="true">{"".join(spans)}</div>'


def _day_ticks(start: datetime.datetime, end: datetime.datetime, *, step: int) -> list[tuple[float, str]]:
    ticks = []
    day = start.date() + datetime.timedelta(days=1)
    while datetime.datetime.combine(day, datetime.time()) < end:
        ticks.append((_frac(datetime.datetime.combine(day, datetime.time()), start, end), _day(day)))
        day += datetime.timedelta(days=step)
    return ticks


def _frac(moment: datetime.datetime, start: datetime.datetime, end: datetime.datetime) -> float:
    return (moment - start) / (end - start)


def _age_hours(as_of: datetime.datetime, moment: datetime.datetime) -> float:
    return (as_of - moment).total_seconds() / 3600


def _hours(hours: float | None) -> str:
    if hours is None:
        return "-"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _int(value: float | None) -> str:
    return "-" if value is None else f"{round(value):,}"


def _moment(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _day(day: datetime.date) -> str:
    return f"{day.strftime('%b')} {day.day}"
