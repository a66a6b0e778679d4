"""The tap's settings: their schema, and checks that name the setting, never its value.

The SDK's own validation messages echo the offending value, which may be the token.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from jsonschema import Draft7Validator
from singer_sdk import typing as th
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.exceptions import ConfigValidationError

from tap_kondado.client import DEFAULT_API_URL, DEFAULT_MAX_RETRIES
from tap_kondado.status.memory import DEFAULT_STATUS_DAYS
from tap_kondado.times import parse_start_date
from tap_kondado.transport.rate_limit import DEFAULT_RATE_LIMITS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jsonschema import ValidationError

MAX_LOOKBACK_HOURS = 24 * 366  # a year: no log is edited later, and far from timedelta's limits
# Bounds far above any real use, well inside what timers, sockets and the budget file handle.
MAX_REQUEST_TIMEOUT = 15 * 60  # seconds: the longest wait the tap accepts anywhere (an API-named penalty too)
MAX_RETRIES = 100
MAX_STATUS_DAYS = 3660  # ten years: far past any log Kondado keeps, far from timedelta's limits
MAX_WINDOW_REQUESTS = 1000  # the shared budget file keeps that many stamps per window
MAX_WINDOW_SECONDS = 24 * 3600

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "key",
        th.StringType(min_length=1),
        required=True,
        secret=True,
        title="Key",
        description="Identifier of the Kondado API token (Settings -> Tokens)",
    ),
    th.Property(
        "token",
        th.StringType(min_length=1),
        required=True,
        secret=True,
        title="Token",
        description="Secret of the Kondado API token, shown once when it is created",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description="Base URL of the Kondado API; https, or http on a loopback host",
    ),
    th.Property(
        "start_element_id",
        th.IntegerType(minimum=0),
        default=0,
        title="Start element id",
        description="First sync emits logs with id >= this; ignored once a stream has a bookmark",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="First sync of each stream (and client_ids account) emits logs created at or after "
        "this, found in a few requests; UTC, a date alone is midnight; ignored once a stream has a bookmark",
    ),
    th.Property(
        "lookback_hours",
        th.IntegerType(minimum=0, maximum=MAX_LOOKBACK_HOURS),
        default=0,
        title="Lookback hours",
        description="Each run also re-reads the logs created this many whole hours before the newest one "
        f"loaded and emits those changed since (updatedAt); 0: off, at most {MAX_LOOKBACK_HOURS}",
    ),
    th.Property(
        "client_ids",
        th.ArrayType(th.IntegerType),
        title="Client ids",
        description="Only these accounts, each scrolled with its own bookmark; "
        "absent: every account the token sees, in one scroll",
    ),
    th.Property(
        "status_days",
        th.IntegerType(minimum=1, maximum=MAX_STATUS_DAYS),
        default=DEFAULT_STATUS_DAYS,
        title="Status days",
        description="The status streams ask about every pipeline and model whose newest log is at most this "
        "many days old, remembered in the state from earlier runs too: one request per id per run; "
        f"at most {MAX_STATUS_DAYS}",
    ),
    th.Property(
        "request_timeout",
        th.NumberType(exclusive_minimum=0, maximum=MAX_REQUEST_TIMEOUT),
        default=60,
        title="Request timeout",
        description=f"Seconds to wait for each HTTP answer, at most {MAX_REQUEST_TIMEOUT}",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0, maximum=MAX_RETRIES),
        default=DEFAULT_MAX_RETRIES,
        title="Max retries",
        description="Retries of a request after a transient fault (5xx, timeout, "
        f"reset, non-JSON body), with exponential backoff; at most {MAX_RETRIES}",
    ),
    th.Property(
        "rate_limits",
        th.ArrayType(
            th.ObjectType(
                th.Property("max_requests", th.IntegerType(minimum=1, maximum=MAX_WINDOW_REQUESTS), required=True),
                th.Property(
                    "window_seconds", th.NumberType(exclusive_minimum=0, maximum=MAX_WINDOW_SECONDS), required=True
                ),
                additional_properties=False,
            )
        ),
        default=[dict(w) for w in DEFAULT_RATE_LIMITS],
        title="Rate limits",
        description="Sliding windows every request must fit, shared by all streams: "
        f"at most max_requests (<= {MAX_WINDOW_REQUESTS}) per window_seconds (<= {MAX_WINDOW_SECONDS}). "
        "Default: Kondado's 1/s and 20/min",
    ),
    th.Property(
        "shared_rate_budget",
        th.BooleanType,
        default=True,
        title="Shared rate budget",
        description="Pace against one budget shared by every tap-kondado process on this machine "
        "using the same key and API host (a small file under $XDG_CACHE_HOME/tap-kondado/); "
        "false: this run paces only its own requests",
    ),
    th.Property(
        "allow_unknown_settings",
        th.BooleanType,
        default=False,
        title="Allow unknown settings",
        description="Run even when a setting (or a TAP_KONDADO_ variable) is unknown but one edit away from a "
        "known one; false: such a likely typo stops the run before any request",
    ),
).to_dict()

# What th cannot express: array bounds, and a non-required setting that refuses null.
CONFIG_SCHEMA["properties"]["client_ids"].update({"minItems": 1, "uniqueItems": True})
# Settings with a default: null is no value the tap could use, so it is refused like any
# other wrong type (only client_ids means something by null: every account).
for _name in (
    "api_url",
    "start_element_id",
    "lookback_hours",
    "status_days",
    "request_timeout",
    "max_retries",
    "rate_limits",
    "shared_rate_budget",
    "allow_unknown_settings",
):
    _types = CONFIG_SCHEMA["properties"][_name]["type"]
    CONFIG_SCHEMA["properties"][_name]["type"] = [t for t in _types if t != "null"]

_LOOPBACK_NAMES = {"localhost"}
BATCH_REFUSED = "setting 'batch_config' is not supported: this tap writes RECORD messages only; remove the setting"


def config_errors(config: Mapping[str, Any], schema: dict) -> list[str]:
    """Every problem with `config`, one line each, naming the setting only."""
    # JSON readers take NaN and Infinity, and every comparison with NaN is false: the schema's bounds pass it.
    own = schema.get("properties", {})
    errors = [
        f"setting '{k}' must hold finite numbers only (no NaN or Infinity)" for k in own if not _finite(config.get(k))
    ]
    if errors:
        return errors
    errors = [_describe(e) for e in Draft7Validator(schema).iter_errors(dict(config))]
    if not errors:
        errors = _api_url_errors(config.get("api_url", DEFAULT_API_URL)) + _start_date_errors(config.get("start_date"))
    return errors


def env_config(schema: dict, prefix: str) -> dict[str, Any]:
    """Settings from `TAP_KONDADO_<NAME>` variables, each read as its schema type.

    The SDK passes a number as a string ("must be number") and reads a list of integers
    only as JSON ("[1,2]"; "1,2" is a traceback). Here numbers are numbers, a list is
    "1,2" or "[1,2]", and a value of the wrong type is one line naming the variable.
    The SDK still reads its own settings (stream maps, flattening) and the .env file.
    """
    own = CONFIG_SCHEMA["properties"]
    sdk_schema = {"properties": {k: v for k, v in schema.get("properties", {}).items() if k not in own}}
    config = parse_environment_config(sdk_schema, prefix)
    errors = []
    for name, prop in own.items():
        variable = prefix + name.upper()
        if variable in os.environ:
            try:
                config[name] = _from_text(os.environ[variable], prop)
            except ValueError as exc:
                errors.append(f"setting '{name}' from {variable} {exc}")
    if errors:
        raise ConfigValidationError(errors[0], errors=errors)
    return config


_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _from_text(text: str, prop: dict) -> Any:
    """An environment variable's text as the type `prop` declares."""
    types = prop.get("type", [])
    if "array" in types:
        stripped = text.strip()
        if stripped.startswith("["):
            items = _json(stripped, "must be a list like 1,2 or [1,2]")
            if not isinstance(items, list):
                msg = "must be a list like 1,2 or [1,2]"
                raise ValueError(msg)
            return items
        item_prop = prop.get("items", {})
        if "object" in item_prop.get("type", []):
            msg = 'must be a JSON list, like [{"max_requests": 1, "window_seconds": 1}]'
            raise ValueError(msg)
        return [_from_text(item, item_prop) for item in stripped.split(",")] if stripped else []
    if "integer" in types or "number" in types:
        kinds, problem = ((int,), "must be an integer") if "integer" in types else ((int, float), "must be a number")
        value = _json(text.strip(), problem)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise ValueError(problem)
        return value
    if "boolean" in types:
        flag = _BOOLEAN_WORDS.get(text.strip().lower())
        if flag is None:
            msg = "must be true or false"
            raise ValueError(msg)
        return flag
    if "object" in types:
        return _json(text, "must be a JSON object")
    return text


