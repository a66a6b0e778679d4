"""Configuration mistakes: every setting with a wrong value gets one line naming it, never its value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_kondado.tap import TapKondado
from tests.tap_runner import TEST_KEY, TEST_TOKEN, bookmark, config_for, run_tap

BASE = {"key": TEST_KEY, "token": TEST_TOKEN}
WINDOW = {"max_requests": 1, "window_seconds": 1}


def errors_of(config: dict) -> list[str]:
    """The messages TapKondado refuses `config` with ([] if it accepts it)."""
    try:
        TapKondado(config=config, parse_env_config=False)
    except ConfigValidationError as exc:
        return list(exc.errors)
    return []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"key": 4913}, "setting 'key' must be string"),
        ({"key": None}, "setting 'key' must be string"),
        ({"key": ""}, "setting 'key' must not be empty"),
        ({"token": 80275512}, "setting 'token' must be string"),
        ({"token": ["a-token"]}, "setting 'token' must be string"),
        ({"token": ""}, "setting 'token' must not be empty"),
        ({"api_url": 443}, "setting 'api_url' must be string"),
        ({"api_url": None}, "setting 'api_url' must be string"),
        # requests cannot parse these: checked before any request
        ({"api_url": "http://127.0.0.1:99999"}, "setting 'api_url' is not a valid URL (check its host and port)"),
        (
            {"api_url": "https://k2.kondado.com.br:abc"},
            "setting 'api_url' is not a valid URL (check its host and port)",
        ),
        ({"api_url": "https://[::1"}, "setting 'api_url' is not a valid URL (check its host and port)"),
        ({"api_url": "https://exa mple.com"}, "setting 'api_url' is not a valid URL (check its host and port)"),
        ({"start_element_id": "5181910"}, "setting 'start_element_id' must be integer"),
        ({"start_element_id": 5.5}, "setting 'start_element_id' must be integer"),
        ({"start_element_id": True}, "setting 'start_element_id' must be integer"),
        ({"start_element_id": -1}, "setting 'start_element_id' must be >= 0"),
        ({"start_element_id": None}, "setting 'start_element_id' must be integer"),
        ({"start_date": 20240101}, "setting 'start_date' must be string or null"),
        (
            {"start_date": ""},
            "setting 'start_date' must be an ISO-8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z",
        ),
        (
            {"start_date": "01/31/2026"},
            "setting 'start_date' is not an ISO-8601 date or date-time; e.g. 2026-01-31 or 2026-01-31T12:00:00Z",
        ),
        (
            {"start_date": "2026-02-30"},
            "setting 'start_date' is not an ISO-8601 date or date-time; e.g. 2026-01-31 or 2026-01-31T12:00:00Z",
        ),
        ({"client_ids": 1}, "setting 'client_ids' must be array or null"),
        ({"client_ids": "1,2"}, "setting 'client_ids' must be array or null"),
        ({"client_ids": []}, "setting 'client_ids' must not be empty"),
        ({"client_ids": [1, 2, 1]}, "setting 'client_ids' must not list the same value twice"),
        ({"client_ids": [1, "2"]}, "setting 'client_ids.1' must be integer"),
        ({"client_ids": [1, None]}, "setting 'client_ids.1' must be integer"),
        ({"request_timeout": "60"}, "setting 'request_timeout' must be number"),
        ({"request_timeout": 0}, "setting 'request_timeout' must be > 0"),
        ({"request_timeout": False}, "setting 'request_timeout' must be number"),
        ({"request_timeout": None}, "setting 'request_timeout' must be number"),
        ({"max_retries": 2.5}, "setting 'max_retries' must be integer"),
        ({"max_retries": "3"}, "setting 'max_retries' must be integer"),
        ({"max_retries": -1}, "setting 'max_retries' must be >= 0"),
        ({"max_retries": None}, "setting 'max_retries' must be integer"),
        ({"rate_limits": {"max_requests": 1}}, "setting 'rate_limits' must be array"),
        ({"rate_limits": None}, "setting 'rate_limits' must be array"),
        ({"rate_limits": ["1/1"]}, "setting 'rate_limits.0' must be object"),
        ({"rate_limits": [{"max_requests": 1}]}, "setting 'rate_limits.0.window_seconds' is required"),
        ({"rate_limits": [{**WINDOW, "max_requests": 0}]}, "setting 'rate_limits.0.max_requests' must be >= 1"),
        ({"rate_limits": [{**WINDOW, "max_requests": "1"}]}, "setting 'rate_limits.0.max_requests' must be integer"),
        (
            {"rate_limits": [WINDOW, {**WINDOW, "window_seconds": 0}]},
            "setting 'rate_limits.1.window_seconds' must be > 0",
        ),
        ({"rate_limits": [{**WINDOW, "burst": 2}]}, "setting 'rate_limits.0' has an unknown field"),
    ],
)
def test_a_wrong_value_is_named_by_setting(overrides, error):
    assert errors_of({**BASE, **overrides}) == [error]


@pytest.mark.parametrize("missing", ["key", "token"])
def test_key_and_token_are_required(missing):
    config = {k: v for k, v in BASE.items() if k != missing}
    assert errors_of(config) == [f"setting '{missing}' is required"]


def test_every_mistake_is_reported_at_once():
    config = {"token": TEST_TOKEN, "client_ids": [], "max_retries": -2}
    assert sorted(errors_of(config)) == [
        "setting 'client_ids' must not be empty",
        "setting 'key' is required",
        "setting 'max_retries' must be >= 0",
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"start_element_id": 0, "client_ids": [4], "request_timeout": 0.5, "max_retries": 0},
        {"client_ids": None},
        {"rate_limits": []},
        {"rate_limits": [{"max_requests": 20, "window_seconds": 60.0}]},
        {"api_url": "https://k2.kondado.com.br/"},
        {"start_date": "2026-01-31"},
        {"start_date": "2026-01-31T09:30:00-03:00"},
        {"start_date": None},
    ],
)
def test_good_configs_are_accepted(overrides):
    assert errors_of({**BASE, **overrides}) == []


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"token": 80275512}, "setting 'token' must be string"),
        ({"key": 4913, "token": ["a-token"]}, "setting 'key' must be string; setting 'token' must be string"),
    ],
)
def test_a_bad_secret_is_named_never_echoed(overrides, error):
    """A token given as a number (a YAML mishap) must not appear in the error."""
    run = run_tap({**config_for("http://127.0.0.1:9"), **overrides})
    assert run.returncode == 1
    assert run.stdout == ""
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert errors == [f"Invalid configuration: {error}"]
    for value in ("80275512", "4913", "a-token"):
        assert value not in run.stderr


def test_a_likely_typo_stops_the_run_before_any_request(sim):
    """`start_dat` would be ignored: a full sync from the first log, hours at Kondado's limits."""
    for config, env, line in (
        (config_for(sim.url, start_dat="2026-12-01"), {}, "setting 'start_dat' is unknown: did you mean 'start_date'?"),
        (config_for(sim.url, clientids=[1]), {}, "setting 'clientids' is unknown: did you mean 'client_ids'?"),
        (
            config_for(sim.url),
            {"TAP_KONDADO_START_DAT": "2026-12-01"},
            "variable TAP_KONDADO_START_DAT is no setting: did you mean TAP_KONDADO_START_DATE?",
        ),
    ):
        run = run_tap(config, env=env)
        assert run.returncode == 1, run.stderr[-2000:]
        errors = [x.split(" | ", 3)[-1] for x in run.stderr.splitlines() if "| ERROR " in x]
        assert errors == [f"Invalid configuration: {line} (set allow_unknown_settings to run anyway)"]
    assert sim.stats()["requests"] == 0
    allowed = run_tap(config_for(sim.url, clientids=[1], allow_unknown_settings=True))
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "did you mean 'client_ids'? (allow_unknown_settings: running anyway)" in allowed.stderr


