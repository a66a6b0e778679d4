"""tap_kondado.report.layout: the page's sections, order, escaping and words, from the fixture's models."""

from __future__ import annotations

import dataclasses
import datetime
import re
from html.parser import HTMLParser

import pytest

from tap_kondado.report import layout, query
from tap_kondado.report.query import load, sort_worst_first
from tests import report_fixture


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    db = report_fixture.build_duckdb(tmp_path_factory.mktemp("layout") / "models.duckdb")
    return load(duckdb_file=str(db))


@pytest.fixture(scope="module")
def page(data):
    return layout.render(data)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page):
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_sections_in_order_the_health_tables_first(page):
    ids = [attrs["id"] for tag, attrs in _tags(page) if tag in ("header", "section") and "id" in attrs]
    assert ids == ["headline", "pipelines-health", "models-health", "run-strips", "rows-per-day", "plan"]


def test_self_contained_nothing_to_fetch_and_small(page):
    tags = _tags(page)
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object")]
    assert not [a for _, a in tags if {"src", "href"} & set(a)]
    assert "url(" not in page
    assert "@import" not in page
    assert len(page.encode()) < 5 * 1024 * 1024


def test_names_from_the_data_are_escaped(page):
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;Blog&#x27; posts" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # a model's name
    assert "<b>bold</b>" not in page


def test_headline_counts(page):
    headline = page.split('<section id="pipelines-health">')[0]
    assert "1 failing, 1 stalled, 2 late of 8 pipelines and 3 models" in headline
    assert "<b>3</b><span>accounts</span>" in headline
    assert "<b>2</b><span>late: 1 pipeline, 1 model</span>" in headline
    assert "kondado_as_of <b>2026-11-20 12:00 UTC</b>" in headline
    assert "<b>24 min</b><span>since the newest log</span>" in headline


def test_health_table_worst_first_with_the_rest_collapsed(page):
    section = page.split('<section id="pipelines-health">')[1].split("</section>")[0]
    listed, collapsed = section.split("<details>")
    names = re.findall(r'<td class="name"><bdi>(.*?)</bdi><span', listed)
    assert names[:4] == ["CRM - deals", "Finance - invoices, daily export to the warehouse", "Ads - campaigns",
                         "New - survey answers"]  # fmt: skip
    # on_time but flagged: listed; on_time and quiet: collapsed.
    assert set(names[4:]) == {"Support - tickets", "Shop - refunds"}
    assert "last 5 runs moved 0 rows" in listed
    assert "volume anomaly: last run moved 50,000 rows" in listed
    assert "4.5 days since its last run: 4.5 times its usual gap of 24.0 h" in listed
    assert "<li>error building its tables</li>" in listed
    assert "2 pipelines on time" in collapsed
    assert set(re.findall(r'<td class="name"><bdi>(.*?)</bdi><span', collapsed)) == {
        "Shop - orders (hourly)",
        report_fixture.HOSTILE_NAME.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("'", "&#x27;"),
    }  # fmt: skip


def test_strips_failing_and_stalled_on_top_and_every_chart_states_its_point(page):
    section = page.split('<section id="run-strips">')[1].split("</section>")[0]
    badges = re.findall(r'<span class="badge (\w+)">', section)
    assert badges[:2] == ["failing", "stalled"]
    assert (
        "On top: <bdi>CRM - deals</bdi> (failing), <bdi>Finance - invoices, daily export to the warehouse</bdi> "
        "(stalled)." in section
    )
    for tag, attrs in _tags(page):
        if tag == "svg":
            assert attrs["role"] == "img"
            assert attrs["aria-label"]
    assert page.count("<title>") == page.count("<svg") + 1  # each chart's, and the page's


def test_plan_sentences(data, page):
    plans = {p.client_id: p for p in data.plans}
    assert layout.plan_sentence(plans[1], data.as_of) == (
        "Account 1: 786,050 billable rows by Nov 20, 75% of its plan of 1,050,000; at this pace 1,209,308 by month "
        "end (115%, projected from 19.5 days of data): it crosses the plan on Nov 27 and Kondado pauses its pipelines."
    )
    assert layout.plan_sentence(plans[2], data.as_of).endswith(
        "(29%, projected from 19.5 days of data): it stays under the plan."
    )
    assert "(no plan_rows set)" in layout.plan_sentence(plans[3], data.as_of)
    assert layout.plan_sentence(plans[3], data.as_of) == (
        "Account 3: 21,100 billable rows by Nov 20 (no plan_rows set); 32,462 projected by month end from 19.5 days "
        "of data."
    )
    assert (
        "At this pace, account 1 reaches its plan on Nov 27. No plan set for account 3 (var kondado_plan_rows)." in page
    )


def test_the_projection_says_how_many_days_it_rests_on(data):
    plan = next(p for p in data.plans if p.client_id == 2)
    early = dataclasses.replace(plan, projection_days=1.25)
    assert "(29%, projected from 30 hours of data)" in layout.plan_sentence(early, data.as_of)
    assert "(29%, projected from 2 days of data)" in layout.plan_sentence(
        dataclasses.replace(plan, projection_days=2.0), data.as_of
    )


