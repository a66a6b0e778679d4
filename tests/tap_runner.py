"""Run the `tap-kondado` command as a subprocess and read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

TAP = [sys.executable, "-m", "tap_kondado"]

# Secrets long enough to be masked, and unlike anything else in the output.
TEST_KEY = "test-key-4f9a1c"
TEST_TOKEN = "test-token-8e2b7d5f"
TEST_TOKENS = {TEST_KEY: (TEST_TOKEN, [1, 2, 3])}

# Compressed limits the tests may use to exercise pacing quickly.
NO_LIMITS: list[dict[str, float]] = []


@dataclass
class TapRun:
    """Everything one run of the tap produced."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def ids(self, stream: str) -> list[int]:
        return [r["id"] for r in self.records(stream)]

    def schemas(self) -> dict[str, dict[str, Any]]:
        return {m["stream"]: m["schema"] for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}


def config_for(sim_url: str, **overrides: Any) -> dict[str, Any]:
    """A config pointing the tap at a simulator, no pacing unless asked."""
    config: dict[str, Any] = {"key": TEST_KEY, "token": TEST_TOKEN, "api_url": sim_url, "rate_limits": NO_LIMITS}
    config.update(overrides)
    return config


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> TapRun:
    """Run the tap to completion with `config` (and `state`), parse its stdout."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp, "config.json")
        config_path.write_text(json.dumps(config))
        command = [*TAP, "--config", str(config_path), *args]
        if state is not None:
            state_path = Path(tmp, "state.json")
            state_path.write_text(json.dumps(state))
            command += ["--state", str(state_path)]
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False
        )
    return TapRun(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


def parse_messages(stdout: str) -> list[dict[str, Any]]:
    """Singer messages, one per line; a partial last line (killed process) is dropped."""
    messages = []
    for line in stdout.splitlines():
        try:
            messages.append(json.loads(line, parse_float=Decimal))  # exact, as the tap wrote it
        except json.JSONDecodeError:
            continue
    return messages


def bookmark(state: dict[str, Any], stream: str, client_id: int | None = None) -> Any:
    """The replication_key_value of a stream (or of one client_ids partition)."""
    stream_state = state.get("bookmarks", {}).get(stream, {})
    if client_id is None:
        return stream_state.get("replication_key_value")
    for partition in stream_state.get("partitions", []):
        if partition["context"] == {"client_id": client_id}:
            return partition.get("replication_key_value")
    return None


def json_log_config(folder: Path, level: str = "INFO") -> Path:
    """A logging config file for SINGER_SDK_LOG_CONFIG: the SDK's JSON formatter on stderr."""
    path = folder / "logging.yml"
    path.write_text(
        "version: 1\n"
        "disable_existing_loggers: false\n"
        "formatters:\n  json:\n    (): singer_sdk.logging.StructuredFormatter\n"
        "handlers:\n  stderr:\n    class: logging.StreamHandler\n    formatter: json\n    stream: ext://sys.stderr\n"
        f"root:\n  level: {level}\n  handlers: [stderr]\n"
    )
    return path
