"""slack-manifest.yml creates the app in one step: it validates against Slack's manifest schema.

Neither PyYAML nor jsonschema is a dependency, so this file reads the block-style YAML subset the
manifest uses and checks the JSON Schema keywords the published schema uses; both refuse what
they do not understand rather than skipping it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "slack-manifest.yml"
# SchemaStore's schema, kept in the repository (tests/data/README.md says where it comes from).
SCHEMA = ROOT / "tests" / "data" / "slack-app-manifest.schema.json"

Lines = list[tuple[int, str]]


def _scalar(text: str) -> Any:
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        assert text.endswith("'"), text
        return text[1:-1].replace("''", "'")
    if text in {"true", "false"}:
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in {"null", "~"}:
        return None
    if " #" in text or text.startswith(("{", "[", "&", "*", "|", ">")):
        raise ValueError(f"YAML this reader does not handle: {text!r}")
    return text


def _block(lines: Lines, i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            rest = lines[i][1][2:]
            if re.match(r"^[\w.-]+:( |$)", rest):
                # "- key: value" opens a mapping whose other keys sit two columns further in.
                lines[i] = (indent + 2, rest)
                item, i = _block(lines, i, indent + 2)
            else:
                item, i = _scalar(rest), i + 1
            items.append(item)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        match = re.match(r"^([\w.-]+):(?: (.*))?$", lines[i][1])
        if match is None:
            raise ValueError(f"line {i}: not a 'key: value' line: {lines[i][1]!r}")
        key, value = match.group(1), match.group(2)
        assert key not in mapping, f"duplicate key {key}"
        if value:
            mapping[key], i = _scalar(value.strip()), i + 1
        else:
            assert lines[i + 1][0] > indent, f"{key} has no value"
            mapping[key], i = _block(lines, i + 1, lines[i + 1][0])
    if i < len(lines) and lines[i][0] > indent:
        raise ValueError(f"line {i}: unexpected indentation")
    return mapping, i


def read_yaml(text: str) -> Any:
    lines: Lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            assert "\t" not in raw[: len(raw) - len(raw.lstrip())], "tabs in indentation"
            lines.append((len(raw) - len(raw.lstrip(" ")), stripped))
    value, end = _block(lines, 0, 0)
    assert end == len(lines)
    return value


_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
}
_ANNOTATIONS = {"$schema", "$id", "description", "title"}
_KEYWORDS = {
    "type",
    "properties",
    "additionalProperties",
    "required",
    "maxLength",
    "pattern",
    "enum",
    "items",
    "maxItems",
}


def _string_errors(value: str, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: does not match {schema['pattern']}")
    return errors


def _array_errors(value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than {schema['maxItems']} items")
    for n, item in enumerate(value):
        errors += schema_errors(item, schema.get("items", {}), f"{path}[{n}]")
    return errors


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    properties = schema.get("properties", {})
    errors = [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
    for key, item in value.items():
        if key in properties:
            errors += schema_errors(item, properties[key], f"{path}.{key}")
        elif schema.get("additionalProperties") is False:
            errors.append(f"{path}: unexpected property {key}")
    return errors


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The draft-07 keywords the manifest schema uses; any other keyword is an error."""
    unknown = set(schema) - _ANNOTATIONS - _KEYWORDS
    assert not unknown, f"validator does not know {unknown} (at {path})"
    wanted = schema.get("type")
    if wanted is not None and (
        not isinstance(value, _TYPES[wanted]) or (wanted == "integer" and isinstance(value, bool))
    ):
        return [f"{path}: expected {wanted}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        errors += _string_errors(value, schema, path)
    elif isinstance(value, list):
        errors += _array_errors(value, schema, path)
    elif isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    return errors


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = read_yaml(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_slack_manifest_validates_against_the_published_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema_errors(manifest, schema) == []


def test_the_validator_catches_what_the_schema_forbids(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(manifest))
    broken["display_information"]["name"] = "x" * 36
    broken["features"]["slash_commands"][0]["colour"] = "red"
    del broken["settings"]["interactivity"]["is_enabled"]
    errors = schema_errors(broken, schema)
    assert len(errors) == 3, errors


def test_the_suite_reads_nothing_outside_the_repository() -> None:
    """A fresh clone has no sibling directories: no test or test data may point out of it."""
    outside = re.compile(r"\.\./|ROOT\.parent|parents\[[2-9]\]")
    offenders = [
        path.name
        for path in sorted((ROOT / "tests").glob("*.py"))
        if outside.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_manifest_declares_numbers_with_the_scopes_and_interactivity_the_app_uses(
    manifest: dict[str, Any],
) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/numbers"
    assert command["url"].endswith("/slack/events")
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["chat:write", "commands"]
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == command["url"]
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_manifest_enables_the_home_tab_and_sends_app_home_opened_to_the_same_endpoint(
    manifest: dict[str, Any],
) -> None:
    """The Home tab is published on ``app_home_opened``: without the tab or the event
    subscription Slack would never ask for it."""
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"]
    (command,) = manifest["features"]["slash_commands"]
    assert events["request_url"] == command["url"]
