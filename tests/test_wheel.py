"""The package a user installs: sdist and wheel build, their metadata passes `twine check`, and the
wheel alone (no checkout, no dev tools) runs the tap and the simulator under every Python it claims.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from tests.meltano_helpers import UV_CACHE
from tests.sim_process import simulator_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CLAIMED = [c.rsplit(":: ", 1)[1] for c in PYPROJECT["classifiers"] if re.search(r"Python :: 3\.\d+$", c)]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"  # Meltano brings uv into .venv
UV_ENV = {**os.environ, "UV_CACHE_DIR": UV_CACHE, "UV_PYTHON_DOWNLOADS": "never"}  # a warm cache, no download


def interpreter(version: str) -> str | None:
    """A working `pythonX.Y`: on PATH, or under pyenv (whose shims run only the selected versions)."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if check.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build`: an sdist, then the wheel built from that sdist (so the sdist is complete)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        check=True,
        timeout=300,
        env=UV_ENV,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (path,) = dist.glob("tap_kondado-*.whl")
    return path


def test_metadata_passes_twine_check(dist: Path):
    files = sorted(str(p) for p in dist.iterdir())
    assert len(files) == 2  # the sdist and the wheel
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_ships_the_simulator_and_both_commands(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    for module in ("server", "data", "faults", "__main__"):
        assert f"tap_kondado/simulator/{module}.py" in names
    for data in ("templates/report.html.j2", "report.css"):  # the report's page, read at render
        assert f"tap_kondado/report/{data}" in names
    assert "tap-kondado = tap_kondado.tap:TapKondado.cli" in scripts
    assert "kondado-simulator = tap_kondado.simulator.__main__:main" in scripts


def test_python_floor_is_said_once_everywhere():
    floor = PYPROJECT["requires-python"].removeprefix(">=")
    assert floor == CLAIMED[0]
    assert [int(v.split(".")[1]) for v in CLAIMED] == list(range(int(floor.split(".")[1]), 14))
    for path in ("README.md", "Makefile"):
        said = set(re.findall(r"Python >= (3\.\d+)", (ROOT / path).read_text()))
        assert said == {floor}, path


@pytest.mark.parametrize("version", CLAIMED)
def test_wheel_alone_runs_under(version: str, wheel: Path, tmp_path: Path):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    venv = tmp_path / "venv"
    env = {**UV_ENV, "VIRTUAL_ENV": str(venv)}
    subprocess.run([UV, "venv", "--quiet", "--python", python, str(venv)], env=env, check=True, timeout=120)
    subprocess.run(  # with its dependencies from the package index, nothing from this checkout
        [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        env=env,
        check=True,
        timeout=600,
    )
    bin_dir = venv / "bin"
    about = json.loads(
        subprocess.run(
            [bin_dir / "tap-kondado", "--about", "--format", "json"], capture_output=True, check=True, timeout=60
        ).stdout
    )
    assert about["version"] == PYPROJECT["version"]
    assert about["supported_python_versions"] == CLAIMED
    simulator_help = subprocess.run(
        [bin_dir / "kondado-simulator", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "(default: 1/1,20/60)" in " ".join(simulator_help.split())

    # And a real sync, both commands from the wheel's venv.
    sim_args = ("--rate-limits", "off", "--pipeline-logs", "120", "--model-logs", "60")
    with simulator_process(*sim_args, command=str(bin_dir / "kondado-simulator")) as sim:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"api_url": sim.url, "key": "demo-key", "token": "demo-token", "rate_limits": []}))
        run = subprocess.run(
            [bin_dir / "tap-kondado", "--config", config], capture_output=True, text=True, timeout=120, check=False
        )
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in run.stdout.splitlines() if '"RECORD"' in line]
    assert {r["stream"] for r in records} == {"pipeline_logs", "model_logs"}
    assert (
        subprocess.run(
            [bin_dir / "python", "-c", f"import sys; assert sys.version.startswith('{version}.')"], check=False
        ).returncode
        == 0
    )
