"""The README stays true: its first commands, a settings table equal to `--about`, and Meltano snippets
that declare everything the tap advertises, in `meltano add` forms Meltano 4.4 reads as meant.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_kondado.settings import CONFIG_SCHEMA
from tests.tap_runner import config_for, run_tap

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SDK_SETTINGS = ("stream_map", "faker_config", "flattening_")
HUB = yaml.safe_load((ROOT / "hub" / "tap-kondado.yml").read_text())


@pytest.fixture(scope="module")
def about() -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def readme_commands() -> list[str]:
    """Every command the README shows: lines of its sh blocks, and inline code spans."""
    lines = [line for block in code_blocks("sh") for line in block.splitlines()]
    spans = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"^```.*?^```", "", README, flags=re.DOTALL | re.MULTILINE))
    return [*lines, *spans]


def readme_extractor_definitions() -> list[dict]:
    """Every tap-kondado extractor a YAML block of the README defines."""
    found = []
    for block in code_blocks("yaml"):
        document = yaml.safe_load(block)
        extractors = (document or {}).get("plugins", {}).get("extractors", []) if isinstance(document, dict) else []
        found += [e for e in extractors if e.get("name") == "tap-kondado"]
    return found


def test_readme_starts_with_the_demo_and_test_commands():
    head = README.splitlines()[:5]
    assert "make demo" in "\n".join(head)
    assert "make test" in "\n".join(head)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_settings_table_matches_about():
    about = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in about.splitlines() if line.startswith("| ") and not line.startswith("| Setting")]
    own = [row for row in rows if not row.split("|")[1].strip().startswith(SDK_SETTINGS)]
    assert len(own) == len([name for name in CONFIG_SCHEMA["properties"] if not name.startswith(SDK_SETTINGS)])
    for row in map(_json_default, own):
        assert row in README, f"README lacks the --about row: {row}"
    for row in rows:
        name = row.split("|")[1].strip().split(".")[0]
        assert name in README, f"README never names the setting {name}"


def _json_default(row: str) -> str:
    """--about prints a list or object default as Python; the README shows it as JSON, as users type it."""
    cells = row.split("|")
    try:
        value = ast.literal_eval(cells[3].strip())
    except (ValueError, SyntaxError):
        return row
    if isinstance(value, (list, dict)):
        cells[3] = f" {json.dumps(value)} "
    return "|".join(cells)


def assert_declares_all(definition: dict, about: dict, where: str) -> None:
    settings = {s["name"] for s in definition.get("settings", [])}
    missing = sorted(set(about["settings"]["properties"]) - settings)
    assert missing == [], f"{where} lacks the settings {missing}: Meltano would drop them unheard"
    capabilities = set(definition.get("capabilities", []))
    missing = sorted(set(about["capabilities"]) - capabilities)
    assert missing == [], f"{where} lacks the capabilities {missing}"


def test_hub_definition_declares_everything_the_tap_advertises(about):
    assert_declares_all(HUB, about, "hub/tap-kondado.yml")
    assert HUB["settings_group_validation"] == [sorted(about["settings"]["required"])]


def test_readme_definitions_declare_everything_the_tap_advertises(about):
    for definition in readme_extractor_definitions():
        assert_declares_all(definition, about, "a tap-kondado definition in README.md")
    adds = [c for c in readme_commands() if re.search(r"\bmeltano add --plugin-type extractor tap-kondado\b", c)]
    assert adds, "README.md shows no `meltano add` for tap-kondado"
    assert all("--from-ref" in c and "hub/tap-kondado.yml" in c for c in adds), adds


def test_no_meltano_add_form_that_meltano_misreads():
    """Meltano 4.4 turns `meltano add --custom extractor X` and `meltano add extractor X --from-ref ...`
    into a utility; only `--plugin-type TYPE` says what is meant.
    """
    adds = [c for c in readme_commands() if re.search(r"\bmeltano add\b", c)]
    assert adds
    for command in adds:
        args = command.split("meltano add", 1)[1].split()
        assert "--custom" not in args, command
        assert "--plugin-type" in args, command


def test_the_readmes_logging_config_moves_the_metric_lines_out_of_stderr(sim, tmp_path):
    """34 of 47 stderr lines of a run were METRIC lines: the README's config leaves the progress view."""
    (block,) = [b for b in code_blocks("yaml") if "singer_sdk.metrics" in b]
    metrics_file = tmp_path / "tap-kondado-metrics.log"
    (tmp_path / "logging.yml").write_text(
        block.replace("filename: tap-kondado-metrics.log", f"filename: {metrics_file}")
    )
    env = {"SINGER_SDK_LOG_CONFIG": str(tmp_path / "logging.yml")}
    run = run_tap(config_for(sim.url), env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "METRIC" not in run.stderr
    assert "Finished: pipeline_logs:" in run.stderr
    assert "pipeline_logs: run summary:" in run.stderr
    metrics = metrics_file.read_text()
    assert "http_request_duration" in metrics  # kept, where they do not bury the rest
    assert run_tap(config_for(sim.url)).stderr.count("METRIC") > 10  # the default is unchanged
