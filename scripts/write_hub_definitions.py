"""Write hub/<plugin>.yml for the plugins a team adds to its own Meltano project, from this repository's meltano.yml.

Each file is that plugin's meltano.yml entry (so `meltano add --plugin-type ... --from-ref hub/<plugin>.yml` gives
a team exactly what is tested here), the package's own utilities pointing at the package instead of this
checkout. `--check` exits 1 when a file is not what this would write (tests/test_meltano_project.py runs it).
"""

from __future__ import annotations

import copy
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {
    "target-duckdb": "target-duckdb for your own Meltano project. The duckdb pin travels with it: target-duckdb "
    "0.8.0 writes its CSV batches without a header and DuckDB 1.3 and later sniff one, so the first record of "
    "every batch would be lost (tests/test_own_project.py counts every row).",
    "target-postgres": "target-postgres (MeltanoLabs) for your own Meltano project.",
    "dbt-duckdb": "The kondado dbt package's runner on DuckDB, for your own Meltano project: your dbt project is "
    "transform/ (hub/dbt/ is a start).",
    "dbt-postgres": "The kondado dbt package's runner on PostgreSQL, for your own Meltano project: your dbt "
    "project is transform/ (hub/dbt/ is a start).",
    "kondado-trigger": "kondado-trigger for your own Meltano project; its retrain command runs retrain.py in your "
    "project: put your own job there.",
    "kondado-report": "kondado-report (the HTML report) for your own Meltano project.",
}
REF = "/path/to/tap-kondado/hub"
KINDS = {"target-duckdb": "loader", "target-postgres": "loader"}


def definitions() -> dict[str, str]:
    """File name -> text."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    entries = {p["name"]: p for kind in ("loaders", "utilities") for p in project["plugins"][kind]}
    files = {}
    for name, header in HEADERS.items():
        entry = copy.deepcopy(entries[name])
        if name.startswith("kondado-"):
            entry["pip_url"] = entry["pip_url"].replace("-e .[", "tap-kondado[")
        if name == "kondado-trigger":
            entry["commands"]["retrain"]["args"] = "--consumer retrain -- python $MELTANO_PROJECT_ROOT/retrain.py"
        kind = KINDS.get(name, "utility")
        lines = [*textwrap.wrap(header, 110), f"  meltano add --plugin-type {kind} {name} --from-ref {REF}/{name}.yml"]
        lines.append("Written by scripts/write_hub_definitions.py from this repository's meltano.yml (edit that).")
        text = "".join(f"# {line}\n" for line in lines)
        files[f"{name}.yml"] = text + yaml.safe_dump(entry, sort_keys=False, allow_unicode=True, width=120)
    return files


def main(argv: list[str]) -> int:
    stale = []
    for name, text in definitions().items():
        path = ROOT / "hub" / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"hub definitions out of date: {', '.join(stale)}; run python scripts/write_hub_definitions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
