"""`kondado-trigger --api`: deliveries read from the Kondado API itself, for a team with no warehouse.

Each look runs the tap (a child process: the same scroll, pacing and shared rate budget as every tap-kondado
run with this key) from the consumer's own Singer state, selecting only the log streams it needs, and keeps
the tap's final state as the checkpoint, in a local JSON file replaced atomically. Idle, a look costs one
request per stream read. A new consumer starts at the first log (`--since` seeks a time with the tap's
`start_date`, or starts after a log id with `start_element_id`).
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tap_kondado.times import parse_time
from tap_kondado.trigger.model import ITEM_COLUMN, NAME_COLUMN, Batch, Checkpoint, Delivery, Selection, TriggerError
from tap_kondado.trigger.trigger import Check

TAP = [sys.executable, "-m", "tap_kondado"]
_VERSION = 1


class CheckpointFile:
    """Every consumer's tap state and last delivery, in one JSON file written atomically, locked beside it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TriggerError(f"cannot read the checkpoint file {self.path}: {error}") from error
        return data.get("consumers", {}) if isinstance(data, dict) else {}

    def write(self, consumers: dict[str, Any]) -> None:
        """Replace the file in one step: a crash leaves the old file or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"version": _VERSION, "consumers": consumers}, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class ApiTrigger:
    """What `Trigger` does, with the API as the source and a CheckpointFile as the checkpoint."""

    def __init__(
        self, config: dict[str, Any], checkpoints: CheckpointFile, consumer: str, selection: Selection
    ) -> None:
        if not consumer or not consumer.strip():
            raise TriggerError("--consumer needs a name (e.g. retrain)")
        self.config, self.file, self.consumer, self.selection = config, checkpoints, consumer, selection

    def where(self) -> str:
        return f"the API at {self.config.get('api_url', 'https://k2.kondado.com.br')} (checkpoints in {self.file.path})"

    def check(self, *, keep_idle_state: bool = False) -> Check:
        """Run the tap from the consumer's state; with keep_idle_state, a look with no delivery keeps its state."""
        mine = self.file.read().get(self.consumer, {})
        records, state = self._run_tap(mine)
        logs = [_delivery(stream, record) for stream, record in records if self._selected(stream, record)]
        deliveries = [log for log in logs if self.selection.is_delivery(log)]
        last = mine.get("last_delivery")
        check = Check(self.consumer, None, {"api": Checkpoint(self.consumer, "api", 0, last)} if last else {})
        if deliveries and self.selection.require_all:
            check.waiting_for = self.selection.not_delivered(deliveries)
            if check.waiting_for:
                return check
        if deliveries:
            check.batch = Batch(self.consumer, deliveries, state, self._commit)
        elif keep_idle_state:
            self._save(state, None, 0)
        return check

    @contextmanager
    def poll(self) -> Iterator[Check]:
        with self.file.lock():
            yield self.check(keep_idle_state=True)

    def start_at(self, since: str, *, reset: bool = False) -> bool:
        with self.file.lock():
            consumers = self.file.read()
            if self.consumer in consumers and not reset:
                return False
            text = since.strip()
            if text.lower() == "now":
                start = {"start_date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
            elif text.isdigit():
                start = {"start_element_id": int(text) + 1}
            elif parse_time(text) is not None:
                start = {"start_date": text}
            else:
                msg = f"--since takes now, a log id or an ISO time (2026-12-01T08:00:00Z), got {since!r}"
                raise TriggerError(msg)
            consumers[self.consumer] = {"start": start, "state": None, "deliveries": 0}
            self.file.write(consumers)
            return True

    def reset(self) -> None:
        with self.file.lock():
            consumers = self.file.read()
            consumers.pop(self.consumer, None)
            self.file.write(consumers)

    def listing(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.file.read().items())

    def _selected(self, stream: str, record: dict[str, Any]) -> bool:
        if self.selection.clients and record.get("client_id") not in self.selection.clients:
            return False
        items = self.selection.items(stream)
        return not items or record.get(ITEM_COLUMN[stream]) in items

    def _commit(self, batch: Batch) -> None:
        # by time, then id: the two streams' log ids are separate sequences
        newest = max(batch.deliveries, key=lambda d: (d.created_at or datetime.datetime.min, d.log_id)).describe()
        self._save(batch.horizon, newest, len(batch.deliveries))

    def _save(self, state: dict[str, Any], newest: str | None, count: int) -> None:
        consumers = self.file.read()
        old = consumers.get(self.consumer, {})
        consumers[self.consumer] = {
            "start": old.get("start"),
            "state": state,
            "last_delivery": newest or old.get("last_delivery"),
            "deliveries": old.get("deliveries", 0) + count,
            "committed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        self.file.write(consumers)

    def _run_tap(self, mine: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """The tap's records of the streams the selection reads, and its final state."""
        config = {k: v for k, v in self.config.items() if k not in ("start_date", "start_element_id")}
        config.update(mine.get("start") or {})  # the tap applies it only to a stream with no bookmark yet
        state = mine.get("state")
        with tempfile.TemporaryDirectory(prefix="kondado-trigger-api-") as folder:
            files = {name: Path(folder) / f"{name}.json" for name in ("config", "state", "catalog")}
            files["config"].write_text(json.dumps(config))
            files["state"].write_text(json.dumps(state or {}))
            files["catalog"].write_text(json.dumps(_catalog(self.config, self.selection.streams())))
            command = [*TAP, *(f"--{name}={path}" for name, path in files.items())]
            result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own tap)
        if result.returncode != 0:
            last = [line for line in result.stderr.splitlines() if line.strip()][-1:] or [f"exit {result.returncode}"]
            raise TriggerError(f"reading the API failed: {last[0].strip()}")
        records, final = [], state or {}
        for line in result.stdout.splitlines():
            message = json.loads(line)
            if message.get("type") == "RECORD":
                records.append((message["stream"], message["record"]))
            elif message.get("type") == "STATE":
                final = message["value"]
        return records, final


def _catalog(config: dict[str, Any], streams: tuple[str, ...]) -> dict[str, Any]:
    """The tap's own catalog with only `streams` selected."""
    from tap_kondado.tap import TapKondado  # noqa: PLC0415 (the SDK loads only in --api mode)

    catalog = TapKondado(config={k: config[k] for k in ("key", "token") if k in config}).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return json.loads(json.dumps(catalog, default=str))


def _delivery(stream: str, record: dict[str, Any]) -> Delivery:
    created = parse_time(record.get("createdAt"))
    return Delivery(
        stream=stream,
        log_id=int(record["id"]),
        client_id=record.get("client_id"),
        item_id=record.get(ITEM_COLUMN[stream]),
        item_name=record.get(NAME_COLUMN[stream]),
        rows=record.get("row_count"),
        has_deltas=record.get("has_deltas"),
        created_at=created.astimezone(datetime.timezone.utc).replace(tzinfo=None) if created else None,
    )


def default_checkpoint_file() -> Path:
    """$XDG_STATE_HOME/tap-kondado/trigger-checkpoints.json (~/.local/state/... without it)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tap-kondado" / "trigger-checkpoints.json"


def load_config(path: str | None) -> dict[str, Any]:
    """The tap's config: a JSON file (as `tap-kondado --config`), else TAP_KONDADO_KEY, _TOKEN, _API_URL."""
    if path:
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise TriggerError(f"cannot read the tap's config {path}: {error}") from error
    else:
        names = {"key": "TAP_KONDADO_KEY", "token": "TAP_KONDADO_TOKEN", "api_url": "TAP_KONDADO_API_URL"}
        config = {k: os.environ[v] for k, v in names.items() if os.environ.get(v)}
    if not isinstance(config, dict) or not config.get("key") or not config.get("token"):
        raise TriggerError(
            "--api needs the tap's key and token: --config FILE, or TAP_KONDADO_KEY and TAP_KONDADO_TOKEN"
        )
    return config