def test_an_api_url_without_a_scheme_says_so():
    run = run_tap(config_for("k2.kondado.com.br"))
    assert run.returncode == 1
    assert "setting 'api_url' has no scheme: write it as https://k2.kondado.com.br" in run.stderr


def test_unknown_settings_get_one_warning_and_change_nothing(sim):
    """Settings of other taps (far from any of ours)."""
    plain = run_tap(config_for(sim.url))
    run = run_tap(config_for(sim.url, colour="blue", start_element_id=0, page_colour=[1]))
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| WARNING " in line]
    assert warnings == ["Ignoring unknown setting(s): colour, page_colour"]
    for stream in ("pipeline_logs", "model_logs"):
        assert run.ids(stream) == plain.ids(stream) == [r["id"] for r in sim.visible(stream, TEST_KEY)]


def test_start_date_is_a_setting_and_never_the_bookmark(sim):
    """The SDK would make a config `start_date` the starting value of the integer key: here it never is."""
    run = run_tap(config_for(sim.url, start_date="2020-01-01"))  # before every log: a full sync
    assert run.returncode == 0, run.stderr[-2000:]
    assert "WARNING" not in run.stderr
    for stream in ("pipeline_logs", "model_logs"):
        expected = [r["id"] for r in sim.visible(stream, TEST_KEY)]
        assert run.ids(stream) == expected
        assert bookmark(run.final_state, stream) == expected[-1]
        starting = run.states[0]["bookmarks"].get(stream, {}).get("starting_replication_value")
        assert starting in (None, expected[-1])


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "was not found"), ("{bad", "Expecting property name"), ("[1, 2]", "it holds no JSON object")],
)
def test_an_unreadable_config_file_ends_the_run_in_one_line(tmp_path, content, words):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--config", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert f"Invalid configuration: cannot read --config {path}" in errors[0]
    assert words in errors[0]


