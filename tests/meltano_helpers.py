"""Run Meltano on this repository's meltano.yml, each test with its own state store.

Plugins are installed once per test session into the project's .meltano directory (a file
lock keeps concurrent sessions from installing at the same time). Each test gets its own
Meltano system directory (MELTANO_SYS_DIR_ROOT) whose plugin folders link to the installed
ones: its state database and the run/ folder, where Meltano writes each plugin's config and
catalog, are its own, so neither bookmarks nor files are shared with a concurrent test session.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests import run_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MELTANO = str(Path(sys.executable).with_name("meltano"))
ENVIRONMENT = "demo"  # the simulator's windows, scaled by DEMO_TIME_SCALE; see meltano.yml
DEMO_TIME_SCALE = 0.05
PLUGIN_TYPES = ("extractors", "loaders", "utilities")  # the folders of .meltano that hold installed plugins
# Plugin settings a developer's shell may hold; a test sets the ones it needs.
_FOREIGN_PREFIXES = ("TAP_KONDADO_", "TARGET_POSTGRES_", "TARGET_DUCKDB_", "DBT_", "MELTANO_", "KONDADO_TRIGGER_")


def base_env(state_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of one test's Meltano runs: its own state store, no telemetry, `settings`."""
    sys_dir = state_dir / ".meltano"
    sys_dir.mkdir(parents=True, exist_ok=True)
    for plugin_type in PLUGIN_TYPES:
        if not (sys_dir / plugin_type).exists():
            (sys_dir / plugin_type).symlink_to(PROJECT_ROOT / ".meltano" / plugin_type, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    env.update(
        MELTANO_SYS_DIR_ROOT=str(sys_dir),
        MELTANO_DATABASE_URI=f"sqlite:///{sys_dir / 'meltano.db'}",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_CLI_DISABLE_VERSION_CHECK="true",
        MELTANO_CLI_LOG_LEVEL="info",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(settings)
    return env


@functools.cache
def ensure_installed() -> None:
    """`meltano install` once per test run, whichever worker asks first; a re-install is quick (uv).

    Once a run, not once a worker: a re-install rewrites the plugins' venvs (tap-kondado's is an
    editable install of this checkout) while another worker's `meltano run` may be using them.
    """
    lock_path = PROJECT_ROOT / ".meltano" / "install.lock"
    lock_path.parent.mkdir(exist_ok=True)
    directory = run_dir.current()
    done = directory / "meltano-installed" if directory else None
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done is not None and done.exists():
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
        env.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", MELTANO_CLI_DISABLE_VERSION_CHECK="true")
        result = subprocess.run(
            [MELTANO, "install"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if result.returncode != 0:
            msg = f"meltano install failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            raise RuntimeError(msg)
        if done is not None:
            done.touch()


def meltano(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `meltano --environment demo ARGS` in the project; fail the test with its log if it fails."""
    result = subprocess.run(
        [MELTANO, "--environment", ENVIRONMENT, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        msg = f"meltano {' '.join(args)} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        raise AssertionError(msg)
    return result


def meltano_state(loader: str, env: dict[str, str]) -> dict[str, Any]:
    """The Singer state Meltano stored for `tap-kondado -> loader` in the demo environment."""
    state_id = f"{ENVIRONMENT}:tap-kondado-to-{loader}"
    result = meltano("state", "get", state_id, env=env)
    return json.loads(result.stdout)["singer_state"]


# uv's package cache, for the Meltano projects tests create: the tests point XDG_CACHE_HOME (where
# uv keeps it by default) at a temp dir so the tap never touches the user's cache.
UV_CACHE = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
