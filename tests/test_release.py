"""The release path, without publishing: the workflow runs scripts/release_check.py, which this test runs the same
way, on the same files, and whose artefacts it inspects; a version said differently anywhere stops it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
import yaml

from tests.meltano_helpers import UV_CACHE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CHECK = [sys.executable, str(ROOT / "scripts" / "release_check.py")]


def steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def test_the_workflow_publishes_only_a_checked_build_on_a_tag():
    assert WORKFLOW[True]["push"]["tags"] == ["v*.*.*"]  # YAML reads the key `on` as True
    runs = [s["run"] for s in steps("build") if "run" in s]
    assert 'python scripts/release_check.py --tag "$GITHUB_REF_NAME" --outdir dist' in runs
    publish = WORKFLOW["jobs"]["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, no stored secret
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
    release = WORKFLOW["jobs"]["github-release"]
    assert release["needs"] == "publish"
    assert any("gh release create" in s.get("run", "") and "dist/*" in s["run"] for s in release["steps"])


def test_the_release_check_builds_and_checks_what_the_workflow_uploads(tmp_path):
    result = subprocess.run(
        [*CHECK, "--tag", f"v{VERSION}", "--outdir", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**__import__("os").environ, "UV_CACHE_DIR": UV_CACHE},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert built == [f"tap_kondado-{VERSION}-py3-none-any.whl", f"tap_kondado-{VERSION}.tar.gz"]
    with zipfile.ZipFile(tmp_path / "dist" / built[0]) as wheel:
        scripts = next(wheel.read(n).decode() for n in wheel.namelist() if n.endswith("entry_points.txt"))
    for command in ("tap-kondado", "kondado-simulator", "kondado-report", "kondado-trigger"):
        assert f"{command} = " in scripts


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("transform/dbt_project.yml", f"version: {VERSION}", "version: 9.9.9", "transform/dbt_project.yml says"),
        ("CHANGELOG.md", f"## [{VERSION}]", "## [9.9.9]", "CHANGELOG.md's newest entry is 9.9.9"),
        ("README.md", f"revision: v{VERSION}", "revision: main", "README.md pins the dbt package at"),
    ],
)
def test_a_version_said_differently_stops_the_release(tmp_path, file, old, new, problem):
    copy = tmp_path / "repo"
    for name in (
        "pyproject.toml",
        "CHANGELOG.md",
        "README.md",
        "transform/dbt_project.yml",
        "scripts/release_check.py",
    ):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, copy / name)
    text = (copy / file).read_text()
    assert old in text
    (copy / file).write_text(text.replace(old, new))
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "release_check.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert problem in result.stdout


def test_a_tag_that_is_not_the_version_stops_the_release():
    result = subprocess.run([*CHECK, "--tag", "v0.0.0-wrong"], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert f"the tag v0.0.0-wrong is not v{VERSION}" in result.stdout
