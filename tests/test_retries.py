"""The two retry policies of KondadoStream.request_decorator, in process, without sleeping."""

from __future__ import annotations

import logging

import pytest
import requests

from tap_kondado.client import BACKOFF_CAP_SECONDS, DEFAULT_MAX_RETRIES, RATE_LIMIT_MAX_CONSECUTIVE
from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError, ScrollError
from tap_kondado.tap import TapKondado
from tests.tap_runner import TEST_KEY, TEST_TOKEN

URL_WITH_TOKEN = f"http://127.0.0.1:9/pipeline_logs?key={TEST_KEY}&token={TEST_TOKEN}"


@pytest.fixture
def sleeps(monkeypatch):
    """Every wait backoff asks for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("time.sleep", recorded.append)
    return recorded


def stream(**config):
    tap = TapKondado(
        config={"key": TEST_KEY, "token": TEST_TOKEN, "api_url": "http://127.0.0.1:9", **config},
        parse_env_config=False,
    )
    return tap.streams["pipeline_logs"]


def scripted(*outcomes):
    """A request function that raises or returns each outcome in turn, counting calls."""
    remaining = list(outcomes)

    def request(*args, **kwargs):
        request.calls += 1
        outcome = remaining.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    request.calls = 0
    return request


def transient(text="HTTP 503 Service Unavailable"):
    return KondadoTransientError(text)


def rate_limited(seconds):
    return RateLimitedError(
        f"RATE_LIMIT_EXCEEDED: Too many requests. Please try again in {seconds:g} seconds.", seconds
    )


def assert_backoff(waits, expected):
    """Each wait is the exponential step, jittered to between half of it and all of it."""
    assert len(waits) == len(expected)
    for wait, step in zip(waits, expected, strict=True):
        assert step / 2 <= wait <= step


def test_transient_faults_back_off_exponentially_then_succeed(sleeps):
    request = scripted(transient(), transient(), transient(), "page")
    assert stream().request_decorator(request)() == "page"
    assert request.calls == 4
    assert_backoff(sleeps, [1, 2, 4])


def test_backoff_is_jittered(sleeps):
    for _ in range(20):
        stream().request_decorator(scripted(transient(), "page"))()
    assert len(set(sleeps)) > 1


def test_backoff_is_capped(sleeps):
    faults = [transient()] * 9
    stream(max_retries=9).request_decorator(scripted(*faults, "page"))()
    assert_backoff(sleeps, [1, 2, 4, 8, 16, 32, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS])


@pytest.mark.parametrize(
    ("fault", "described"),
    [
        (transient("HTTP 502 Bad Gateway"), "HTTP 502 Bad Gateway"),
        (
            requests.exceptions.ConnectionError(f"Max retries exceeded with url: {URL_WITH_TOKEN}"),
            "connection to the API failed",
        ),
        (ConnectionResetError(104, "Connection reset by peer"), "connection reset"),
        (requests.exceptions.ReadTimeout(f"Read timed out: {URL_WITH_TOKEN}"), "request timed out"),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), "connection broken mid-answer"),
    ],
)
def test_retries_run_out_with_an_error_naming_the_last_fault(sleeps, caplog, fault, described):
    request = scripted(transient("HTTP 500 Internal Server Error"), transient(), fault)
    with pytest.raises(KondadoAPIError) as raised, caplog.at_level(logging.INFO):
        stream(max_retries=2).request_decorator(request)()
    assert request.calls == 3
    assert str(raised.value).startswith(f"pipeline_logs: giving up after 3 tries; last fault: {described}")
    assert_backoff(sleeps, [1, 2])
    # one warning per retry, naming the fault; never the URL, which carries the token
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert retries[0].startswith("pipeline_logs: HTTP 500 Internal Server Error; retrying in ")
    assert retries[0].endswith(" s (try 2)")
    assert TEST_TOKEN not in caplog.text + str(raised.value)


def test_default_max_retries(sleeps):
    request = scripted(*[transient()] * 20)
    with pytest.raises(KondadoAPIError, match=f"giving up after {DEFAULT_MAX_RETRIES + 1} tries"):
        stream().request_decorator(request)()
    assert request.calls == DEFAULT_MAX_RETRIES + 1


def test_max_retries_zero_tries_once(sleeps):
    request = scripted(transient(), "page")
    with pytest.raises(KondadoAPIError, match="giving up after 1 try;"):
        stream(max_retries=0).request_decorator(request)()
    assert request.calls == 1
    assert sleeps == []


def test_rate_limit_waits_exactly_the_named_seconds(sleeps, caplog):
    request = scripted(rate_limited(60), rate_limited(3), "page")
    with caplog.at_level(logging.INFO):
        assert stream().request_decorator(request)() == "page"
    assert sleeps == [60, 3]  # no jitter, no backoff
    assert request.calls == 3
    lines = [r for r in caplog.records if "RATE_LIMIT_EXCEEDED" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]
    assert lines[0].getMessage() == (
        "pipeline_logs: RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 60 seconds.; "
        "retrying in 60.0 s (try 2)"
    )


def test_rate_limit_is_bounded(sleeps):
    request = scripted(*[rate_limited(2)] * 10)
    with pytest.raises(KondadoAPIError) as raised:
        stream().request_decorator(request)()
    assert request.calls == RATE_LIMIT_MAX_CONSECUTIVE
    assert sleeps == [2] * (RATE_LIMIT_MAX_CONSECUTIVE - 1)
    assert str(raised.value) == (
        f"pipeline_logs: still rate limited after {RATE_LIMIT_MAX_CONSECUTIVE} tries: "
        "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 2 seconds."
    )


def test_rate_limits_and_faults_interleaved(sleeps):
    """A rate-limit answer between faults does not eat into max_retries, nor they into it."""
    request = scripted(transient(), rate_limited(5), transient(), transient(), "page")
    assert stream(max_retries=2).request_decorator(request)() == "page"
    assert request.calls == 5
    assert sleeps[1] == 5
    assert_backoff([sleeps[0]], [1])
    assert_backoff(sleeps[2:], [1, 2])


@pytest.mark.parametrize(
    "fatal",
    [
        KondadoAPIError("Kondado API error INVALID_TOKEN: Invalid key or token.", code="INVALID_TOKEN"),
        KondadoAPIError("HTTP 401 Unauthorized: the API refused the key/token"),
        ScrollError("pipeline_logs: the API returned id 3 after id 9"),
    ],
)
def test_fatal_errors_are_not_retried(sleeps, fatal):
    request = scripted(fatal, "page")
    with pytest.raises(KondadoAPIError) as raised:
        stream().request_decorator(request)()
    assert raised.value is fatal
    assert request.calls == 1
    assert sleeps == []


def test_a_named_wait_over_the_cap_ends_the_run_at_once(sleeps):
    """A wait of a day named by the API must not be slept, four times over."""
    request = scripted(rate_limited(86400), "page")
    with pytest.raises(KondadoAPIError) as raised:
        stream().request_decorator(request)()
    assert request.calls == 1
    assert sleeps == []
    assert str(raised.value) == (
        "pipeline_logs: the API asks to wait 86400 s (RATE_LIMIT_EXCEEDED: Too many requests. "
        "Please try again in 86400 seconds.), more than the 15-minute cap; stopping, run again later"
    )


def test_a_wait_at_the_cap_is_still_waited(sleeps):
    request = scripted(rate_limited(900), "page")
    assert stream().request_decorator(request)() == "page"
    assert sleeps == [900]


def test_a_bare_429_waits_kondados_penalty_and_records_it(sleeps):
    """Recorded in the limiter (so in the shared budget), and counted in waited_seconds."""
    bare_429 = RateLimitedError("HTTP 429 Too Many Requests without a usable Retry-After", 60.0)
    s = stream(shared_rate_budget=False)
    request = scripted(bare_429, "page")
    assert s.request_decorator(request)() == "page"
    assert sleeps == [60.0]
    limiter = s.requests_session.limiter
    assert limiter.waited_seconds == 60.0
    assert limiter._penalty_until > limiter._clock() + 59  # the next acquire waits it out
