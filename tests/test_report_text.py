"""tap_kondado.report.text: `kondado-report --format text`, the page's facts as plain text, on the fixture."""

from __future__ import annotations

import dataclasses

import pytest

from tap_kondado.report import layout, text
from tap_kondado.report.query import load
from tests import report_fixture


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    db = report_fixture.build_duckdb(tmp_path_factory.mktemp("text") / "models.duckdb")
    return load(duckdb_file=str(db))


@pytest.fixture(scope="module")
def report(data):
    return text.render(data)


def _section(report: str, title: str) -> list[str]:
    """The lines of one section: from its title to the next blank line."""
    lines = report.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(title))
    end = next((n for n in range(start, len(lines)) if not lines[n]), len(lines))
    return lines[start:end]


def test_says_when_from_where_and_the_headline(report):
    assert report.startswith("Kondado report, kondado_as_of 2026-11-20 12:00 UTC (from last_run_at + hours_since")
    assert "schema analytics." in report.splitlines()[1]
    assert "1 failing, 1 stalled, 2 late of 8 pipelines and 3 models" in report


def test_health_worst_first_each_with_why(report):
    lines = _section(report, "Pipelines' health")
    assert lines[0] == "Pipelines' health: 6 of 8 pipelines need a look, worst first; 2 ran on time with nothing odd."
    rows = lines[2:]
    assert rows[0].lstrip().startswith("CRM - deals (#102)")
    assert "failing" in rows[0]
    assert "error building its tables; Kondado says: could not connect to source: timeout (30 s)" in rows[0]
    assert rows[1].lstrip().startswith("Finance - invoices")
    assert "4.5 days since its last run: 4.5 times its usual gap of 24.0 h" in rows[1]
    assert "on time, with a warning" in rows[4]
    assert "last 5 runs moved 0 rows" in rows[4]
    assert len(rows) == 6  # the quiet on-time ones are only counted
    models = _section(report, "Models' health")
    assert "Finance - monthly close (#202)" in models[2]
    assert "late" in models[2]


def test_the_plan_and_its_projection_in_the_pages_words(data, report):
    lines = _section(report, "Billable rows in November 2026 against the plan")
    assert lines[0].endswith(layout.plans_point(data.plans))
    for plan in data.plans:
        assert f"  {layout.plan_sentence(plan, data.as_of)}" in lines
    assert any(line.split()[:2] == ["1", "786,050"] and line.rstrip().endswith("Nov 27") for line in lines)


def test_the_busiest_and_the_rows_moved(report):
    busiest = _section(report, "Busiest pipelines")
    assert [line.split()[-5] for line in busiest[2:4]] == ["168", "168"]
    assert "Shop - orders (hourly) (#101)" in busiest[3]
    rows = _section(report, "Rows moved per day")
    assert len(rows) == 2 + 7 + 2  # title, header, 7 days, the 30 days' totals, the busiest account
    assert rows[-1] == "  Account 1 moved the most: 1,299,378 rows in 30 days."


def test_control_characters_from_the_data_do_not_reach_the_terminal(data):
    item = dataclasses.replace(data.pipelines[0], name="Evil \x1b[2J\u202ename", status_message="line\nbreak")
    out = text.render(dataclasses.replace(data, pipelines=[item, *data.pipelines[1:]]))
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "line\ufffdbreak" in out
    assert "Evil \ufffd[2J\ufffdname (#102)" in out


def test_empty_models_still_make_a_report(data):
    out = text.render(dataclasses.replace(data, pipelines=[], models=[], runs={}, rows_per_day={}, plans=[]))
    assert "Everything ran on time." in out
    assert "All 0 pipelines ran on time with nothing odd." in out
    assert "No billable row this month: nothing to project." in out
    assert "  (no run)" in out


def test_bad_data_gets_no_percentage(data):
    bad = [dataclasses.replace(p, billable_rows=-40, projection_note="bad_data") for p in data.plans[:1]]
    lines = _section(text.render(dataclasses.replace(data, plans=bad)), "Billable rows")
    assert "%" not in lines[2]
    assert "bad data" in lines[3]