def test_with_no_plan_set_the_point_says_so_and_how_to_set_one(data):
    unplanned = [dataclasses.replace(p, plan_rows=None, projected_limit_date=None) for p in data.plans]
    point = layout.plans_point(unplanned)
    assert "reaches" not in point
    assert point.startswith("No plan is set, so no account has one to reach: set the var kondado_plan_rows")
    assert "--vars '{kondado_plan_rows: 2400000}'" in point
    under = [dataclasses.replace(p, projected_limit_date=None) for p in data.plans if p.plan_rows]
    assert layout.plans_point(under) == "At this pace no account with a plan reaches it this month."


def test_an_account_already_over_its_plan_says_so(data):
    plan = next(p for p in data.plans if p.client_id == 1)
    over = type(plan)(**{**plan.__dict__, "plan_rows": 700_000, "projected_limit_date": None})
    assert "it is over its plan" in layout.plan_sentence(over, data.as_of)


def test_a_right_to_left_override_in_a_name_turns_only_that_name(data):
    name = "Loja \u202eodnavlas"  # an override with no end: in a bare cell it would turn the rest around
    item = dataclasses.replace(data.pipelines[0], name=name, status_message="\u202emsg")
    page = layout.render(dataclasses.replace(data, pipelines=[item, *data.pipelines[1:]]))
    # Every occurrence isolated: in HTML in a <bdi>, in an SVG's title and label between U+2068 and U+2069.
    bare = re.sub(r"<bdi>[^<]*</bdi>|\u2068[^\u2069]*\u2069", "", page)
    assert "\u202e" not in bare
    assert page.count("<bdi>Loja \u202eodnavlas</bdi>") >= 2  # its table cell and its strip's label
    assert "<bdi>\u202emsg</bdi>" in page
    assert 'aria-label="\u2068Loja \u202eodnavlas\u2069: ' in page


def test_plan_edges_say_what_is_true(data):
    plan = next(p for p in data.plans if p.client_id == 1)

    def sentence(**fields):
        return layout.plan_sentence(dataclasses.replace(plan, **fields), data.as_of)

    early = sentence(
        billable_rows=10, projected_billable_rows=None, projected_limit_date=None, projection_note="too_early"
    )
    assert early == (
        "Account 1: 10 billable rows by Nov 20, 0% of its plan of 1,050,000; too early in the month to project."
    )
    nothing = sentence(plan_rows=0, projected_limit_date=None, projection_note="no_plan")
    assert "(a plan of 0: no plan)" in nothing
    assert "%" not in nothing
    bad = sentence(
        billable_rows=-40, projected_billable_rows=None, projected_limit_date=None, projection_note="bad_data"
    )
    assert "bad data" in bad
    assert "%" not in bad
    assert "-40" not in bad


def test_flags_name_every_reason():
    item = layout.Health(
        id=1, client_id=1, name="x", health="stalled", last_run_at=None, runs_last_7d=0, usual_gap_hours=2.0,
        hours_since_last_run=10.0, zero_row_streak=4, last_row_count=0, row_count_zscore=-3.5, volume_anomaly=True,
        savepoint_break=True, status="active", status_message=None, status_observed_at=None,
        zero_row_streak_flagged=True,
    )  # fmt: skip
    assert layout.flags(item) == [
        "10.0 h since its last run: 5.0 times its usual gap of 2.0 h",
        "last 4 runs moved 0 rows",
        "volume anomaly: last run moved 0 rows, z = -3.5",
        "savepoint break: the last run did not start where the previous one ended",
    ]
    # The package decides which streaks are flagged (kondado_zero_row_streak_runs); the report only reads it.
    unflagged = dataclasses.replace(item, zero_row_streak_flagged=False)
    assert "last 4 runs moved 0 rows" not in layout.flags(unflagged)
    assert not query.warned(dataclasses.replace(unflagged, volume_anomaly=False, savepoint_break=False))


def test_flags_say_when_the_schedule_wanted_a_run_and_a_slow_run():
    item = layout.Health(
        id=1, client_id=1, name="x", health="late", last_run_at=None, runs_last_7d=0, usual_gap_hours=1.0,
        hours_since_last_run=15.0, zero_row_streak=0, last_row_count=5, row_count_zscore=0.1, volume_anomaly=False,
        savepoint_break=False, status="active", status_message=None, status_observed_at=None,
        schedule_summary="every 1 h, Mon-Fri 08:00-18:00 (America/Sao_Paulo)",
        next_run_due_local=datetime.datetime(2026, 11, 23, 8, 3), runs_missed=2, slow_run=True,
        last_execution_seconds=340.0, usual_execution_seconds=18.2,
    )  # fmt: skip
    assert layout.flags(item) == [
        "due Mon 08:03, 2 runs missed",
        "schedule: every 1 h, Mon-Fri 08:00-18:00 (America/Sao_Paulo)",
        "slow run: the last took 340 s, usually 18 s",
    ]
    learning = dataclasses.replace(item, health="unknown", schedule_summary="learning: 3 of 7 days of history")
    assert layout.flags(learning)[0] == "learning: 3 of 7 days of history"
    # Why it is unknown is the package's words (unknown_reason) when the model has them.
    few = dataclasses.replace(learning, unknown_reason="fewer than 6 runs: no cadence yet")
    assert layout.flags(few)[0] == "fewer than 6 runs: no cadence yet"


