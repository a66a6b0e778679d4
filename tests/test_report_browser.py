"""The report in a real browser: the OS's headless Chromium, driven by Playwright, opens the file as a user would.

Skips (saying why) where /usr/bin/chromium or Playwright is missing; .ci/run installs Chromium, and
TAP_KONDADO_REQUIRE_BROWSER=1 (set there) makes a missing browser a failure. Never `playwright install`:
the test drives the distribution's Chromium.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tap_kondado.report import layout
from tap_kondado.report.query import load
from tap_kondado.simulator import scenario as planted
from tests import dbt_scenario, report_fixture

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_ENV = "TAP_KONDADO_REQUIRE_BROWSER"
SCREENSHOT = ROOT / "output" / "kondado-report-test-1280.png"
REAL_SCREENSHOT = ROOT / "output" / "kondado-report-real-run-1280.png"
PHONE_SCREENSHOT = ROOT / "output" / "kondado-report-test-phone.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (it is in the dev dependency group)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    """The report as a user makes it: the kondado-report command on a DuckDB file of the models."""
    folder = tmp_path_factory.mktemp("report")
    db = report_fixture.build_duckdb(folder / "models.duckdb")
    out = folder / "kondado-report.html"
    command = [str(Path(sys.executable).parent / "kondado-report"), "--duckdb", str(db), "--output", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    return out


def _make_report(db: Path, out: Path) -> Path:
    command = [str(Path(sys.executable).parent / "kondado-report"), "--duckdb", str(db), "--output", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def real_report_file(browser, duckdb_built, tmp_path_factory):
    """The report from a real run: the planted scenario -> meltano run tap-kondado target-duckdb ->
    dbt-duckdb build with the status tables (tests/dbt_builds.py, the dbt tests' own build)."""
    return _make_report(duckdb_built["report"], tmp_path_factory.mktemp("real-report") / "kondado-report.html")


def test_report_of_a_real_run_puts_the_planted_failing_and_stalled_pipelines_on_top(
    browser, real_report_file, duckdb_built
):
    page, errors, requests = _open(browser, real_report_file, 1280, 900)
    assert errors == []
    assert requests == [real_report_file.as_uri()]

    expected = dbt_scenario.expected_health(with_statuses=True)
    names = {p.item_id: p.name for p in planted.PIPELINES}
    strips = page.locator("#run-strips svg.strip")
    assert strips.count() == sum(len(ids) for ids in expected.values())  # every visible pipeline
    runs = load(duckdb_file=str(duckdb_built["report"])).runs  # the last 14 days' runs the models hold
    assert sum(int(s.get_attribute("data-runs")) for s in strips.all()) == sum(map(len, runs.values())) > 1000
    box = page.locator("#run-strips svg.strip path.run").first.bounding_box()
    assert box["width"] > 0
    assert box["height"] > 0
    assert page.locator("#rows-per-day svg.bars rect.bar").count() > 60
    assert page.locator("#plan svg.plan-chart line.plan").count() == len(dbt_scenario.PLANS)
    assert page.locator("#plan svg.plan-chart line.crossing").count() >= 1  # account 3 reaches its plan

    rows = page.locator("#pipelines-health > .panel table.health tbody tr")
    flagged = [("failing", expected["failing"]), ("stalled", expected["stalled"])]
    position = 0
    for health, ids in flagged:
        shown = set()
        for _ in ids:
            row = rows.nth(position)
            assert row.locator(".badge").inner_text() == health
            shown.add(row.locator("td.name").inner_text())
            position += 1
        assert {text for text in shown if any(text.startswith(names[i]) for i in ids)} == shown
        assert len(shown) == len(ids)
    badges = page.locator("#run-strips .chart-row .badge")
    assert [badges.nth(k).inner_text() for k in range(position)] == [h for h, ids in flagged for _ in ids]

    assert _horizontal_overflow(page) == 0
    REAL_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(REAL_SCREENSHOT), full_page=True)
    page.close()