def _json(text: str, problem: str) -> Any:
    """JSON, refusing NaN and Infinity, as words or as a number too big for a float (1e400)."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except _NotFiniteError:
        raise ValueError("must hold finite numbers only (no NaN or Infinity)") from None
    except ValueError:
        raise ValueError(problem) from None
    if not _finite(value):
        raise ValueError("must hold finite numbers only (no NaN or Infinity)")
    return value


class _NotFiniteError(ValueError):
    pass


def _no_constant(word: str) -> Any:
    raise _NotFiniteError(word)


def _finite(value: object) -> bool:
    """False if `value` is or holds NaN or an infinity."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def unknown_settings(config: Mapping[str, Any], schema: dict) -> list[str]:
    """Keys nobody reads: most likely typos."""
    return sorted(set(config) - set(schema.get("properties", {})))


def likely_typos(config: Mapping[str, Any], schema: dict, environ: Mapping[str, str], prefix: str) -> list[str]:
    """One line per unknown setting, or TAP_KONDADO_ variable, one edit away from a known setting.

    Such a setting is ignored, so the run does something else than asked (a `start_dat` is a full sync from
    the first log: hours at Kondado's limits); other unknown keys (another tap's settings) only warn.
    """
    known = list(schema.get("properties", {}))
    lines = [
        f"setting '{name}' is unknown: did you mean '{meant}'?"
        for name in unknown_settings(config, schema)
        if (meant := one_edit_from(name, known))
    ]
    for variable in sorted(environ):
        name = variable[len(prefix) :].lower() if variable.startswith(prefix) else ""
        if name and not name.startswith("_") and name not in known and (meant := one_edit_from(name, known)):
            lines.append(f"variable {variable} is no setting: did you mean {prefix}{meant.upper()}?")
    return lines


