"""The report as plain text (`kondado-report --format text`): what the page says, for a terminal or a log.

The same ReportData as the page and the same words (layout's flags, plan sentences and points, formats'
numbers): health per pipeline and per model worst first with why, this month against each plan, the busiest
pipelines and models, and rows moved per account.
"""

from __future__ import annotations

import datetime
import unicodedata

from tap_kondado.report import formats, layout
from tap_kondado.report.query import ROWS_DAYS, Health, ReportData, shown_health
from tap_kondado.report.words import health_words

NAME_WIDTH = 44
BUSIEST = 5  # pipelines / models shown
DAYS_SHOWN = 7  # days of rows moved shown, of ROWS_DAYS


def render(data: ReportData) -> str:
    """The whole text, ending in a newline."""
    items = [*data.pipelines, *data.models]
    problems = {h: sum(i.health == h for i in items) for h in layout.PROBLEMS}
    lines = [
        f"Kondado report, kondado_as_of {formats.moment(data.as_of)} (from {data.as_of_origin})",
        f"Read from {data.source}, schema {data.schema}.",
        layout.headline_point(data, problems),
        "",
        *_health("Pipelines' health", "pipeline", data.pipelines, data.as_of),
        "",
        *_health("Models' health", "model", data.models, data.as_of),
        "",
        *_plans(data),
        "",
        *_busiest("pipelines", data.pipelines),
        "",
        *_busiest("models", data.models),
        "",
        *_rows_per_day(data),
    ]
    return "\n".join(lines) + "\n"


# Bidirectional controls: in a terminal an override in a name would turn the rest of its line around.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(text: str) -> str:
    """Text from the data with its control characters (an escape sequence, a newline) shown as U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS else c for c in text)


def _label(item: Health) -> str:
    """Its name cut to fit, then its id (the name may be cut; the id never is)."""
    suffix = f" (#{item.id})"
    return f"{_printable(item.name)[: NAME_WIDTH - len(suffix)]}{suffix}"


def _health(title: str, kind: str, items: list[Health], as_of: datetime.datetime) -> list[str]:
    listed = [i for i in items if shown_health(i) != "on_time"]
    lines = [f"{title}: {layout.health_point(kind, items, listed)}"]
    if not listed:
        return lines
    words = {i.id: health_words(shown_health(i)) for i in listed}
    width = max(len("health"), *(len(w) for w in words.values()))
    lines.append(f"  {'name (#id)':<{NAME_WIDTH}} {'health':<{width}} {'last run':>12} {'usual gap':>9}  why")
    for item in listed:
        ago = f"{formats.hours(formats.age_hours(as_of, item.last_run_at))} ago" if item.last_run_at else "never"
        why = layout.flags(item) + ([f"Kondado says: {_printable(item.status_message)}"] if item.status_message else [])
        lines.append(
            f"  {_label(item):<{NAME_WIDTH}} {words[item.id]:<{width}} {ago:>12} "
            f"{formats.hours(item.usual_gap_hours):>9}  {_printable('; '.join(why))}"
        )
    return lines


def _plans(data: ReportData) -> list[str]:
    lines = [f"Billable rows in {data.month_start:%B %Y} against the plan: {layout.plans_point(data.plans)}"]
    if not data.plans:
        return lines
    lines.append(f"  {'account':<8} {'so far':>11} {'projected':>11} {'plan':>11} {'used':>6}  crosses the plan on")
    for plan in data.plans:
        measurable = plan.plan_rows and plan.projection_note != "bad_data"  # as the page: no share of bad data
        used = f"{plan.billable_rows / plan.plan_rows * 100:.0f}%" if measurable else "-"
        crosses = formats.day(plan.projected_limit_date) if plan.projected_limit_date else "-"
        lines.append(
            f"  {plan.client_id:<8} {formats.integer(plan.billable_rows):>11} "
            f"{formats.integer(plan.projected_billable_rows):>11} {formats.integer(plan.plan_rows):>11} {used:>6}  "
            f"{crosses}"
        )
    lines += [f"  {layout.plan_sentence(plan, data.as_of)}" for plan in data.plans]
    return lines


def _busiest(kind: str, items: list[Health]) -> list[str]:
    busiest = sorted(items, key=lambda i: (-(i.runs_last_7d or 0), i.name.casefold(), i.id))[:BUSIEST]
    lines = [f"Busiest {kind}, by runs in the last 7 days:"]
    if not busiest:
        return [*lines, f"  (no {kind})"]
    lines.append(f"  {'name (#id)':<{NAME_WIDTH}} {'runs':>5}  {'last run':<20} {'its rows':>10}")
    for item in busiest:
        last = formats.moment(item.last_run_at) if item.last_run_at else "never"
        lines.append(
            f"  {_label(item):<{NAME_WIDTH}} {formats.integer(item.runs_last_7d):>5}  {last:<20} "
            f"{formats.integer(item.last_row_count):>10}"
        )
    return lines


def _rows_per_day(data: ReportData) -> list[str]:
    lines = [f"Rows moved per day, per account (billable or not), the last {DAYS_SHOWN} days to kondado_as_of:"]
    accounts = sorted(data.rows_per_day)
    if not accounts:
        return [*lines, "  (no run)"]
    last_day = data.as_of.date()
    days = [last_day - datetime.timedelta(days=n) for n in range(DAYS_SHOWN - 1, -1, -1)]
    lines.append("  " + f"{'day (UTC)':<12}" + "".join(f"{'account ' + str(a):>13}" for a in accounts))
    for day in days:
        counts = "".join(f"{formats.integer(data.rows_per_day[a].get(day, 0)):>13}" for a in accounts)
        lines.append(f"  {formats.day(day):<12}{counts}")
    totals = {a: sum(data.rows_per_day[a].values()) for a in accounts}
    lines.append("  " + f"{f'{ROWS_DAYS} days':<12}" + "".join(f"{formats.integer(totals[a]):>13}" for a in accounts))
    busiest = max(accounts, key=lambda a: totals[a])
    lines.append(f"  Account {busiest} moved the most: {formats.integer(totals[busiest])} rows in {ROWS_DAYS} days.")
    return lines
