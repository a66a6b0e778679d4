"""What the release workflow runs before publishing: one version everywhere, then the artefacts built and checked.

1. The version is written once, in pyproject.toml; the dbt package (transform/dbt_project.yml), the CHANGELOG's
   newest entry and the README's pinned install lines (`revision: vX.Y.Z`) must say the same, and so must the
   tag being released (`--tag vX.Y.Z`, the workflow passes GITHUB_REF_NAME).
2. `python -m build` (sdist, then the wheel from it) into --outdir, and `twine check --strict` on both.

Exits 1 with one line per problem. tests/test_release.py runs it as the workflow does.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def problems(tag: str | None) -> list[str]:
    """Every place the version is said that disagrees with pyproject.toml's."""
    wanted = version()
    found = []
    dbt = str(yaml.safe_load((ROOT / "transform" / "dbt_project.yml").read_text())["version"])
    if dbt != wanted:
        found.append(f"transform/dbt_project.yml says version {dbt}, pyproject.toml {wanted}")
    entries = re.findall(r"^## \[?(\d+\.\d+\.\d+)\]?", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    if not entries or entries[0] != wanted:
        found.append(f"CHANGELOG.md's newest entry is {entries[0] if entries else 'missing'}, pyproject.toml {wanted}")
    pinned = set(re.findall(r"revision: v(\d+\.\d+\.\d+)", (ROOT / "README.md").read_text()))
    if pinned != {wanted}:
        found.append(f"README.md pins the dbt package at {sorted(pinned) or 'nothing'}, pyproject.toml {wanted}")
    if tag is not None and tag != f"v{wanted}":
        found.append(f"the tag {tag} is not v{wanted} (pyproject.toml's version)")
    return found


def build(outdir: Path) -> list[Path]:
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)], check=True)
    artefacts = sorted(outdir.iterdir())
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, artefacts)], check=True)
    return artefacts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tag", help="the tag being released, e.g. v0.1.0")
    parser.add_argument("--outdir", type=Path, help="build the sdist and wheel here and check them")
    args = parser.parse_args(argv)
    found = problems(args.tag)
    for line in found:
        print(f"release_check: {line}")
    if found:
        return 1
    if args.outdir is not None:
        for artefact in build(args.outdir):
            print(f"release_check: built {artefact.name}")
    print(f"release_check: version {version()} is consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
