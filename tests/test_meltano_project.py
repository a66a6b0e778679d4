"""meltano.yml, the Hub definition and .env.example agree with what the tap advertises."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest
import yaml

from tap_kondado.simulator.server import DEFAULT_LIMITS
from tap_kondado.status.stream import MELTANO_SELECT_VARIABLE, meltano_select_names
from tests.meltano_helpers import DEMO_TIME_SCALE, PROJECT_ROOT

pytestmark = pytest.mark.meltano

# A JSON number is Meltano kind integer: Meltano 4.4 turns a decimal setting given by a variable
# into a Decimal it cannot write to the tap's config (tests/test_user_path.py sets every one so).
KINDS = {"string": "string", "integer": "integer", "number": "integer", "boolean": "boolean"}
KINDS |= {"array": "array", "object": "object"}


@pytest.fixture(scope="module")
def project():
    return yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())


@pytest.fixture(scope="module")
def extractor(project):
    (tap,) = project["plugins"]["extractors"]
    return tap


@pytest.fixture(scope="module")
def about():
    result = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_meltano_yml_is_valid_for_meltano(project):
    schema = json.loads((resources.files("meltano") / "schemas" / "meltano.schema.json").read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(project)
    ]
    assert errors == []


def test_telemetry_off_and_project_id_fixed(project):
    assert project["send_anonymous_usage_stats"] is False
    assert project["project_id"]  # else Meltano writes one into the file on its first run


def test_every_plugin_is_declared_in_full(project):
    plugins = [p for kind in ("extractors", "loaders") for p in project["plugins"][kind]]
    assert [p["name"] for p in plugins] == ["tap-kondado", "target-postgres", "target-duckdb"]
    for plugin in plugins:
        assert {"namespace", "pip_url", "executable", "settings"} <= set(plugin), plugin["name"]
        assert "inherit_from" not in plugin
    pip_urls = {p["name"]: p["pip_url"] for p in plugins}
    assert pip_urls["target-postgres"].startswith("meltanolabs-target-postgres~=0.8.")
    assert pip_urls["target-duckdb"].startswith("target-duckdb~=0.8.")


def test_dbt_utilities_are_declared_in_full(project):
    """The kondado package's runners: no Meltano Hub lookup, one profile per engine in transform/profiles."""
    utilities = {u["name"]: u for u in project["plugins"]["utilities"] if u["name"].startswith("dbt-")}
    assert sorted(utilities) == ["dbt-duckdb", "dbt-postgres"]
    for name, utility in utilities.items():
        engine = name.removeprefix("dbt-")
        assert {"namespace", "pip_url", "executable", "settings", "commands"} <= set(utility), name
        assert f"dbt-{engine}~=" in utility["pip_url"]
        assert "meltano-dbt-ext~=0.5." in utility["pip_url"]
        assert utility["env"]["DBT_EXT_TYPE"] == engine
        settings = {s["name"]: s for s in utility["settings"]}
        assert settings["project_dir"]["value"] == "$MELTANO_PROJECT_ROOT/transform"
        profiles = settings["profiles_dir"]["value"].replace("$MELTANO_PROJECT_ROOT", str(PROJECT_ROOT))
        assert (PROJECT_ROOT / profiles.removeprefix(str(PROJECT_ROOT) + "/") / "profiles.yml").is_file()
        assert {"build", "run", "test", "source-freshness", "gate"} <= set(utility["commands"])
    postgres = {s["name"] for s in utilities["dbt-postgres"]["settings"]}
    assert {"host", "port", "user", "password", "dbname", "schema"} <= postgres
    assert "path" in {s["name"] for s in utilities["dbt-duckdb"]["settings"]}


def test_trigger_utility_is_declared_in_full(project):
    """kondado-trigger as a Meltano utility: the package's own command, its settings as the variables it reads."""
    from tap_kondado.trigger.cli import ENV_PREFIX

    [utility] = [u for u in project["plugins"]["utilities"] if u["name"] == "kondado-trigger"]
    assert {"namespace", "pip_url", "executable", "settings", "commands"} <= set(utility)
    assert utility["executable"] == "kondado-trigger"
    assert utility["pip_url"].startswith("-e .[trigger]")
    assert utility["name"].upper().replace("-", "_") + "_" == ENV_PREFIX  # what Meltano names the settings' variables
    settings = {s["name"] for s in utility["settings"]}
    assert settings == {"duckdb", "postgres", "schema", "pipelines", "models", "clients"}
    assert {"retrain", "list", "dry-run"} <= set(utility["commands"])
    [job] = [j for j in project["jobs"] if j["name"] == "kondado-retrain"]
    assert job["tasks"] == ["tap-kondado target-duckdb kondado-trigger:retrain"]


