"""Which Sheets API method a request calls, read from its path as the client quoted it."""

from __future__ import annotations

import urllib.parse

WRITE_ROUTES = frozenset(
    {
        "spreadsheets.batchUpdate",
        "values.update",
        "values.batchUpdate",
        "values.append",
        "values.clear",
        "values.batchClear",
    }
)
_BY_METHOD = {
    ("GET", 1, ""): "spreadsheets.get",
    ("POST", 1, "batchUpdate"): "spreadsheets.batchUpdate",
    ("GET", 2, "values:batchGet"): "values.batchGet",
    ("POST", 2, "values:batchUpdate"): "values.batchUpdate",
    ("POST", 2, "values:batchClear"): "values.batchClear",
}


def route(method: str, raw_path: str) -> tuple[str, str | None, str | None]:
    """``(route name, spreadsheet id, A1 range)`` of a request path as the client quoted it."""
    if raw_path == "/token":
        return ("token", None, None) if method == "POST" else ("unknown", None, None)
    prefix = "/v4/spreadsheets/"
    if not raw_path.startswith(prefix):
        return "unknown", None, None
    segments = raw_path[len(prefix) :].split("/")
    key, _, action = segments[0].partition(":")
    key = urllib.parse.unquote(key)
    if len(segments) <= 2:
        name = _BY_METHOD.get(
            (method, len(segments), action if len(segments) == 1 else segments[1])
        )
        return (name or "unknown"), key, None
    if len(segments) != 3 or segments[1] != "values":
        return "unknown", key, None
    quoted, _, suffix = segments[2].rpartition(":")
    if suffix in {"append", "clear"} and method == "POST":
        return f"values.{suffix}", key, urllib.parse.unquote(quoted)
    name = {"GET": "values.get", "PUT": "values.update"}.get(method, "unknown")
    return name, key, urllib.parse.unquote(segments[2])
