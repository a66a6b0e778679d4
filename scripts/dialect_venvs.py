"""One virtual environment per checked-only warehouse's dbt adapter, under .venv-dialects/<adapter>.

The adapters pin conflicting versions of their shared dependencies, so each gets its own environment, built once
with uv (Meltano's, in .venv) and reused while its requirements are unchanged. tests/test_dialects.py renders the
package with each; .ci/run builds them before the suite so no test pays for an install.

Usage: python scripts/dialect_venvs.py [adapter ...]   (default: every adapter; prints each dbt executable)
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE = PROJECT_ROOT / ".venv-dialects"
DBT_CORE = "dbt-core~=1.11.0"  # as meltano.yml's dbt utilities
ADAPTERS = {
    "snowflake": "dbt-snowflake~=1.11.0",
    "bigquery": "dbt-bigquery~=1.11.0",
    "redshift": "dbt-redshift~=1.11.0",
    "databricks": "dbt-databricks~=1.11.0",
}


def requirements(adapter: str) -> list[str]:
    return [DBT_CORE, ADAPTERS[adapter]]


def dbt_executable(adapter: str) -> Path:
    """The adapter's `dbt`, its environment built first if missing or built for other requirements."""
    venv = CACHE / adapter
    marker = venv / ".installed"
    wanted = "\n".join(requirements(adapter))
    CACHE.mkdir(exist_ok=True)
    with (CACHE / f"{adapter}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may ask at once
        if not (marker.exists() and marker.read_text() == wanted):
            build(venv, requirements(adapter))
            marker.write_text(wanted)
    return venv / "bin" / "dbt"


def build(venv: Path, packages: list[str]) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        msg = "uv not found (it comes with Meltano: run `make setup`)"
        raise RuntimeError(msg)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *packages], check=True)


def main(argv: list[str]) -> int:
    for adapter in argv or ADAPTERS:
        print(dbt_executable(adapter), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
