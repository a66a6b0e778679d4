"""Each private SDK member the tap relies on (sdk_private.PRIVATE_MEMBERS) still exists, as the tap expects."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
from singer_sdk import Tap
from singer_sdk.streams import RESTStream

from tap_kondado.sdk_private import PRIVATE_MEMBERS, PrivateMember
from tap_kondado.tap import TapKondado
from tests.tap_runner import config_for

PACKAGE = Path(__file__).resolve().parent.parent / "tap_kondado"
# Instance attributes are set in __init__: checked on a live tap and stream.
_INSTANCE_ATTRIBUTES = {"_config", "_state_writer", "_tap"}


def _owner(member: PrivateMember) -> object:
    module_name, _, path = member.owner.partition(":")
    owner: object = importlib.import_module(module_name)
    for part in filter(None, path.split(".")):
        owner = getattr(owner, part)
    return owner


def _raw(owner: object, name: str) -> object:
    """The member as defined (a classproperty or property unevaluated), from the class's MRO."""
    if inspect.isclass(owner):
        for klass in owner.__mro__:
            if name in vars(klass):
                return vars(klass)[name]
        raise AttributeError(name)
    return getattr(owner, name)


@pytest.fixture(scope="module")
def tap():
    return TapKondado(config=config_for("http://127.0.0.1:9"), state={}, setup_mapper=False)


@pytest.mark.parametrize("member", PRIVATE_MEMBERS, ids=lambda m: f"{m.owner.split(':')[-1]}.{m.name}")
def test_each_private_member_still_exists_with_the_expected_signature(member, tap):
    owner = _owner(member)
    if member.name in _INSTANCE_ATTRIBUTES:
        live = tap if issubclass(owner, Tap) or owner.__name__ == "PluginBase" else tap.streams["pipeline_logs"]
        assert hasattr(live, member.name), f"singer-sdk no longer sets {member.owner}.{member.name}: {member.use}"
        return
    try:
        value = _raw(owner, member.name)
    except AttributeError:
        pytest.fail(f"singer-sdk has no {member.owner}.{member.name} any more; the tap uses it: {member.use}")
    if member.parameters is None:
        return
    function = getattr(value, "__func__", value)
    parameters = [p for p in inspect.signature(function).parameters if p not in {"self", "cls"}]
    assert tuple(parameters) == member.parameters, (
        f"{member.owner}.{member.name} now takes {parameters}, the tap expects {list(member.parameters)}: {member.use}"
    )


def test_the_list_names_every_private_sdk_member_the_code_uses():
    """An underscore name the tap overrides or reaches on the SDK's objects is in the list."""
    listed = {m.name for m in PRIVATE_MEMBERS}
    sdk_names = {
        name
        for klass in (Tap, RESTStream)
        for base in klass.__mro__
        for name in vars(base)
        if name.startswith("_") and not name.startswith("__")
    }
    sdk_names |= {"_config", "_state_writer", "_tap", "_request"}
    used: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        if "simulator" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in sdk_names:
                used.setdefault(node.attr, path.name)
            elif isinstance(node, ast.FunctionDef) and node.name in sdk_names:
                used.setdefault(node.name, path.name)
            elif isinstance(node, ast.ImportFrom) and _private_sdk_module(node.module):
                for alias in node.names:
                    used.setdefault(alias.name, path.name)
    missing = {name: where for name, where in used.items() if name not in listed}
    assert not missing, f"private SDK members used but not in sdk_private.PRIVATE_MEMBERS: {missing}"


def _private_sdk_module(module: str | None) -> bool:
    return bool(module and module.startswith("singer_sdk") and re.search(r"(^|\.)_", module))


def test_a_changed_signature_would_fail(monkeypatch):
    """The check reads the installed SDK: a member reshaped by an upgrade is caught."""
    from singer_sdk.streams import core

    def reshaped(self, record, *, partition=None):
        return None

    monkeypatch.setattr(core.Stream, "_increment_stream_state", reshaped)
    member = next(m for m in PRIVATE_MEMBERS if m.name == "_increment_stream_state")
    function = _raw(_owner(member), member.name)
    parameters = tuple(p for p in inspect.signature(function).parameters if p != "self")
    assert parameters != member.parameters