def test_hub_definitions_are_the_entries_of_meltano_yml():
    """hub/<plugin>.yml, what a team adds to its own project, is written from meltano.yml: never stale."""
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "write_hub_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_extractor_settings_match_the_taps_about(extractor, about):
    properties = about["settings"]["properties"]
    assert [s["name"] for s in extractor["settings"]] == list(properties)
    for setting in extractor["settings"]:
        spec = properties[setting["name"]]
        json_types = spec.get("type", "object")
        json_type = next(t for t in ([json_types] if isinstance(json_types, str) else json_types) if t != "null")
        kind = "date_iso8601" if spec.get("format") == "date-time" else KINDS[json_type]
        assert setting["kind"] == kind, setting["name"]
        assert setting["label"] == spec["title"], setting["name"]
        assert setting["description"] == spec["description"], setting["name"]
        assert setting.get("sensitive", False) == spec.get("secret", False), setting["name"]
        assert setting.get("value") == spec.get("default"), setting["name"]
    assert sorted(extractor["capabilities"]) == sorted(about["capabilities"])
    assert extractor["settings_group_validation"] == [sorted(about["settings"]["required"])]


def test_hub_definition_matches_meltano_yml(extractor):
    hub = yaml.safe_load((PROJECT_ROOT / "hub" / "tap-kondado.yml").read_text())
    for field in ("name", "namespace", "executable", "label", "description", "settings_group_validation"):
        assert hub[field] == extractor[field], field
    assert sorted(hub["capabilities"]) == sorted(extractor["capabilities"])
    by_name = {s["name"]: s for s in extractor["settings"]}
    assert {s["name"]: s for s in hub["settings"]} == by_name


def test_demo_environment_paces_like_the_scaled_simulator(project):
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    try:
        import demo
    finally:
        sys.path.remove(str(PROJECT_ROOT / "scripts"))
    assert float(demo.TIME_SCALE) == DEMO_TIME_SCALE
    (demo_env,) = [e for e in project["environments"] if e["name"] == "demo"]
    (tap,) = demo_env["config"]["plugins"]["extractors"]
    windows = [(w["max_requests"], w["window_seconds"]) for w in tap["config"]["rate_limits"]]
    assert windows == [(n, pytest.approx(seconds * DEMO_TIME_SCALE)) for n, seconds in DEFAULT_LIMITS]


def test_the_demo_selects_the_status_streams_by_name(extractor):
    """`make demo` lands the statuses (its health table shows the planted failing pipelines as failing): its select
    names each status stream, as the tap needs under Meltano, and keeps meltano.yml's log streams."""
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    try:
        import demo
    finally:
        sys.path.remove(str(PROJECT_ROOT / "scripts"))
    environ = {MELTANO_SELECT_VARIABLE: demo.SELECT}
    assert all(meltano_select_names(stream, environ) for stream in ("pipeline_status", "model_status"))
    assert set(extractor["select"]) < set(json.loads(demo.SELECT))


def test_no_secret_is_committed(project):
    """Sensitive settings carry no value in meltano.yml, and .env.example leaves them empty."""
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    env_example = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    for kind in ("extractors", "loaders", "utilities"):
        for plugin in project["plugins"][kind]:
            for setting in plugin["settings"]:
                if not setting.get("sensitive"):
                    continue
                is_path = str(setting.get("value", "")).startswith("~/")  # a key file's default path
                assert "value" not in setting or is_path, (plugin["name"], setting["name"])
                env_name = f"{plugin['name']}_{setting['name']}".upper().replace("-", "_")
                assert env_example.get(env_name, "") == "", env_name
    assert {"TAP_KONDADO_KEY", "TAP_KONDADO_TOKEN", "TARGET_POSTGRES_PASSWORD", "DBT_POSTGRES_PASSWORD"} <= set(
        env_example
    )


def test_command_descriptions_name_only_vars_the_package_has(project):
    """A description once named kondado_fail_on_health, a var that never existed."""
    import re

    declared = set(yaml.safe_load((PROJECT_ROOT / "transform" / "dbt_project.yml").read_text())["vars"])
    for utility in project["plugins"]["utilities"]:
        for command in (utility.get("commands") or {}).values():
            named = set(re.findall(r"\bkondado_\w+", command.get("description", "") + " " + command.get("args", "")))
            named -= {"kondado_no_stalled_pipelines", "kondado_no_failing_pipelines"}  # test names, not vars
            assert named <= declared, (utility["name"], named - declared)
