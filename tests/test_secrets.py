"""`key` and `token` never leave the tap: not in logs at DEBUG, errors, tracebacks, metrics,
`--about`/`--discover`, nor over plain http to anything but a loopback host.

The secrets used here hold characters that URL encoding changes, so every form of them
(raw, percent-encoded, plus-encoded) is searched for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from tap_kondado.settings import CONFIG_SCHEMA, config_errors
from tests.tap_runner import TAP, TapRun, config_for, json_log_config, parse_messages, run_tap

pytestmark = pytest.mark.slow

KEY = "kéy/4f9a+1c&"
TOKEN = "tök=8e2b 7d5f%/"
TOKENS = {KEY: (TOKEN, [1, 2, 3])}
DEBUG = {"TAP_KONDADO_LOGLEVEL": "DEBUG"}
HTTPS_ONLY = "setting 'api_url' must be an https URL (plain http only for 127.0.0.0/8, ::1 or localhost)"


def secret_forms() -> set[str]:
    """Raw, URL-encoded, and escaped inside a JSON string (structured logs)."""
    encoded = {form for s in (KEY, TOKEN) for form in (s, quote(s, safe=""), quote_plus(s), quote(s))}
    return encoded | {json.dumps(form)[1:-1] for form in encoded}


def assert_no_secret(text: str) -> None:
    leaked = sorted(form for form in secret_forms() if form in text)
    assert not leaked, f"secret printed as {leaked}"


def secret_config(url: str, **overrides: object) -> dict:
    return config_for(url, key=KEY, token=TOKEN, **overrides)


def run_cli(args: list[str], env: dict[str, str] | None = None, code: str | None = None) -> TapRun:
    """The tap's command line (or `code` that ends by running it), with its output."""
    command = [sys.executable, "-c", code] if code else TAP
    proc = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}, check=False
    )
    return TapRun(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


# --- a sync through every fault, at DEBUG ------------------------------------------

# Every other request, so each costs one short backoff (0.5-1 s), not a growing one.
FAULTS = {
    1: "500",
    3: "reset",
    5: "html",
    7: "malformed",
    9: "truncated",
    11: "rate_limit:0.05",
    13: "inner_rate_limit:0.05",
    15: "429:0",
    17: "slow:2",  # longer than request_timeout: a timeout
}


def test_a_debug_sync_through_every_fault_prints_no_secret(make_sim):
    sim = make_sim(pipeline_logs=400, model_logs=200, tokens=TOKENS, faults=FAULTS)
    run = run_tap(secret_config(sim.url, request_timeout=0.5, max_retries=3), env=DEBUG)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in ("pipeline_logs", "model_logs"):
        assert run.ids(stream) == [r["id"] for r in sim.visible(stream, KEY)]
    assert sorted(entry["outcome"] for entry in sim.log if entry["outcome"] != "served") == sorted(
        f"fault:{kind.split(':')[0]}" for kind in FAULTS.values()
    )
    # The leaks this guards against were really there to be made: URLs at DEBUG, metrics, retries.
    assert '"GET /model_logs?start_element_id=0&key=***&token=*** HTTP/1.1" 500' in run.stderr
    assert "METRIC: " in run.stderr
    assert "request timed out; retrying" in run.stderr
    assert_no_secret(run.stdout + run.stderr)


# --- failed runs: one-line errors and tracebacks ---------------------------------

# A transport that fails the way requests does, quoting the whole URL (and so the token).
FAILING_TRANSPORT = """
import requests
from tap_kondado.tap import TapKondado
def send(self, request, **kwargs):
    raise requests.exceptions.{error}(f"No connection adapters were found for {{request.url!r}}")
requests.Session.send = send
TapKondado.cli()
"""


@pytest.mark.parametrize(
    ("faults", "overrides", "last_line"),
    [
        pytest.param(
            {1: "500", 2: "500"},
            {"max_retries": 1},
            "model_logs: giving up after 2 tries; last fault: HTTP 500 Internal Server Error",
            id="retries-run-out",
        ),
        pytest.param(
            {1: "error:QUOTA_EXCEEDED"},
            {},
            "Kondado API error QUOTA_EXCEEDED: Simulated error.",
            id="fatal-api-error",
        ),
        pytest.param(
            {1: {"kind": "body", "body": json.dumps({"success": False, "error": "BAD", "message": f"{TOKEN}?"})}},
            {},
            "Kondado API error BAD: ***?",
            id="api-message-echoing-the-token",
        ),
        pytest.param(
            {1: "slow:3"},
            {"max_retries": 0, "request_timeout": 0.3},
            "model_logs: giving up after 1 try; last fault: request timed out",
            id="timeout",
        ),
    ],
)
def test_a_failed_run_at_debug_prints_no_secret(make_sim, faults, overrides, last_line):
    sim = make_sim(pipeline_logs=60, model_logs=30, tokens=TOKENS, faults=faults)
    run = run_tap(secret_config(sim.url, **overrides), env=DEBUG)
    assert run.returncode == 1
    assert run.stderr.rstrip().splitlines()[-1].endswith(f"| ERROR    | tap-kondado                    | {last_line}")
    assert_no_secret(run.stdout + run.stderr)


def test_an_https_handshake_failure_prints_no_secret(sim):
    """requests' SSLError quotes the URL with its query string; the tap names the fault only."""
    url = sim.url.replace("http://", "https://")
    run = run_tap(secret_config(url, max_retries=0), env=DEBUG)
    assert run.returncode == 1
    host = url.removeprefix("https://")  # named apart from a refused connection
    assert run.stderr.rstrip().endswith(f"giving up after 1 try; last fault: TLS handshake with {host} failed")
    assert_no_secret(run.stdout + run.stderr)


@pytest.mark.parametrize("error", ["InvalidSchema", "ConnectionError"])
def test_a_request_exception_quoting_the_url_prints_no_secret(tmp_path, error):
    """An unexpected one ends in the SDK's traceback, a transient one in the tap's one line: both masked."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(secret_config("http://127.0.0.1:9", max_retries=0)))
    run = run_cli(["--config", str(config)], env=DEBUG, code=FAILING_TRANSPORT.format(error=error))
    assert run.returncode == 1
    if error == "InvalidSchema":  # the traceback and its message are printed, masked
        assert "Traceback (most recent call last)" in run.stderr
        assert "/model_logs?start_element_id=0&key=***&token=***'" in run.stderr
    else:
        assert run.stderr.rstrip().endswith("last fault: connection to the API failed")
    assert_no_secret(run.stdout + run.stderr)


def test_structured_json_logs_print_no_secret(sim, tmp_path):
    """With the SDK's JSON log formatter the secret would be escaped ("t\\u00f6k"): masked all the same."""
    log_config = json_log_config(tmp_path, "DEBUG")
    sim.tokens.update(TOKENS)
    echo = {"success": False, "error": "BAD", "message": f"{TOKEN} / {KEY}"}
    sim.schedule({1: {"kind": "body", "body": json.dumps(echo)}})
    run = run_tap(secret_config(sim.url), env={"SINGER_SDK_LOG_CONFIG": str(log_config)})
    assert run.returncode == 1
    last = json.loads(run.stderr.strip().splitlines()[-1])
    assert last["message"] == "Kondado API error BAD: *** / ***"
    assert_no_secret(run.stdout + run.stderr)


# --- what the tap describes of itself -----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--about"], ["--about", "--format", "json"], ["--about", "--format", "markdown"], ["--discover"], []],
    ids=["about", "about-json", "about-markdown", "discover", "sync-from-env"],
)
def test_about_discover_and_env_config_print_no_secret(sim, args):
    env = {
        **DEBUG,
        "TAP_KONDADO_KEY": KEY,
        "TAP_KONDADO_TOKEN": TOKEN,
        "TAP_KONDADO_API_URL": sim.url,
        "TAP_KONDADO_RATE_LIMITS": "[]",
    }
    sim.tokens.update(TOKENS)
    run = run_cli(["--config", "ENV", *args], env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout
    assert_no_secret(run.stdout + run.stderr)


def test_key_and_token_are_marked_secret():
    about = json.loads(run_cli(["--about", "--format", "json"]).stdout)
    for name in ("key", "token"):
        assert about["settings"]["properties"][name].get("secret") is True
        assert about["settings"]["properties"][name].get("writeOnly") is True
        assert CONFIG_SCHEMA["properties"][name]["secret"] is True
    assert set(CONFIG_SCHEMA["required"]) == {"key", "token"}


# --- plain http only to loopback ----------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "accepted"),
    [
        ("https://k2.kondado.com.br", True),
        ("https://k2.kondado.com.br/", True),
        ("http://127.0.0.1:8765", True),
        ("http://127.42.0.9", True),
        ("http://[::1]:8765", True),
        ("http://localhost:8765", True),
        ("http://LOCALHOST", True),
        ("http://k2.kondado.com.br", False),
        ("http://0.0.0.0:8765", False),
        ("http://10.0.0.1", False),
        ("http://[::ffff:127.0.0.1]", False),
        ("http://localhost.example.com", False),
        ("http://127.0.0.1.nip.io", False),
        ("http://127.0.0.1@example.com", False),
        ("ftp://127.0.0.1", False),
        ("https://", False),
        ("", False),
    ],
)
def test_api_url_must_be_https_except_on_loopback(api_url, accepted):
    errors = config_errors(secret_config(api_url), CONFIG_SCHEMA)
    assert errors == ([] if accepted else [f"{HTTPS_ONLY}: the token travels in every URL"])


