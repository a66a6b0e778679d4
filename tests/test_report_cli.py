"""The `kondado-report` command as a user runs it: a file written and its path printed, or one line and exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import report_fixture

COMMAND = str(Path(sys.executable).parent / "kondado-report")


def _run(*args, cwd=None, env=None):
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return report_fixture.build_duckdb(tmp_path_factory.mktemp("cli") / "models.duckdb")


def test_writes_the_page_and_prints_its_path(db, tmp_path):
    out = tmp_path / "deep" / "kondado-report.html"
    result = _run("--duckdb", str(db), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{out} (")
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert out.stat().st_size < 5 * 1024 * 1024


def test_text_format_prints_the_report_or_writes_it(db, tmp_path):
    result = _run("--duckdb", str(db), "--format", "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Kondado report, kondado_as_of 2026-11-20 12:00 UTC")
    assert "Pipelines' health: 6 of 8 pipelines need a look" in result.stdout
    out = tmp_path / "report.txt"
    result = _run("--duckdb", str(db), "--format", "text", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{out} (")
    assert out.read_text().startswith("Kondado report, ")


def test_html_still_needs_an_output(db):
    result = _run("--duckdb", str(db))
    assert result.returncode == 2
    assert "required for --format html: --output/-o" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duckdb", "absent.duckdb"], "kondado-report: no DuckDB file at absent.duckdb"),
        (["--postgres", "http://example/db"], "kondado-report: not a PostgreSQL URL"),
        (["--postgres", "postgresql://u:pw@127.0.0.1:1/db"], "kondado-report: cannot connect to postgresql://u:***@"),
        (["--duckdb", "{db}", "--schema", "nowhere"], "kondado-report: schema 'nowhere' lacks the kondado models"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(db, tmp_path, args, message):
    args = [a.replace("{db}", str(db)) for a in args]
    result = _run(*args, "--output", str(tmp_path / "out.html"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.html").exists()


def test_unwritable_output_is_one_line(db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _run("--duckdb", str(db), "--output", str(blocker / "out.html"))
    assert result.returncode == 1
    assert result.stderr.startswith("kondado-report: cannot write")
    assert len(result.stderr.strip().splitlines()) == 1


def _manifest(folder, schema):
    folder.mkdir(parents=True, exist_ok=True)
    node = {"schema": schema}
    manifest = {"metadata": {"adapter_type": "duckdb"}, "nodes": {"model.kondado.kondado_pipeline_health": node}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_schema_from_dbts_manifest(tmp_path):
    db = tmp_path / "models.duckdb"
    for schema in ("analytics", "elsewhere", "third"):  # the models in several schemas: the manifest's is read
        report_fixture.build_duckdb(db, schema=schema)
    _manifest(tmp_path / "transform" / "target", "elsewhere")  # dbt_project.yml's target-path
    result = _run("--duckdb", str(db), "--output", "out.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(schema elsewhere)" in (tmp_path / "out.html").read_text()
    _manifest(tmp_path / "other-target", "third")
    result = _run("--duckdb", str(db), "--output", "out.html", "--dbt-target-path", "other-target", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(schema third)" in (tmp_path / "out.html").read_text()
    (tmp_path / "transform" / "target" / "manifest.json").write_text('{"nodes": {}}')
    result = _run("--duckdb", str(db), "--output", "out.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(schema analytics)" in (tmp_path / "out.html").read_text()  # no schema recorded, several: the default


@pytest.mark.parametrize("module", ["duckdb", "jinja2"])
def test_without_the_report_extra_it_says_how_to_install_it(db, tmp_path, module):
    code = (
        f"import sys; sys.modules[{module!r}] = None; from tap_kondado.report.cli import main; "
        f"sys.exit(main(['--duckdb', {str(db)!r}, '--output', {str(tmp_path / 'o.html')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"kondado-report: {module} is not installed: install the report's extra, pip install 'tap-kondado[report]'\n"
    )
    assert not (tmp_path / "o.html").exists()


def test_help_names_the_default_schema_the_report_reads():
    """--help once said `main` on DuckDB: the default is what the dbt profiles build into, analytics."""
    import contextlib
    import io

    from tap_kondado.report.cli import _parser
    from tap_kondado.report.query import DEFAULT_SCHEMA

    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
        _parser().parse_args(["--help"])
    assert "`main`" not in text.getvalue()
    assert set(DEFAULT_SCHEMA.values()) == {"analytics"}
    assert "`analytics` by default on both engines" in " ".join(text.getvalue().split())
