"""`make demo`'s report steps (scripts/demo.py): the logs a run loaded, `kondado-report --format text` printed, and
the HTML page (`_html_report`): skipped in one line until the dbt build has made the health models, then
`kondado-report` writes output/kondado-report.html and the demo prints its path."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from tests import report_fixture

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import demo

    monkeypatch.setattr(demo, "ROOT", tmp_path)
    monkeypatch.setattr(demo, "HTML_REPORT", tmp_path / "output" / "kondado-report.html")
    (tmp_path / "output").mkdir()
    yield demo
    sys.modules.pop("demo", None)


def test_skipped_in_one_line_without_the_models(demo, tmp_path, capsys):
    db = tmp_path / "output" / "demo.duckdb"
    duckdb.connect(str(db)).close()
    demo._html_report(db)
    assert capsys.readouterr().out == (
        "HTML report skipped: no kondado_pipeline_health in output/demo.duckdb (the dbt build did not run)\n"
    )
    assert not demo.HTML_REPORT.exists()


def test_written_and_its_path_printed_with_the_models(demo, tmp_path, capsys):
    db = report_fixture.build_duckdb(tmp_path / "output" / "demo.duckdb")
    demo._html_report(db)
    out = capsys.readouterr().out
    assert f"HTML report: {demo.HTML_REPORT} (" in out
    assert demo.HTML_REPORT.read_text().startswith("<!DOCTYPE html>")


def test_the_text_report_is_kondado_reports_printed_once_the_models_exist(demo, tmp_path, capsys):
    db = tmp_path / "output" / "demo.duckdb"
    duckdb.connect(str(db)).close()
    demo._text_report(db)
    assert capsys.readouterr().out == ""  # the HTML step's line says why
    report_fixture.build_duckdb(db)
    demo._text_report(db)
    out = capsys.readouterr().out
    assert out.startswith(
        "==> kondado-report --duckdb output/demo.duckdb --format text\nKondado report, kondado_as_of "
    )
    assert "Pipelines' health: 6 of 8 pipelines need a look, worst first" in out


def test_says_how_many_logs_the_run_loaded(demo, tmp_path):
    db = tmp_path / "output" / "demo.duckdb"
    before = demo._log_counts(db)
    assert before == {"pipeline_logs": 0, "model_logs": 0}  # no file yet
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE SCHEMA tap_kondado")
        conn.execute("CREATE TABLE tap_kondado.pipeline_logs AS SELECT range AS id FROM range(1200)")
    assert demo._loaded(db, before) == (
        "Loaded into output/demo.duckdb this run: +1,200 pipeline_logs (1,200 in all), +0 model_logs (0 in all)"
    )


def test_the_printed_commands_can_be_pasted_into_a_shell(demo, tmp_path, capsys, monkeypatch):
    """`--vars {...}` was printed unquoted: pasted, the shell split the JSON."""
    import json
    import shlex

    monkeypatch.setattr(demo, "_meltano", lambda *_: "")
    demo._build(tmp_path / "demo.duckdb", {}, environment="demo")
    line = capsys.readouterr().out.splitlines()[0].removeprefix("==> ")
    words = shlex.split(line)
    assert words[:4] == ["meltano", "--environment", "demo", "invoke"]
    assert json.loads(words[words.index("--vars") + 1])["kondado_plan_rows"] == {
        str(k): v for k, v in demo.PLAN_ROWS.items()
    }
