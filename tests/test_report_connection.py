"""kondado-report's PostgreSQL connection: the password is never printed nor written, whatever the URL's form
(unencoded `#`, `?` or `/` in it, a `password=` parameter, a URL psycopg cannot parse); a SQL_ASCII database
reads as any other."""

from __future__ import annotations

import dataclasses

import pytest

from tap_kondado.report import cli
from tap_kondado.report.query import load
from tests import report_fixture

pytestmark = [pytest.mark.postgres]

psycopg = pytest.importorskip("psycopg")

SECRET = "Zq9x"  # in every password below: it must appear nowhere


def _run(url: str, output, capsys) -> tuple[int, str]:
    code = cli.main(["--postgres", url, "--output", str(output)])
    captured = capsys.readouterr()
    written = output.read_text() if output.exists() else ""
    return code, captured.out + captured.err + written


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://kondado:a#{SECRET}@127.0.0.1:1/db",
        f"postgresql://kondado:a?{SECRET}@127.0.0.1:1/db",
        f"postgresql://kondado:a/{SECRET}@127.0.0.1:1/db",
        f"postgresql://kondado:a%23{SECRET}@127.0.0.1:1/db",
        f"postgresql://kondado@127.0.0.1:1/db?password={SECRET}&sslmode=disable",
        f"postgresql://kondado@127.0.0.1:1/db?sslmode=disable&PASSWORD=a%20{SECRET}",
        f"postgresql://kondado:{SECRET}@[::1/db",
        f"postgresql://kondado:{SECRET}@host:notaport/db",
        f"postgres://kondado:{SECRET}@127.0.0.1:1/db#x",
        f"kondado:{SECRET}@127.0.0.1:1/db",  # no scheme: not a PostgreSQL URL, said without its password
        f"mysql://kondado:a/{SECRET}@127.0.0.1/db",
        f"postgresql://kondado:a://{SECRET}@127.0.0.1:1/db",
    ],
)
def test_a_failed_connection_never_prints_the_password(url, tmp_path, capsys):
    code, said = _run(url, tmp_path / "report.html", capsys)
    assert code == 1
    assert "kondado-report: " in said
    assert SECRET not in said


@pytest.fixture(scope="module")
def models_database(postgres):
    database = postgres.create_database("report_connection")
    report_fixture.build_postgres(postgres.dsn(database))
    return database


@pytest.mark.parametrize("password", [f"a#{SECRET}", f"a?{SECRET}", f"{SECRET}%40b"])
def test_a_page_built_over_a_url_with_a_password_never_shows_it(postgres, models_database, password, tmp_path, capsys):
    # The throwaway server trusts every local connection: any password connects.
    url = f"postgresql://{postgres.user}:{password}@{postgres.host}:{postgres.port}/{models_database}"
    code, said = _run(url, tmp_path / "report.html", capsys)
    assert code == 0, said
    assert "<html" in said
    assert SECRET not in said


def test_a_sql_ascii_database_reads_as_any_other(postgres, models_database):
    name = postgres.create_database("report_sql_ascii")
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:  # re-made with the encoding dbt builds fine
        conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    report_fixture.build_postgres(postgres.dsn(name))
    base = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/"
    expected = dataclasses.replace(load(postgres_url=base + models_database), source="x")
    for schema in (None, report_fixture.SCHEMA):
        assert dataclasses.replace(load(postgres_url=base + name, schema=schema), source="x") == expected
