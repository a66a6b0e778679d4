"""One rate budget per API host and key, shared by every tap-kondado process on the machine.

Kondado limits per key and IP, so two runs on one machine (back to back, or at once)
spend one budget. The recent request stamps and the penalty's end live in a small JSON
file under `$XDG_CACHE_HOME/tap-kondado/`, named by a hash of host and key (the file
holds no secret), mode 0600.

Why `fcntl.flock` on a side `.lock` file, and the data replaced by rename:
- the kernel frees a flock when its holder dies, however it dies (SIGKILL included);
- the data file is swapped in whole (`os.replace`), so a process killed mid-write leaves
  the old file or the new one, never half of one;
- stdlib only, one tiny file, no journal: sqlite's `BEGIN IMMEDIATE` would give the same
  lock at the cost of a database and its side files, and `pyrate-limiter`'s buckets
  cannot re-stamp a request when its answer arrives, which this tap's pacing relies on.

Fairness: a process that must wait leaves a reservation in the file (the moment it will
send); later arrivals queue behind earlier reservations, so concurrent processes
interleave in arrival order and none starves. A request in flight counts as sent *now*
until its answer re-stamps it (the server saw it somewhere in between), but never past
`answer_timeout` after it left: no answer can take longer. A reservation nobody renewed
a window after its moment, or a request in flight past that bound, is left over from a
process that stopped using the file (killed, fallen back to its own pacing, or its pid
reused) and is dropped, so nothing stalls the other runs for long. Stamps are wall
clock (monotonic clocks are per process); anything written "in the future" beyond a
small tolerance is from before a clock step backwards and is dropped, so a step costs a
window at most. Nothing read from the file is trusted beyond what a tap writes: a
penalty is capped at 15 minutes from now (a longer wait the API names ends the run), a
reservation further out than any queue could place it is dropped.

The in-process limiter, on its monotonic clock, notes this process's own requests all
along and is a floor under the file: a wall-clock step forward (which makes the file's
stamps look old) cannot make this process burst, and if the file fails the run paces on
from its own recent requests. A file that cannot be read as a budget (garbage, NUL bytes
from a power cut, JSON of another shape, a symlink in its place) is set aside as
`<name>.corrupt` and replaced by a fresh one, with one warning: every run goes on
sharing. Only a file that cannot be written (read-only folder, full disk, a stuck lock)
makes the run pace alone, with one warning.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import json
import logging
import math
import os
import secrets
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tap_kondado.transport.rate_limit import LOG_WAITS_LONGER_THAN, SlidingWindowLimiter, Window, ready_at

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

logger = logging.getLogger("tap-kondado.rate_budget")

FORMAT = 1
CLOCK_TOLERANCE = 1.0  # seconds a stamp may lie in the future before it counts as a clock step
LOCK_TIMEOUT = 10.0  # seconds; the lock is held for microseconds, so longer means a stuck holder
MAX_SLOTS = 512  # stamps kept at most: the file stays a few kB whatever happens
MAX_ANSWER_SECONDS = 15 * 60.0  # default bound on a request in flight
MAX_PENALTY_SECONDS = 15 * 60.0  # as client.MAX_NAMED_WAIT_SECONDS: a longer wait the API names ends the run
_EPSILON = 1e-9

# one slot: [stamp or reserved time, state, pid, queue number, when written]
_WAITING, _IN_FLIGHT, _DONE = "w", "o", "d"


class StoreError(Exception):
    """The shared file cannot be used: the run paces on its own."""


def budget_path(api_url: str, key: str) -> Path:
    """The file for one API host and key: `$XDG_CACHE_HOME/tap-kondado/budget-<hash>.json`.

    StoreError when there is no cache folder to name (no XDG_CACHE_HOME, and no HOME nor
    passwd entry: an arbitrary container uid).
    """
    cache = os.environ.get("XDG_CACHE_HOME", "")
    try:
        base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    except (RuntimeError, KeyError):  # Path.home(): no HOME and no passwd entry for this uid
        raise StoreError("no cache folder: XDG_CACHE_HOME and HOME are unset, and this user has no home") from None
    parts = urlsplit(api_url)
    host = f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    digest = hashlib.sha256(f"{host}\n{key}".encode()).hexdigest()[:32]
    return base / "tap-kondado" / f"budget-{digest}.json"


class SharedRateBudget:
    """The limiter's interface (acquire, release, penalize, waited_seconds) over the shared file."""

    def __init__(
        self,
        windows: Iterable[Window],
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lock_timeout: float = LOCK_TIMEOUT,
        answer_timeout: float = MAX_ANSWER_SECONDS,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        """Budget `windows` in the file at `path`; `clock` (wall time) and `sleep` injectable for tests.

        `answer_timeout`: the longest a request can stay in flight (the tap's request_timeout).
        `monotonic`: the in-process floor's clock (default: time.monotonic, or `clock` if injected).
        """
        self.windows = tuple(windows)
        self._answer_timeout = answer_timeout
        self.path = path
        self._lock_path = path.with_suffix(".lock")
        self._clock, self._sleep, self._lock_timeout = clock, sleep, lock_timeout
        # The fallback paces this process alone: its own monotonic clock, immune to clock steps.
        local_clock = monotonic or (time.monotonic if clock is time.time else clock)
        self._local = SlidingWindowLimiter(self.windows, clock=local_clock, sleep=sleep)
        self._shared = True
        self._waited = 0.0
        self._queue_lock = threading.Lock()  # this process's requests leave one at a time
        self._file_lock = threading.Lock()  # flock does not exclude threads sharing one descriptor
        self._fd: int | None = None
        self._repaired = False
        self._pid = os.getpid()
        self._ids = (f"{self._pid}.{secrets.token_hex(3)}.{n}" for n in itertools.count(1))
        self._horizon = max((w.seconds for w in self.windows), default=0.0) * 1.05 + CLOCK_TOLERANCE
        self._depth = max(MAX_SLOTS, 2 * max((w.max_requests for w in self.windows), default=0))

    @property
    def waited_seconds(self) -> float:
        """Seconds this process waited for a slot or a penalty, shared or not."""
        return self._waited + self._local.waited_seconds

    @waited_seconds.setter
    def waited_seconds(self, value: float) -> None:
        """Waits spent outside acquire (a penalty slept by the retry policy) are added here."""
        self._waited = value - self._local.waited_seconds

    @property
    def shared(self) -> bool:
        """False once the file failed and the run fell back to its own limiter."""
        return self._shared

    # --- the limiter's interface ----------------------------------------------------

    def acquire(self) -> tuple[str, list[float]] | list[float]:
        """Wait until a request fits every window of the shared budget and no penalty runs."""
        with self._queue_lock:
            if not self._shared:
                return self._local.acquire()
            slot_id = next(self._ids)
            logged = False
            while True:
                floor = self._local.wait_seconds()  # this process's own pace, immune to wall-clock steps
                if floor > _EPSILON:
                    if floor > LOG_WAITS_LONGER_THAN and not logged:
                        logger.info("Rate limit: waiting %.1f s to stay within this run's own pace", floor)
                        logged = True
                    self._sleep(floor)
                    self._waited += floor
                    continue
                try:
                    wait, reason = self._take(slot_id)
                except StoreError as exc:
                    self._give_up(exc)
                    return self._local.acquire()
                if wait <= _EPSILON:
                    return slot_id, self._local.sent()
                if wait > LOG_WAITS_LONGER_THAN and not logged:
                    logger.info("Rate limit: waiting %.1f s %s", wait, reason)
                    logged = True
                self._sleep(wait)
                self._waited += wait
                # Loop: the file may have changed meanwhile (an answer re-stamped, a penalty).

    def release(self, slot: tuple[str, list[float]] | list[float]) -> None:
        """Re-stamp the slot when its answer (or failure) arrives."""
        if isinstance(slot, list):
            self._local.release(slot)
            return
        slot_id, local_slot = slot
        self._local.release(local_slot)
        if not self._shared:  # the file failed while this request was in flight
            return
        try:
            with self._locked() as state:
                entry = state["slots"].get(slot_id)
                if entry is not None:
                    now = self._clock()
                    entry[0], entry[1], entry[4] = max(entry[0], now), _DONE, now
        except StoreError as exc:
            self._give_up(exc)

    def penalize(self, seconds: float) -> None:
        """The API answered RATE_LIMIT_EXCEEDED: no process sends until `seconds` from now."""
        seconds = min(seconds, MAX_PENALTY_SECONDS)
        self._local.penalize(seconds)
        if not self._shared:
            return
        try:
            with self._locked() as state:
                now = self._clock()
                until = max(state["penalty"][0], now + seconds)
                state["penalty"] = [until, now]
        except StoreError as exc:
            self._give_up(exc)

    # --- the file -------------------------------------------------------------------

    def _take(self, slot_id: str) -> tuple[float, str]:
        """Send now if the budget allows (returns 0), else reserve the earliest moment and return the wait."""
        with self._locked() as state:
            now = self._clock()
            slots = state["slots"]
            mine = slots.pop(slot_id, None)
            queue_number = mine[3] if mine else state["next"]
            stamps = []
            for stamp, kind, _pid, number, _written in slots.values():
                if kind == _DONE:
                    stamps.append(stamp)
                elif kind == _IN_FLIGHT:  # the server sees it by its answer, at the latest
                    stamps.append(min(max(stamp, now), stamp + self._answer_timeout))
                elif number < queue_number:  # a reservation ahead in the queue
                    stamps.append(max(stamp, now))
            at, window = ready_at(self.windows, stamps, now)
            penalty_until = state["penalty"][0]
            reason = f"to stay within {window}"
            if penalty_until > at:
                at, reason = penalty_until, "until the key's rate-limit penalty ends"
            if mine is None:
                state["next"] += 1
            if at - now <= _EPSILON:
                slots[slot_id] = [now, _IN_FLIGHT, self._pid, queue_number, now]
                return 0.0, reason
            slots[slot_id] = [at, _WAITING, self._pid, queue_number, now]
            return at - now, reason

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The file's state under the cross-process lock; written back when the block ends."""
        with self._file_lock:
            fd = self._lock_fd()
            self._flock(fd)
            try:
                state = self._read()
                yield state
                self._write(state)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise StoreError(f"cannot open {self._lock_path}: {exc.strerror or exc}") from None
        return self._fd

    def _flock(self, fd: int) -> None:
        """Take the lock; a holder stuck for `lock_timeout` s makes the run pace on its own."""
        deadline = time.monotonic() + self._lock_timeout
        pause = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StoreError(f"cannot lock {self._lock_path}: {exc.strerror or exc}") from None
            else:
                return
            if time.monotonic() > deadline:
                raise StoreError(f"{self._lock_path} stayed locked for over {self._lock_timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def _read(self) -> dict[str, Any]:
        """The state, pruned: no dead process's reservation, no stamp from before a clock step."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
            raw = None  # a symlink in its place
        else:
            try:
                with os.fdopen(fd, "rb") as file:
                    raw = file.read()
            except OSError as exc:
                raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        state = _parse(raw)
        if state is None:
            state = self._repair("a symlink" if raw is None else "not a budget file")
        self._prune(state)
        return state

    def _repair(self, what: str) -> dict[str, Any]:
        """Set a damaged file aside as `.corrupt` (for a look) and start a fresh budget in its place."""
        aside = self.path.with_name(f"{self.path.name}.corrupt")
        try:
            os.replace(self.path, aside)  # a symlink is moved, never followed
        except OSError as exc:
            raise StoreError(f"{self.path} is damaged and cannot be replaced: {exc.strerror or exc}") from None
        if not self._repaired:
            self._repaired = True
            logger.warning(
                "Shared rate budget file %s was %s (damaged); set aside as %s and replaced by a fresh one",
                self.path,
                what,
                aside.name,
            )
        return _empty()

    def _prune(self, state: dict[str, Any]) -> None:
        now = self._clock()
        future = now + CLOCK_TOLERANCE
        until, written = state["penalty"]
        if until <= now or written > future:
            state["penalty"] = [0.0, 0.0]
        elif until > now + MAX_PENALTY_SECONDS:  # no tap writes a longer one
            state["penalty"] = [now + MAX_PENALTY_SECONDS, written]
        # the furthest a live queue can place a reservation: past the longest penalty, a window per waiter
        furthest = now + MAX_PENALTY_SECONDS + self._horizon * (1 + len(state["slots"]))
        kept: dict[str, list] = {}
        alive: dict[int, bool] = {}
        for slot_id, entry in state["slots"].items():
            stamp, kind, pid, _number, written = entry
            if written > future or (kind != _WAITING and stamp > future):
                continue  # written after "now": the clock stepped back since
            if kind == _WAITING and not now - self._horizon <= stamp <= furthest:
                continue  # a live waiter renews its reservation when its moment comes
            if kind == _IN_FLIGHT and stamp + self._answer_timeout < now - self._horizon:
                continue  # no answer takes that long: its process stopped using the file
            if kind != _DONE and not alive.setdefault(pid, _alive(pid)):
                if kind == _WAITING:
                    continue  # its process died waiting
                entry[1] = kind = _DONE  # died in flight: its send stamp is all we know
            if kind == _DONE and stamp < now - self._horizon:
                continue
            kept[slot_id] = entry
        if len(kept) > self._depth:  # only the most recent matter to any window
            kept = dict(sorted(kept.items(), key=lambda item: item[1][0])[-self._depth :])
        state["slots"] = kept

    def _write(self, state: dict[str, Any]) -> None:
        """Replace the file whole: a process killed mid-write leaves the old one intact."""
        state["written"] = self._clock()
        data = json.dumps(state, separators=(",", ":")).encode()
        tmp = self.path.with_name(f"{self.path.name}.{self._pid}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)  # else a power cut can leave the renamed file full of NUL bytes
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _give_up(self, exc: StoreError) -> None:
        """One warning, then this run paces on its own (it never fails for the file)."""
        if self._shared:
            self._shared = False
            logger.warning(
                "Shared rate budget unavailable (%s); this run paces its own requests only. "
                "Remove the file to share the key's budget again, or set shared_rate_budget to false.",
                exc,
            )
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _empty() -> dict[str, Any]:
    return {"format": FORMAT, "next": 1, "penalty": [0.0, 0.0], "slots": {}, "written": 0.0}


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    """The file's JSON, checked field by field; None for anything else (a damaged file)."""
    if raw is None:
        return None
    if not raw.strip():
        return _empty()
    try:
        state = json.loads(raw)
        ok = (
            state.get("format") == FORMAT
            and isinstance(state.get("next"), int)
            and _numbers(state.get("penalty"), 2)
            and isinstance(state.get("slots"), dict)
            and all(_slot(entry) for entry in state["slots"].values())
        )
    except (ValueError, AttributeError, TypeError):
        ok = False
    return state if ok else None


def _numbers(value: object, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )


def _slot(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and _numbers([entry[0], entry[4]], 2)
        and entry[1] in (_WAITING, _IN_FLIGHT, _DONE)
        and isinstance(entry[2], int)
        and isinstance(entry[3], int)
    )


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine, as the budget is)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
