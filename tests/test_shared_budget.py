"""Real `tap-kondado` processes on one key, against the simulator's limits at compressed time.

Two runs at once, and two runs back to back, spend one budget: no rate-limit answer, every
record exactly once, and the pair as fast as the limits allow (1.2x of the floor here, with
the machine shared; the benchmark holds the tighter figure).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tap_kondado.transport.rate_budget import budget_path
from tap_kondado.transport.rate_limit import Window, earliest_times
from tests.tap_runner import TAP, TEST_KEY, TEST_TOKEN, config_for, parse_messages, run_tap

pytestmark = pytest.mark.slow
STREAMS = ("model_logs", "pipeline_logs")
KONDADO_LIMITS = ((1, 1.0), (20, 60.0))
TIME_SCALE = 0.05  # 1 per 50 ms and 20 per 3 s


def scaled_config(sim, **overrides):
    limits = [{"max_requests": n, "window_seconds": s * TIME_SCALE} for n, s in KONDADO_LIMITS]
    return config_for(sim.url, rate_limits=limits, **overrides)


def floor(requests):
    return earliest_times([Window(n, s * TIME_SCALE) for n, s in KONDADO_LIMITS], requests)[-1]


def span(sim):
    return sim.log[-1]["t"] - sim.log[0]["t"]


def expected_ids(sim, stream, client_id=None):
    return [r["id"] for r in sim.visible(stream, TEST_KEY, client_id)]


def start_tap(config, workdir: Path, name: str, env: dict[str, str]) -> subprocess.Popen:
    """Start a tap writing to files: a pipe nobody reads yet would stall it mid-run."""
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    with (workdir / f"{name}.out").open("w") as out, (workdir / f"{name}.err").open("w") as err:
        return subprocess.Popen([*TAP, "--config", str(path)], stdout=out, stderr=err, env={**os.environ, **env})


def finish(proc: subprocess.Popen, workdir: Path, name: str) -> tuple[str, str]:
    """Wait for a tap started by start_tap; its stdout and stderr."""
    proc.wait(timeout=180)
    return (workdir / f"{name}.out").read_text(), (workdir / f"{name}.err").read_text()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of the test's own, for the taps it starts."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(directory))
    return directory


def test_two_runs_at_once_share_the_budget(make_sim, cache, tmp_path):
    """Two jobs on one key (one account each), started together: they interleave, neither starves."""
    sim = make_sim(pipeline_logs=2400, model_logs=1600, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    env = {"XDG_CACHE_HOME": str(cache)}
    procs = {
        client_id: start_tap(scaled_config(sim, client_ids=[client_id]), tmp_path, f"c{client_id}", env)
        for client_id in (1, 2)
    }
    outputs = {client_id: finish(proc, tmp_path, f"c{client_id}") for client_id, proc in procs.items()}

    for client_id, proc in procs.items():
        assert proc.returncode == 0, outputs[client_id][1][-2000:]
    stats = sim.stats()
    assert stats["rate_limited"] == 0
    for client_id, (stdout, _) in outputs.items():
        messages = parse_messages(stdout)
        for stream in STREAMS:
            ids = [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]
            assert ids == expected_ids(sim, stream, client_id)  # every record once, in order
    assert span(sim) <= 1.2 * floor(len(sim.log))
    # interleaved: while both run, they take turns (the queue is served in arrival order)
    order = "".join(e["client_id"] for e in sim.log)
    overlap = order[max(order.index("1"), order.index("2")) : min(order.rindex("1"), order.rindex("2")) + 1]
    assert len(overlap) > len(order) * 2 / 3
    assert "111" not in overlap
    assert "222" not in overlap


def test_two_runs_back_to_back_share_the_budget(make_sim, cache):
    """The second run knows what the first just spent: no penalty, no fresh minute."""
    sim = make_sim(pipeline_logs=600, model_logs=400, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    first = run_tap(scaled_config(sim))
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_tap(scaled_config(sim))  # a full re-read: as many requests again
    assert second.returncode == 0, second.stderr[-2000:]

    assert sim.stats()["rate_limited"] == 0
    for stream in STREAMS:
        assert first.ids(stream) == expected_ids(sim, stream)
        assert second.ids(stream) == expected_ids(sim, stream)
    assert span(sim) <= 1.2 * floor(len(sim.log)) + 1.0  # + the second process's start-up


def test_without_the_shared_budget_back_to_back_runs_are_told_off(make_sim, cache):
    """What the shared budget prevents (and that turning it off does turn it off)."""
    sim = make_sim(pipeline_logs=600, model_logs=400, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    assert run_tap(scaled_config(sim, shared_rate_budget=False)).returncode == 0
    second = run_tap(scaled_config(sim, shared_rate_budget=False))
    assert second.returncode == 0
    assert sim.stats()["rate_limited"] >= 1
    assert not cache.exists()  # nothing written when it is off


def test_a_penalty_one_run_meets_is_waited_out_by_the_other(make_sim, cache, tmp_path):
    """Two runs at once; one is told to wait 2 s: the other waits it out too, unasked."""
    sim = make_sim(pipeline_logs=1200, model_logs=800, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    sim.schedule({8: "rate_limit:2"})
    env = {"XDG_CACHE_HOME": str(cache)}
    procs = [start_tap(scaled_config(sim, client_ids=[c]), tmp_path, f"c{c}", env) for c in (1, 2)]
    for client_id, proc in zip((1, 2), procs, strict=True):
        _, stderr = finish(proc, tmp_path, f"c{client_id}")
        assert proc.returncode == 0, stderr[-2000:]

    penalized = next(e for e in sim.log if e["outcome"] == "fault:rate_limit")
    after = [e for e in sim.log if e["n"] > penalized["n"]]
    assert {e["client_id"] for e in after[:4]} == {"1", "2"}  # both went on after it ...
    assert after[0]["t"] - penalized["t"] >= 2.0  # ... once the penalty was over, not into it
    assert sim.stats()["rate_limited"] == 0


def test_the_key_is_in_no_cache_file(make_sim, cache):
    sim = make_sim(pipeline_logs=100, model_logs=40, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    sim.schedule({2: "rate_limit:0.2"})  # a penalty written to the file too
    assert run_tap(scaled_config(sim)).returncode == 0
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert len(files) == 2  # the budget and its lock
    for path in files:
        for secret in (TEST_KEY, TEST_TOKEN):
            assert secret not in str(path.relative_to(cache))
            assert secret.encode() not in path.read_bytes()
        assert path.stat().st_mode & 0o777 == 0o600


def test_the_tests_never_touch_the_real_cache():
    assert os.environ["XDG_CACHE_HOME"].startswith(tempfile.gettempdir())


def _damage(cache: Path, sim, how: str) -> Path:
    path = budget_path(sim.url, TEST_KEY).relative_to(budget_path(sim.url, TEST_KEY).parents[1])
    path = cache / path
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "symlink":
        (cache / "elsewhere").write_text("not a budget")
        path.symlink_to(cache / "elsewhere")
    else:
        path.write_bytes(b"\x00" * 512)  # renamed into place before its data reached the disk
    return path


@pytest.mark.parametrize("how", ["nul-bytes", "symlink"])
def test_four_runs_at_once_on_a_damaged_file_draw_no_penalty(make_sim, cache, tmp_path, how):
    """A damaged file was abandoned: 4 taps on one key each paced alone and drew 57-148 penalties."""
    sim = make_sim(pipeline_logs=600, model_logs=400, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    path = _damage(cache, sim, how)
    env = {"XDG_CACHE_HOME": str(cache)}
    procs = [start_tap(scaled_config(sim), tmp_path, f"t{n}", env) for n in range(4)]
    outputs = [finish(proc, tmp_path, f"t{n}") for n, proc in enumerate(procs)]

    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr[-2000:]
        assert "Shared rate budget unavailable" not in stderr
    assert sim.stats()["rate_limited"] == 0
    warned = [stderr for _, stderr in outputs if "set aside as" in stderr]
    assert len(warned) == 1  # the run that found the damage repaired it; the others found it whole
    for stdout, _ in outputs:
        messages = parse_messages(stdout)
        for stream in STREAMS:
            ids = [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]
            assert ids == expected_ids(sim, stream)
    assert json.loads(path.read_text())["format"] == 1


# The tap's own command, with the passwd lookup failing as it does for an arbitrary container uid
# (the test machine's users all have an entry, and another uid cannot read the test's Python).
TAP_WITHOUT_PASSWD_ENTRY = [
    sys.executable,
    "-c",
    "import pwd, sys\n"
    "def no_entry(uid):\n    raise KeyError(f'getpwuid(): uid not found: {uid}')\n"
    "pwd.getpwuid = no_entry\n"
    "from tap_kondado.tap import TapKondado\n"
    "sys.argv[0] = 'tap-kondado'\n"
    "TapKondado.cli()\n",
]


def test_no_home_no_passwd_entry_no_cache_folder_warns_and_paces_alone(make_sim, tmp_path):
    """An arbitrary container uid, no HOME, no XDG_CACHE_HOME: a RuntimeError traceback from Path.home()."""
    sim = make_sim(pipeline_logs=1200, model_logs=600, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(scaled_config(sim)))
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    proc = subprocess.run(
        [*TAP_WITHOUT_PASSWD_ENTRY, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "Shared rate budget unavailable" in line]
    assert len(warnings) == 1
    assert "no cache folder" in warnings[0]
    assert sim.stats()["rate_limited"] == 0
    assert sim.stats()["requests"] > 20  # past the 20-a-window limit: pacing was needed
    messages = parse_messages(proc.stdout)
    for stream in STREAMS:
        ids = [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]
        assert ids == expected_ids(sim, stream)


def _can_mount() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _can_mount(), reason="needs unshare -m (root) to mount a read-only or full folder")
@pytest.mark.parametrize(
    ("mount", "words"),
    [
        ('mount -t tmpfs -o ro tmpfs "$C"', "Read-only file system"),
        ('mount -t tmpfs -o size=4k tmpfs "$C" && mkdir "$C/tap-kondado" && cat /dev/zero > "$C/fill"', "No space"),
    ],
    ids=["read-only", "full-disk"],
)
def test_a_cache_folder_that_cannot_be_written_costs_no_penalty(make_sim, tmp_path, mount, words):
    """The file cannot be repaired: the run paces alone, and alone it is never told off."""
    sim = make_sim(pipeline_logs=1200, model_logs=600, rate_limits=KONDADO_LIMITS, time_scale=TIME_SCALE)
    cache = tmp_path / "cache"
    cache.mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(scaled_config(sim)))
    tap = " ".join(f"'{part}'" for part in TAP)
    script = f'{mount} 2>/dev/null; exec {tap} --config "{config}"'  # cat fails once the disk is full
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],  # a private mount namespace: the mount ends with the tap
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), "C": str(cache)},
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "Shared rate budget unavailable" in line]
    assert len(warnings) == 1, proc.stderr[-2000:]
    assert words in warnings[0]
    assert sim.stats()["rate_limited"] == 0
    assert sim.stats()["requests"] > 20  # past the 20-a-window limit: pacing was needed