def one_edit_from(name: str, known: list[str]) -> str | None:
    """The known name `name` becomes by adding, dropping or changing one character, or swapping two neighbours."""
    for candidate in known:
        if candidate != name and _one_edit(name, candidate):
            return candidate
    return None


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return len(diff) == 1 or swapped
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _describe(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        path.append(error.message.split("'")[1])  # "'key' is a required property"
        return f"setting '{'.'.join(path)}' is required"
    setting = ".".join(path) or "(config)"
    rule, value = error.validator, error.validator_value
    words = {
        "type": f"must be {' or '.join(value) if isinstance(value, list) else value}",
        "minimum": f"must be >= {value}",
        "maximum": f"must be <= {value}",
        "exclusiveMinimum": f"must be > {value}",
        "minItems": "must not be empty",
        "minLength": "must not be empty",
        "uniqueItems": "must not list the same value twice",
        "additionalProperties": "has an unknown field",
    }.get(rule, f"is not valid ({rule})")
    return f"setting '{setting}' {words}"


def _api_url_errors(api_url: str) -> list[str]:
    invalid = ["setting 'api_url' is not a valid URL (check its host and port)"]
    try:
        parts = urlsplit(api_url)
        _ = parts.port  # out of range or not a number: ValueError
    except ValueError:
        return invalid
    if "?" in api_url or "#" in api_url:  # the tap appends the endpoint's path: it would land in the query
        return ["setting 'api_url' must not hold a query string or fragment ('?' or '#'): give the base URL only"]
    secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or ""))
    if api_url.strip() and "://" not in api_url:
        return [f"setting 'api_url' has no scheme: write it as https://{api_url.lstrip('/')}"]
    if not (secure and parts.hostname):
        return [
            "setting 'api_url' must be an https URL (plain http only for 127.0.0.0/8, ::1 or localhost): "
            "the token travels in every URL"
        ]
    try:  # what requests cannot parse would end the sync mid-way, with a traceback
        requests.Request("GET", f"{api_url.rstrip('/')}/pipeline_logs").prepare()
    except (ValueError, requests.exceptions.RequestException):
        return invalid
    return []


def _start_date_errors(value: object) -> list[str]:
    if value is None:
        return []
    try:
        parse_start_date(value)
    except ValueError as exc:
        return [f"setting 'start_date' {exc}"]
    return []


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
