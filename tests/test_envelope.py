"""envelope.parse_page: the two envelopes, HTTP statuses, and which errors they become."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError
from tap_kondado.simulator.data import MODEL_EXAMPLE, PIPELINE_EXAMPLE
from tap_kondado.transport.envelope import parse_page, retry_after_seconds
from tests.responses import page_body, response

RATE_LIMIT = {
    "success": False,
    "error": "RATE_LIMIT_EXCEEDED",
    "message": "Too many requests. Please try again in 60 seconds.",
}


def test_the_docs_example_pages_parse_to_records_and_cursor():
    page = parse_page(response(page_body([PIPELINE_EXAMPLE], 5181910)))
    assert page.records == [PIPELINE_EXAMPLE]
    assert page.next_start_element_id == 5181910
    model = parse_page(response(page_body([MODEL_EXAMPLE], None)))
    # floats are read exactly, as Decimal: 0.201923 stays 0.201923
    assert model.records[0]["execution_time_seconds"] == Decimal("0.201923")
    assert model.next_start_element_id is None


def test_the_parsed_page_is_cached_on_the_response():
    resp = response(page_body([], None))
    assert parse_page(resp) is parse_page(resp)


@pytest.mark.parametrize("inner", [False, True])
def test_rate_limit_answer_at_either_level_names_its_wait(inner):
    body = {"success": True, "data": RATE_LIMIT} if inner else RATE_LIMIT
    with pytest.raises(RateLimitedError) as caught:
        parse_page(response(body))
    assert caught.value.retry_after == 60.0


@pytest.mark.parametrize("inner", [False, True])
def test_other_error_codes_are_fatal_with_code_and_message(inner):
    error = {"success": False, "error": "INVALID_TOKEN", "message": "Invalid key or token."}
    body = {"success": True, "data": error} if inner else error
    with pytest.raises(KondadoAPIError, match="Kondado API error INVALID_TOKEN: Invalid key or token.") as caught:
        parse_page(response(body))
    assert caught.value.code == "INVALID_TOKEN"


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Please try again in 60 seconds.", 60.0),
        ("try again in 2.5 seconds", 2.5),
        ("Tente novamente em 30 segundos", 30.0),
        ("Too many requests.", 60.0),
        (None, 60.0),
    ],
)
def test_retry_after_is_read_from_the_message(message, seconds):
    assert retry_after_seconds(message) == seconds


def test_http_429_honours_retry_after_and_without_it_waits_kondados_penalty():
    with pytest.raises(RateLimitedError) as caught:
        parse_page(response(raw=b"", status=429, headers={"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0
    # not a transient fault: a short backoff would spend its retries inside the penalty
    with pytest.raises(RateLimitedError, match="HTTP 429 .* without a usable Retry-After") as caught:
        parse_page(response(raw=b"", status=429))
    assert caught.value.retry_after == 60.0
    with pytest.raises(RateLimitedError):  # a 429 carrying Kondado's own body
        parse_page(response(RATE_LIMIT, status=429))


@pytest.mark.parametrize("header", ["²", "1.2.3", "Wed, 21 Oct 2026 07:28:00 GMT", "-5"])
def test_a_retry_after_that_is_not_seconds_waits_kondados_penalty(header):
    with pytest.raises(RateLimitedError, match="HTTP 429") as caught:
        parse_page(response(raw=b"", status=429, headers={"Retry-After": header}))
    assert caught.value.retry_after == 60.0


@pytest.mark.parametrize("status", [401, 403])
def test_auth_statuses_are_fatal(status):
    with pytest.raises(KondadoAPIError, match=f"HTTP {status}"):
        parse_page(response(raw=b"", status=status))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status):
    with pytest.raises(KondadoTransientError, match=f"HTTP {status}"):
        parse_page(response(raw=b"<html>oops</html>", status=status))


def test_not_found_is_fatal_and_hints_at_the_url():
    with pytest.raises(KondadoAPIError, match="is api_url right"):
        parse_page(response(raw=b"", status=404))


@pytest.mark.parametrize("raw", [b"", b"<html>Bad Gateway</html>", b'{"success": true, "da'])
def test_a_200_that_is_not_json_is_transient(raw):
    with pytest.raises(KondadoTransientError, match="HTTP 200 with"):
        parse_page(response(raw=raw))
