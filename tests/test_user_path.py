"""The path a Meltano user takes: their own project, the extractor from the Hub file, the README's commands.

A fresh `meltano init` project in a temp dir runs the commands of the README's "In your own Meltano
project" block as written (the checkout's path for /path/to/tap-kondado; target-jsonl declared from a
local file, Meltano Hub being out of reach), every tap setting from a TAP_KONDADO_* variable, against
`kondado-simulator`: a full run, then one that loads only the logs added since.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tap_kondado.simulator import Simulator
from tests.meltano_helpers import UV_CACHE
from tests.sim_process import simulator_process

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_PLACEHOLDER = "/path/to/tap-kondado"
BIN = Path(sys.executable).parent
SIM_COUNTS = {"pipeline_logs": 300, "model_logs": 150}
KEY, TOKEN, CLIENT_IDS = "demo-key", "demo-token", [1, 2]
# Meltano Hub cannot be reached here, nor from many networks: the README adds the loader from hub/target-jsonl.yml.
TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "variant": "andyh1203",
    "pip_url": "target-jsonl~=0.1.4",
    "executable": "target-jsonl",
    "settings": [
        {"name": "destination_path", "kind": "string", "value": "output"},
        {"name": "custom_name", "kind": "string"},
        {"name": "do_timestamp_file", "kind": "boolean", "value": False},
    ],
}


def readme_commands() -> list[str]:
    """The sh block of the README's "In your own Meltano project" section, one command a line."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### In your own Meltano project", 1)[1]
    block = re.search(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def readme_config_commands() -> list[str]:
    """The `meltano config ...` commands the section's text names."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### In your own Meltano project", 1)[1].split("\n#", 1)[0]
    return re.findall(r"`(meltano config [^`]+)`", section)


def own_settings(about: dict, values: dict) -> dict[str, str]:
    """TAP_KONDADO_* for every setting the tap adds to the SDK's: `values`, else its --about default."""
    env = {}
    for name, spec in about["settings"]["properties"].items():
        value = values.get(name, spec.get("default"))
        if value is None or name in _SDK_SETTINGS:
            continue
        env[f"TAP_KONDADO_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


PLUGIN_KEYS = {"name", "namespace", "label", "description", "executable", "capabilities", "settings"}
PLUGIN_KEYS |= {"settings_group_validation"}
_SDK_SETTINGS = {"stream_maps", "stream_map_config", "faker_config", "batch_config"}
_SDK_SETTINGS |= {"flattening_enabled", "flattening_max_depth", "flattening_max_key_length", "flattening_separator"}


def expected_ids(start_element_id: int) -> dict[str, list[int]]:
    """What a full run with these settings loads: the same seeded data, seen in-process."""
    with Simulator(**SIM_COUNTS) as sim:
        return {
            stream: sorted(
                r["id"] for r in sim.visible(stream) if r["client_id"] in CLIENT_IDS and r["id"] >= start_element_id
            )
            for stream in SIM_COUNTS
        }


def loaded_ids(folder: Path) -> dict[str, list[int]]:
    return {
        stream: sorted(json.loads(line)["id"] for line in (folder / f"{stream}.jsonl").read_text().splitlines())
        if (folder / f"{stream}.jsonl").exists()
        else []
        for stream in SIM_COUNTS
    }


def append(url: str, stream: str, count: int, client_id: int) -> None:
    """As the README shows with curl: the simulator's admin endpoint."""
    body = json.dumps({"stream": stream, "count": count, "client_id": client_id}).encode()
    request = urllib.request.Request(f"{url}/_admin/append", data=body, method="POST")  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert json.load(answer)["appended"] == count


def test_readme_path_in_a_fresh_meltano_project(tmp_path: Path):
    commands = readme_commands()
    assert commands[0].startswith("meltano add --plugin-type extractor tap-kondado --from-ref")
    assert commands[-1] == "meltano run tap-kondado target-jsonl"
    assert yaml.safe_load((ROOT / "hub" / "target-jsonl.yml").read_text()) == TARGET_JSONL
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_KONDADO_", "TARGET_", "MELTANO_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # `meltano` as the README types it
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_CLI_DISABLE_VERSION_CHECK="true",
        XDG_CACHE_HOME=str(tmp_path / "cache"),  # the tap's files; never the user's
        UV_CACHE_DIR=UV_CACHE,  # Meltano's uv keeps its package cache
    )

    def sh(command: str, cwd: Path, **extra: str) -> str:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"$ {command}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        return result.stdout

    sh("meltano init project --no-usage-stats", tmp_path)
    project = tmp_path / "project"
    about = json.loads(sh("tap-kondado --about --format json", tmp_path))

    counts = [f"--{stream.replace('_', '-')}={n}" for stream, n in SIM_COUNTS.items()]
    with simulator_process("--time-scale", "0.05", *counts) as sim:
        rate_limits = json.loads(re.search(r"rate_limits to match: (\[.*\])", sim.banner).group(1))
        start_element_id = expected_ids(0)["pipeline_logs"][40]
        settings = {
            "key": KEY,
            "token": TOKEN,
            "api_url": sim.url,
            "start_element_id": start_element_id,
            "client_ids": CLIENT_IDS,
            "request_timeout": 20,
            "max_retries": 2,
            "rate_limits": rate_limits,
        }
        env.update(own_settings(about, settings))
        for line in commands:
            command = line.replace(CHECKOUT_PLACEHOLDER, str(ROOT))
            sh(command, project, TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "run1"))

        # The README's edit of meltano.yml leaves nothing behind in the user's project (sed -i.bak did).
        assert [p.name for p in project.iterdir() if p.name.startswith("meltano.yml")] == ["meltano.yml"]
        # Every setting reached the tap from its variable (`meltano config` shows what it will pass).
        config = json.loads(sh("meltano config --unsafe print tap-kondado", project))
        for name, value in settings.items():
            assert config[name] == value, name
        (listing,) = readme_config_commands()
        assert "from the TAP_KONDADO_API_URL variable in the environment" in sh(listing, project)
        # --from-ref took the Hub file's layout: no Hub-only key (keywords, domain_url...) came along.
        (extractor,) = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]["extractors"]
        assert set(extractor) <= {*PLUGIN_KEYS, "pip_url"}, sorted(set(extractor) - PLUGIN_KEYS)
        assert extractor["pip_url"] == str(ROOT)
        expected = expected_ids(start_element_id)
        assert loaded_ids(tmp_path / "run1") == expected
        assert all(expected.values())

        # New logs, some of them an account client_ids leaves out: the next run loads only the others.
        append(sim.url, "pipeline_logs", 12, client_id=1)
        append(sim.url, "pipeline_logs", 5, client_id=3)
        append(sim.url, "model_logs", 7, client_id=2)
        sh(commands[-1], project, TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "run2"))
        second = loaded_ids(tmp_path / "run2")
        assert [len(second["pipeline_logs"]), len(second["model_logs"])] == [12, 7]
        assert min(second["pipeline_logs"]) > max(expected["pipeline_logs"])
        assert min(second["model_logs"]) > max(expected["model_logs"])