@pytest.mark.parametrize("api_url", ["k2.kondado.com.br", "k2.kondado.com.br/", "localhost:8765"])
def test_an_api_url_without_a_scheme_says_so(api_url):
    errors = config_errors(secret_config(api_url), CONFIG_SCHEMA)
    assert errors == [f"setting 'api_url' has no scheme: write it as https://{api_url}"]


def test_plain_http_elsewhere_is_refused_before_any_request(sim):
    """0.0.0.0 is no loopback address, yet reaches this host: a request would show up in the log."""
    run = run_tap(secret_config(sim.url.replace("127.0.0.1", "0.0.0.0")), env=DEBUG)
    assert run.returncode == 1
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert errors == [f"Invalid configuration: {HTTPS_ONLY}: the token travels in every URL"]
    assert sim.log == []
    assert_no_secret(run.stdout + run.stderr)


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a redirect (`server.location`) or records it (no location)."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        location = self.server.location  # type: ignore[attr-defined]
        self.send_response(301 if location else 200)
        if location:
            self.send_header("Location", location + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(location: str | None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths, server.location = [], location  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_redirect_is_not_followed():
    """A redirect that keeps the query string (a proxy's usual http<->https hop) would
    hand the token to whatever host it names, over whatever scheme: the tap stops instead."""
    elsewhere = _serve(None)
    redirecting = _serve(f"http://127.0.0.1:{elsewhere.server_address[1]}")
    try:
        url = f"http://127.0.0.1:{redirecting.server_address[1]}"
        run = run_tap(secret_config(url, max_retries=0), env=DEBUG)
    finally:
        for server in (redirecting, elsewhere):
            server.shutdown()
            server.server_close()
    assert elsewhere.paths == []
    assert len(redirecting.paths) == 1
    assert run.returncode == 1
    assert run.stderr.rstrip().endswith(
        "HTTP 301 Moved Permanently: a redirect (to http://127.0.0.1:"
        f"{elsewhere.server_address[1]}), which the tap does not follow: the token travels in the URL. "
        "Is api_url right?"
    )
    assert_no_secret(run.stdout + run.stderr)


def test_secret_forms_cover_what_requests_sends():
    """The forms searched for include the one requests puts in URLs."""
    from requests.models import RequestEncodingMixin

    sent = RequestEncodingMixin._encode_params({"key": KEY, "token": TOKEN})
    assert sent == f"key={quote_plus(KEY)}&token={quote_plus(TOKEN)}"
    assert {quote_plus(KEY), quote_plus(TOKEN)} <= secret_forms()
