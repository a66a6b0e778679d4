"""`kondado-report --duckdb FILE | --postgres [URL] [--output OUT] [--format html|text] [--schema S]`.

Reads the `kondado` dbt package's models and writes one self-contained HTML file into --output (no script, no
network request when opened); with --format text, the same facts as plain text, on stdout or into --output.
Without --schema: the schema dbt's last build recorded for kondado_pipeline_health in its manifest.json (in
--dbt-target-path, else $DBT_TARGET_PATH, else transform/target under the working directory), else
`analytics` by default on both engines. `--postgres` without a URL uses the usual PG* variables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tap_kondado.report import layout, text
from tap_kondado.report.query import ReportError, load


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kondado-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--duckdb", metavar="FILE", help="a DuckDB file the dbt package was built into")
    source.add_argument(
        "--postgres",
        metavar="URL",
        nargs="?",
        const="",
        help="postgresql://user:password@host:port/db (omitted: the PG* variables)",
    )
    parser.add_argument("--output", "-o", metavar="OUT", help="the file to write (needed for html; text: stdout)")
    parser.add_argument(
        "--format", choices=("html", "text"), default="html", help="an HTML page (default) or plain text"
    )
    parser.add_argument(
        "--schema", metavar="S", help="the schema the models were built in (default: dbt's manifest's, analytics)"
    )
    parser.add_argument(
        "--dbt-target-path",
        metavar="DIR",
        help="dbt's target folder, whose manifest.json names the schema (default: $DBT_TARGET_PATH, transform/target)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write the report; 1 with one line on stderr for bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.format == "html" and not args.output:
        parser.error("the following arguments are required for --format html: --output/-o")
    started = time.monotonic()
    try:
        data = load(
            duckdb_file=args.duckdb,
            postgres_url=args.postgres,
            schema=args.schema,
            dbt_target_path=args.dbt_target_path,
        )
        page = text.render(data) if args.format == "text" else layout.render(data, built_in=time.monotonic() - started)
        if not args.output:  # text only: html requires --output
            sys.stdout.write(page)
            return 0
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(page, encoding="utf-8")
    except ReportError as error:
        print(f"kondado-report: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"kondado-report: cannot write {args.output or 'stdout'}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"{output} ({output.stat().st_size / 1024:.0f} KB, {time.monotonic() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
