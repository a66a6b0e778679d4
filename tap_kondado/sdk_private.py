"""Every private member of singer-sdk the tap overrides, calls or reads, in one list.

The SDK may rename or reshape a private member in any release without notice. Each one the
tap depends on is named here with the parameters the tap expects, and
tests/test_sdk_private.py checks them against the installed SDK: an upgrade that breaks one
fails that test, naming the member, instead of a sync in production.

Add a line here whenever the code starts using another underscore name of the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrivateMember:
    """One private SDK member the tap relies on.

    `owner`: "module:attribute path" of what holds it; `name`: the member; `parameters`:
    the names of its parameters in order (without self/cls), or None for an attribute or
    a property; `use`: how and where the tap uses it.
    """

    owner: str
    name: str
    parameters: tuple[str, ...] | None
    use: str


PRIVATE_MEMBERS: tuple[PrivateMember, ...] = (
    # --- the tap (tap.py) ---
    PrivateMember(
        "singer_sdk.plugin_base:PluginBase",
        "_env_var_config",
        None,
        "overridden (a classproperty) in TapKondado: settings from the environment read as their types",
    ),
    PrivateMember(
        "singer_sdk.plugin_base:PluginBase",
        "_env_var_prefix",
        None,
        "read by TapKondado._env_var_config: the TAP_KONDADO_ prefix",
    ),
    PrivateMember(
        "singer_sdk.plugin_base:PluginBase",
        "_validate_config",
        ("raise_errors",),
        "overridden in TapKondado: messages that name the setting, never its value",
    ),
    PrivateMember(
        "singer_sdk.plugin_base:PluginBase",
        "_config",
        None,
        "read by TapKondado._validate_config: the raw config dict (an instance attribute)",
    ),
    PrivateMember(
        "singer_sdk.tap_base:Tap",
        "_handle_termination",
        ("signum", "frame"),
        "overridden in TapKondado: SIGTERM/SIGINT write the last STATE and exit 128 + signal",
    ),
    PrivateMember(
        "singer_sdk.tap_base:Tap",
        "_state_writer",
        None,
        "called by TapKondado._handle_termination: write_state(state) (an instance attribute)",
    ),
    # --- the streams (client.py, scroll.py, status.py) ---
    PrivateMember(
        "singer_sdk.streams.core:Stream",
        "_increment_stream_state",
        ("latest_record", "context"),
        "overridden and called in LogStream: re-read window logs must not move the bookmark",
    ),
    PrivateMember(
        "singer_sdk.streams.core:Stream",
        "_write_starting_replication_value",
        ("context",),
        "overridden in LogStream: no start_date fallback for the integer key",
    ),
    PrivateMember(
        "singer_sdk.streams.core:Stream",
        "_write_state_message",
        (),
        "called by the log scroll after each page, and when a failing partition stops",
    ),
    PrivateMember(
        "singer_sdk.streams.core:Stream",
        "_tap",
        None,
        "read by the streams: the tap's paced session, its other streams, its message writer (an instance attribute)",
    ),
    PrivateMember(
        "singer_sdk.streams.rest:RESTStream",
        "_request",
        ("prepared_request", "context"),
        "called by the seek's probes and the status streams, wrapped in request_decorator",
    ),
    # --- private modules ---
    PrivateMember(
        "singer_sdk.configuration._dict_config",
        "parse_environment_config",
        ("config_schema", "prefix", "dotenv_path"),
        "called by settings.env_config for the SDK's own settings",
    ),
    PrivateMember(
        "singer_sdk.helpers._classproperty",
        "classproperty",
        None,
        "decorates TapKondado._env_var_config, as the SDK's own does",
    ),
)