# --- batch: not offered ---------------------------------------------


def test_batch_is_not_advertised():
    """A BATCH file the SDK announces after its STATE loses records on SIGTERM: the tap offers no batch."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--about", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    info = json.loads(about)
    assert "batch" not in info["capabilities"]
    assert "batch_config" not in info["settings"]["properties"]


def test_a_batch_config_is_refused_in_one_line(sim, tmp_path):
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
    }
    run = run_tap(config_for(sim.url, batch_config=batch_config))
    assert run.returncode == 1
    assert run.messages == []
    assert list(tmp_path.iterdir()) == []
    assert "Traceback" not in run.stderr
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1
    assert errors[0].startswith("Invalid configuration: setting 'batch_config' is not supported")


# --- settings from the environment ------------------------------------


def run_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`tap-kondado --config ENV` with only `env` among the TAP_KONDADO_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TAP_KONDADO_")}
    return subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--config", "ENV", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**base, "TAP_KONDADO_KEY": TEST_KEY, "TAP_KONDADO_TOKEN": TEST_TOKEN, **env},
        cwd=tempfile.gettempdir(),  # no .env file around
    )


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"TAP_KONDADO_REQUEST_TIMEOUT": "60", "TAP_KONDADO_MAX_RETRIES": "3"}, id="numbers"),
        pytest.param({"TAP_KONDADO_REQUEST_TIMEOUT": "2.5"}, id="a-fraction"),
        pytest.param({"TAP_KONDADO_CLIENT_IDS": "1,2"}, id="list-1,2"),
        pytest.param({"TAP_KONDADO_CLIENT_IDS": "[1,2]"}, id="list-[1,2]"),
        pytest.param({"TAP_KONDADO_CLIENT_IDS": " 1, 2 "}, id="list-with-spaces"),
        pytest.param(
            {"TAP_KONDADO_RATE_LIMITS": '[{"max_requests": 100, "window_seconds": 1}]'}, id="rate-limits-json"
        ),
        pytest.param({"TAP_KONDADO_SHARED_RATE_BUDGET": "false"}, id="a-boolean"),
        pytest.param({"TAP_KONDADO_SHARED_RATE_BUDGET": "True"}, id="a-boolean-capitalised"),
        pytest.param({"TAP_KONDADO_LOOKBACK_HOURS": "2", "TAP_KONDADO_START_DATE": "2000-01-01"}, id="hours-date"),
    ],
)
def test_settings_from_the_environment_are_read_as_their_types(sim, env):
    run = run_with_env({"TAP_KONDADO_API_URL": sim.url, "TAP_KONDADO_RATE_LIMITS": "[]", **env})
    assert run.returncode == 0, run.stderr[-2000:]
    ids = [m["record"]["id"] for m in map(json.loads, run.stdout.splitlines()) if m["type"] == "RECORD"]
    client_ids = [1, 2] if "TAP_KONDADO_CLIENT_IDS" in env else [1, 2, 3]
    expected = [r["id"] for s in ("model_logs", "pipeline_logs") for r in sim.visible(s, TEST_KEY)]
    expected = [i for i in expected if sim_client(sim, i) in client_ids]
    assert sorted(ids) == sorted(expected)


def sim_client(sim, record_id: int) -> int:
    return next(r["client_id"] for s in sim.records.values() for r in s if r["id"] == record_id)


@pytest.mark.parametrize(
    ("env", "error"),
    [
        (
            {"TAP_KONDADO_REQUEST_TIMEOUT": "soon"},
            "'request_timeout' from TAP_KONDADO_REQUEST_TIMEOUT must be a number",
        ),
        ({"TAP_KONDADO_MAX_RETRIES": "2.5"}, "'max_retries' from TAP_KONDADO_MAX_RETRIES must be an integer"),
        ({"TAP_KONDADO_CLIENT_IDS": "1,x"}, "'client_ids' from TAP_KONDADO_CLIENT_IDS must be an integer"),
        (
            {"TAP_KONDADO_CLIENT_IDS": "[1,"},
            "'client_ids' from TAP_KONDADO_CLIENT_IDS must be a list like 1,2 or [1,2]",
        ),
        ({"TAP_KONDADO_RATE_LIMITS": "1,1"}, "'rate_limits' from TAP_KONDADO_RATE_LIMITS must be a JSON list"),
        (
            {"TAP_KONDADO_SHARED_RATE_BUDGET": "maybe"},
            "'shared_rate_budget' from TAP_KONDADO_SHARED_RATE_BUDGET must be true or false",
        ),
        ({"TAP_KONDADO_LOOKBACK_HOURS": "100000"}, "setting 'lookback_hours' must be <= 8784"),
        ({"TAP_KONDADO_LOOKBACK_HOURS": "1e20"}, "'lookback_hours' from TAP_KONDADO_LOOKBACK_HOURS must be an integer"),
        ({"TAP_KONDADO_START_DATE": "0001-01-01T00:00:00+14:00"}, "start_date"),
        ({"TAP_KONDADO_STATUS_DAYS": "0"}, "setting 'status_days' must be >= 1"),
        ({"TAP_KONDADO_STATUS_DAYS": "100000"}, "setting 'status_days' must be <= 3660"),
    ],
)
def test_a_wrong_setting_from_the_environment_is_one_line(env, error):
    run = run_with_env(env)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1, run.stderr[-2000:]
    assert error in errors[0]


FINITE = "must hold finite numbers only (no NaN or Infinity)"


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("TAP_KONDADO_LOOKBACK_HOURS", "NaN"),
        ("TAP_KONDADO_STATUS_DAYS", "NaN"),
        ("TAP_KONDADO_REQUEST_TIMEOUT", "NaN"),
        ("TAP_KONDADO_REQUEST_TIMEOUT", "Infinity"),
        ("TAP_KONDADO_REQUEST_TIMEOUT", "-Infinity"),
        ("TAP_KONDADO_REQUEST_TIMEOUT", "1e400"),
        ("TAP_KONDADO_RATE_LIMITS", '[{"max_requests": 1, "window_seconds": NaN}]'),
        ("TAP_KONDADO_RATE_LIMITS", '[{"max_requests": 1, "window_seconds": 1e999}]'),
    ],
)
def test_nan_and_infinity_from_the_environment_are_one_line(sim, variable, text):
    """json.loads takes NaN and Infinity: LOOKBACK_HOURS=NaN crashed every later run, a NaN window paced nothing."""
    run = run_with_env({variable: text, "TAP_KONDADO_API_URL": sim.url})
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1, run.stderr[-2000:]
    name = variable.removeprefix("TAP_KONDADO_").lower()
    assert f"setting '{name}' from {variable} {FINITE}" in errors[0]
    assert sim.request_count == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('"request_timeout": 1e10', "setting 'request_timeout' must be <= 900"),
        ('"request_timeout": NaN', "cannot read --config"),  # the SDK's reader refuses NaN and Infinity
        ('"rate_limits": [{"max_requests": 1, "window_seconds": Infinity}]', "cannot read --config"),
        ('"max_retries": 10000000000', "setting 'max_retries' must be <= 100"),
        ('"rate_limits": [{"max_requests": 1, "window_seconds": 1e10}]', "'rate_limits.0.window_seconds' must be <="),
        (
            '"rate_limits": [{"max_requests": 100000000, "window_seconds": 1}]',
            "'rate_limits.0.max_requests' must be <=",
        ),
    ],
)
def test_absurd_numbers_in_a_json_config_are_one_line(tmp_path, sim, text, error):
    """A 1e10 request_timeout ended in a traceback; NaN passes every bound of a schema (comparisons are false)."""
    config = tmp_path / "config.json"
    config.write_text(f'{{"key": "{TEST_KEY}", "token": "{TEST_TOKEN}", "api_url": "{sim.url}", {text}}}')
    proc = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert error in errors[0]
    assert sim.request_count == 0


@pytest.mark.parametrize("suffix", ["?page=2", "/?", "#top", "/path?x=1#y"])
def test_an_api_url_with_a_query_or_fragment_is_refused_before_any_request(sim, suffix):
    """The endpoint's path was appended after the query: every request went to the wrong path."""
    run = run_tap(config_for(sim.url + suffix))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1, run.stderr[-2000:]
    assert "setting 'api_url' must not hold a query string or fragment" in errors[0]
    assert "page=2" not in errors[0]
    assert sim.request_count == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"request_timeout": float("nan")},
        {"lookback_hours": float("inf")},
        {"rate_limits": [{"max_requests": 1, "window_seconds": float("nan")}]},
        {"rate_limits": [{"max_requests": 1, "window_seconds": Decimal("NaN")}]},
    ],
)
def test_nan_given_in_code_passes_no_bound(overrides):
    """Every comparison with NaN is false, so the schema's bounds alone let it through."""
    name = next(iter(overrides))
    assert errors_of({**BASE, **overrides}) == [f"setting '{name}' {FINITE}"]