def test_a_large_account_stays_under_5_mb(data):
    """300 pipelines running every 10 minutes: the run strips must not grow with the runs."""
    pipelines, runs = [], {}
    for n in range(300):
        item = dataclasses.replace(data.pipelines[-1], id=10_000 + n, name=f"Pipeline number {n} - a long name")
        pipelines.append(item)
        runs[item.id] = [
            (data.as_of - datetime.timedelta(minutes=10 * k), (k * 37) % 5000) for k in range(14 * 24 * 6, 0, -1)
        ]
    big = dataclasses.replace(data, pipelines=pipelines, runs=runs)
    assert len(layout.render(big).encode()) < 5 * 1024 * 1024


def _plan_axes(html: str) -> list[str]:
    section = html[html.index('id="plan"') :]
    return re.findall(r'<div class="axis" aria-hidden="true">(.*?)</div>', section)


def test_plan_axis_names_the_month_and_the_as_of_tag_says_when_in_words(data):
    # kondado_as_of is named inside the plot, in words, not as an axis label that early in the month covered
    # the first day's (the browser test measures where it lands).
    early = layout.render(dataclasses.replace(data, as_of=datetime.datetime(2026, 12, 1, 14, 0)))
    axis = _plan_axes(early)[0]
    assert re.findall(r">([^<]+)</span>", axis) == ["Dec 1", "Dec 31"]
    assert "kondado_as_of" not in axis
    assert '<span class="as-of-tag right" style="left:1.9%">as of 1 Dec 14:00</span>' in early
    late = layout.render(dataclasses.replace(data, as_of=datetime.datetime(2026, 11, 29, 8, 0)))
    assert '<span class="as-of-tag left" style="left:94.4%">as of 29 Nov 08:00</span>' in late


def _row(page: str, name: str) -> str:
    """The health table row of the item called `name`."""
    return next(row for row in page.split("<tr>") if f'<td class="name"><bdi>{name}</bdi>' in row)


def test_statuses_said_in_words_once_an_unknown_code_with_spaces(data):
    blocked = dataclasses.replace(
        data.pipelines[0], status="too_many_consecutive_failed_builds__blocked", status_message="token revoked"
    )
    newer = dataclasses.replace(data.pipelines[-1], id=999, name="Newer", status="paused_by_support__pending")
    page = layout.render(dataclasses.replace(data, pipelines=[blocked, *data.pipelines[1:], newer]))
    row = _row(page, blocked.name)
    assert "too_many" not in row
    assert row.count("blocked after too many failed builds") == 1  # in its flags, not again as its status
    assert '<td data-label="status"><span class="msg"><bdi>token revoked</bdi></span></td>' in row
    assert '<td data-label="status">paused by support pending</td>' in _row(page, "Newer")
    assert '<td data-label="status">active</td>' in _row(page, "Ads - campaigns")


def test_on_time_with_a_warning_is_badged_amber_with_its_warning(page):
    for name, warning in [("Support - tickets", "last 5 runs moved 0 rows"), ("Shop - refunds", "z = +")]:
        row = _row(page, name)
        assert '<span class="badge warned">on time, with a warning</span>' in row
        assert "badge on_time" not in row
        assert warning in row
    assert '<span class="badge on_time">on time</span>' in _row(page, "Shop - orders (hourly)")
    strips = page.split('<section id="run-strips">')[1]
    label = next(s for s in strips.split('<div class="chart-row">') if "Support - tickets" in s)
    assert "badge warned" in label


def test_worst_first_for_pipelines_and_models_alike(data):
    model = data.models[0]
    healths = ["on_time", "on_time", "unknown", "inactive", "late", "stalled", "failing"]  # best first
    items = [
        dataclasses.replace(
            model, id=n, name=f"m{n}", health=h, zero_row_streak=5 if n == 1 else 0, zero_row_streak_flagged=n == 1
        )
        for n, h in enumerate(healths)
    ]
    ordered = sort_worst_first(items)
    assert [i.name for i in ordered] == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    page = layout.render(dataclasses.replace(data, models=ordered))
    section = page.split('<section id="models-health">')[1].split("</section>")[0]
    badges = re.findall(r'<span class="badge (\w+)">', section)
    assert badges == ["failing", "stalled", "late", "inactive", "unknown", "warned", "on_time"]


def test_the_page_inlines_report_css_and_its_headings_follow_the_constants(data, monkeypatch):
    from importlib import resources

    css = resources.files("tap_kondado.report").joinpath("report.css").read_text()
    monkeypatch.setattr(layout, "STRIP_DAYS", 7)
    monkeypatch.setattr(layout, "ROWS_DAYS", 10)
    page = layout.render(data)
    assert f"<style>\n{css}</style>" in page
    assert "<h2>Runs over the last 7 days</h2>" in page
    assert "<h2>Rows moved per day, per account, last 10 days</h2>" in page