def _open(browser, report_file, width, height):
    """A page showing the file; every console error and every request it makes."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_file.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # anything the page would fetch late
    return page, errors, requests


def test_report_opens_clean_with_charts_and_the_worst_on_top(browser, report_file):
    page, errors, requests = _open(browser, report_file, 1280, 900)
    assert errors == []
    assert requests == [report_file.as_uri()]  # the file itself, nothing else

    # Charts rendered, with their marks: a strip per pipeline with a mark per run, bars, the plan charts.
    strips = page.locator("#run-strips svg.strip")
    assert strips.count() == len(report_fixture.PIPELINES)
    runs_drawn = sum(int(s.get_attribute("data-runs")) for s in strips.all())
    assert runs_drawn == sum(
        1
        for item in report_fixture.PIPELINES
        for at, _, _ in report_fixture.runs_of(item)
        if at > report_fixture.AS_OF - datetime.timedelta(days=14)
    )
    for strip in strips.all():  # every strip with runs has marks the browser lays out
        if strip.get_attribute("data-runs") != "0":
            box = strip.locator("path.run").first.bounding_box()
            assert box["width"] > 0
            assert box["height"] > 0
    assert page.locator("#run-strips svg.strip path.run.zero").count() == 1  # the zero-row streak
    assert page.locator("#rows-per-day svg.bars rect.bar").count() > 60
    assert page.locator("#plan svg.plan-chart line.plan").count() == 2
    assert page.locator("#plan svg.plan-chart line.crossing").count() == 1
    box = page.locator("#run-strips svg.strip").first.bounding_box()
    assert box["width"] > 600
    assert box["height"] > 10
    # Every chart says its point to a screen reader.
    for svg in page.locator("svg").all():
        assert svg.get_attribute("role") == "img"
        assert svg.get_attribute("aria-label")

    # The planted failing and stalled pipelines head the health table, and the first strips.
    first_rows = page.locator("#pipelines-health > .panel table.health tbody tr")
    assert first_rows.nth(0).locator("td.name").inner_text().startswith("CRM - deals")
    assert first_rows.nth(0).locator(".badge").inner_text() == "failing"
    assert first_rows.nth(1).locator("td.name").inner_text().startswith("Finance - invoices")
    assert first_rows.nth(1).locator(".badge").inner_text() == "stalled"
    assert first_rows.nth(2).locator(".badge").inner_text() == "late"
    assert page.locator("#run-strips .chart-row .badge").nth(0).inner_text() == "failing"
    assert page.locator("#run-strips .chart-row .badge").nth(1).inner_text() == "stalled"
    # The rest are collapsed; the name with markup is shown as text, never run.
    assert not page.locator("#pipelines-health details").first.evaluate("d => d.open")
    assert page.locator("script").count() == 0
    assert page.get_by_text(report_fixture.HOSTILE_NAME, exact=False).count() >= 1

    assert _horizontal_overflow(page) == 0
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()


def test_report_fits_a_phone(browser, report_file):
    page, errors, _ = _open(browser, report_file, 390, 844)
    assert errors == []
    assert _horizontal_overflow(page) == 0
    # Names wrap instead of being cut: the longest pipeline name is on screen whole.
    name = page.locator("#run-strips .label .name", has_text="Finance - invoices").first
    assert name.inner_text() == report_fixture.PIPELINES[2].name
    assert name.bounding_box()["x"] + name.bounding_box()["width"] <= 390
    assert page.locator("#run-strips svg.strip").first.bounding_box()["width"] > 300
    page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_plan_charts_as_of_tag_lies_inside_the_plot_and_clear_of_every_label(browser, tmp_path, width):
    data = load(duckdb_file=str(report_fixture.build_duckdb(tmp_path / "models.duckdb")))
    moments = [datetime.datetime(2026, 12, 1, 14, 0), data.as_of, datetime.datetime(2026, 11, 29, 23, 0)]
    for n, moment in enumerate(moments):  # a month's first day, its middle, its end
        out = tmp_path / f"report-{n}.html"
        out.write_text(layout.render(dataclasses.replace(data, as_of=moment)))
        page, errors, _ = _open(browser, out, width, 900)
        assert errors == []
        panels = page.locator("#plan .plans > .panel")
        assert panels.count() == len(data.plans)
        for panel in panels.all():
            tag = panel.locator(".as-of-tag")
            assert tag.inner_text() == f"as of {moment.day} {moment:%b %H:%M}"
            box = tag.bounding_box()
            plot = panel.locator(".plan-box").bounding_box()
            assert _inside(box, plot), (moment, box, plot)
            others = [*panel.locator(".axis span").all(), *panel.locator(".plan-tag").all()]
            for other in others:
                assert not _overlap(box, other.bounding_box()), (moment, other.inner_text())
        page.close()


# Each word of the health tables' "flagged by" and "status" cells: how many line boxes it lies on (2: broken).
_WORD_LINES = """() => {
  const found = [];
  for (const cell of document.querySelectorAll('table.health td[data-label="flagged by"], '
                                              + 'table.health td[data-label="status"]')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        found.push([match[0], tops.size]);
      }
    }
  }
  return found;
}"""


def test_status_words_are_never_broken_mid_word(browser, tmp_path):
    data = load(duckdb_file=str(report_fixture.build_duckdb(tmp_path / "models.duckdb")))
    blocked = dataclasses.replace(data.pipelines[0], status="too_many_consecutive_failed_builds__blocked")
    out = tmp_path / "report.html"
    out.write_text(layout.render(dataclasses.replace(data, pipelines=[blocked, *data.pipelines[1:]])))
    page, errors, _ = _open(browser, out, 1280, 900)
    assert errors == []
    words = page.evaluate(_WORD_LINES)
    assert ["blocked", 1] in words
    assert [word for word, lines in words if lines > 1] == []
    page.close()


def _inside(box, outer) -> bool:
    return (
        box["x"] >= outer["x"]
        and box["y"] >= outer["y"]
        and box["x"] + box["width"] <= outer["x"] + outer["width"]
        and box["y"] + box["height"] <= outer["y"] + outer["height"]
    )


def _overlap(a, b) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _horizontal_overflow(page) -> int:
    """Pixels the page is wider than the window (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
