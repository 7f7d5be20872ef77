"""Google's own answers, replayed against the sandbox Sheets API.

gspread's test suite recorded its real HTTP exchanges with Google (``tests/data/gspread-cassettes``,
see the README there). Each recorded Sheets request is sent, as recorded, to a running
``FakeSheets``, and the fake's answer is compared with Google's: status, the same JSON key paths
both ways, every value (ranges, cell values, update counts, error text).

Drive calls are not Sheets calls: a recorded "create a spreadsheet" becomes the same spreadsheet
(id and title) in the fake, the others are skipped. Google picks the id of a sheet added without
one at random and so does the fake: each such id Google answered is mapped to the fake's, in the
requests that follow and in the answers compared.

A request the fake does not carry out must be refused the way Google refuses a field it does not
know; the requests after it on that spreadsheet find another state than Google's and are not
compared (``after unsupported``), nor are those after Drive replaced a spreadsheet's content
(a CSV import).

``python -m tests.sheets_replay`` prints the table of outcomes per request kind.
"""

from __future__ import annotations

import collections
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google.auth.transport.requests
import requests

from syncbot.sandbox.sheets import FakeSheets, routes
from syncbot.sheets.client import credentials

CASSETTES = Path(__file__).parent / "data" / "gspread-cassettes" / "cassettes.tar.gz"
VERDICTS = ("matched", "different", "unsupported", "after unsupported")
_SHEETS = "https://sheets.googleapis.com"
_DRIVE_CREATE = re.compile(r"^https://www\.googleapis\.com/drive/v3/files\?")
_DRIVE_IMPORT = re.compile(r"^https://www\.googleapis\.com/upload/drive/v\d/files/([^/?]+)")
# How Google refuses a request it does not know (batchUpdate) or a body it cannot read.
_UNKNOWN = re.compile(
    r"^Invalid JSON payload received\. Unknown name \"\w+\".*Cannot find field\.$"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    cassette: str
    index: int
    kind: str
    verdict: str
    detail: str = ""


@dataclass(slots=True)
class _Replay:
    fake: FakeSheets
    session: requests.Session
    email: str
    # Google's sheet id -> the fake's, per spreadsheet.
    sheet_ids: dict[str, dict[int, int]] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)


def cassettes() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(name, interactions)`` of every vendored cassette, by name."""
    with tarfile.open(CASSETTES) as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".json")),
            key=lambda m: m.name,
        )
        for member in members:
            handle = archive.extractfile(member)
            assert handle is not None
            name = Path(member.name).stem
            yield name, json.load(handle)["interactions"]


def replay_all(fake: FakeSheets) -> list[Outcome]:
    """Every recorded Sheets request of every cassette, replayed against the running ``fake``."""
    assert fake.url is not None
    key = fake.service_account()
    creds = credentials(key, api_url=fake.url)
    creds.refresh(google.auth.transport.requests.Request())
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {creds.token}"
    state = _Replay(fake, session, key["client_email"])
    outcomes: list[Outcome] = []
    with session:
        for name, interactions in cassettes():
            for index, interaction in enumerate(interactions):
                outcome = _replay_one(state, name, index, interaction)
                if outcome is not None:
                    outcomes.append(outcome)
    return outcomes


def _replay_one(
    state: _Replay, cassette: str, index: int, interaction: dict[str, Any]
) -> Outcome | None:
    request, response = interaction["request"], interaction["response"]
    uri: str = request["uri"]
    if not uri.startswith(_SHEETS):
        if request["method"] == "POST" and _DRIVE_CREATE.match(uri):
            created = json.loads(response["body"]["string"])
            state.fake.create_spreadsheet(
                spreadsheet_id=created["id"], title=created["name"], writers=[state.email]
            )
            state.sheet_ids[created["id"]] = {}
        elif request["method"] == "PUT" and (imported := _DRIVE_IMPORT.match(uri)):
            # Drive replaced the spreadsheet's content (a CSV import): no Sheets request.
            state.refused.add(imported.group(1))
        return None
    path_and_query = uri[len(_SHEETS) :]
    raw_path = path_and_query.partition("?")[0]
    name, spreadsheet_id, _ = routes.route(request["method"], raw_path)
    if spreadsheet_id not in state.sheet_ids:
        return None  # a spreadsheet gspread copied through Drive: the fake never had it
    ids = state.sheet_ids[spreadsheet_id]
    body_text = request["body"] or ""
    body: Any = None
    if body_text:
        body = json.loads(body_text)
        body_text = json.dumps(_map_ids(body, ids))
    kind = name
    if name == "spreadsheets.batchUpdate" and isinstance(body, dict):
        kind = "batchUpdate." + "+".join(
            sorted({next(iter(r)) for r in body.get("requests", []) if r})
        )
    if spreadsheet_id in state.refused:
        return Outcome(cassette, index, kind, "after unsupported")
    answer = state.session.request(
        request["method"],
        f"{state.fake.url}{path_and_query}",
        data=body_text.encode() or None,
        headers={"Content-Type": "application/json"} if body_text else {},
    )
    google_status = int(response["status"]["code"])
    google_text = response["body"]["string"]
    google = json.loads(google_text) if google_text else None
    ours = answer.json() if answer.content else None
    if answer.status_code == 400 and google_status != 400 and _is_unknown_field(ours):
        state.refused.add(spreadsheet_id)
        return Outcome(cassette, index, kind, "unsupported", ours["error"]["message"])
    if kind.startswith("batchUpdate.") and google_status == 200 and answer.status_code == 200:
        _learn_ids(body, google, ours, ids)
    differences = compare(google_status, google, answer.status_code, ours, ids)
    if differences:
        return Outcome(cassette, index, kind, "different", "; ".join(differences[:4]))
    return Outcome(cassette, index, kind, "matched")


def _is_unknown_field(answer: Any) -> bool:
    error = answer.get("error", {}) if isinstance(answer, dict) else {}
    return (
        error.get("code") == 400
        and error.get("status") == "INVALID_ARGUMENT"
        and bool(_UNKNOWN.match(str(error.get("message", ""))))
    )


def _map_ids(value: Any, ids: dict[int, int]) -> Any:
    if isinstance(value, dict):
        return {
            k: (ids.get(v, v) if k == "sheetId" and isinstance(v, int) else _map_ids(v, ids))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_ids(item, ids) for item in value]
    return value


def _learn_ids(body: Any, google: Any, ours: Any, ids: dict[int, int]) -> None:
    """The sheets added without an id: Google's random id -> the fake's."""
    for request, theirs, mine in zip(
        body.get("requests", []), google.get("replies", []), ours.get("replies", []), strict=False
    ):
        if "addSheet" in request and "sheetId" not in request["addSheet"].get("properties", {}):
            google_id = theirs["addSheet"]["properties"]["sheetId"]
            ids[google_id] = mine.get("addSheet", {}).get("properties", {}).get("sheetId")


def compare(
    google_status: int, google: Any, our_status: int, ours: Any, ids: dict[int, int]
) -> list[str]:
    """How the fake's answer differs from Google's (nothing when it matches)."""
    if google_status != our_status:
        return [f"status {our_status} instead of {google_status}: {_short(ours)}"]
    expected, got = _leaves(_map_ids(google, ids)), _leaves(ours)
    missing = sorted(expected.keys() - got.keys())
    extra = sorted(got.keys() - expected.keys())
    out = [f"missing {_paths(missing)}" for _ in missing[:1]]
    out += [f"extra {_paths(extra)}" for _ in extra[:1]]
    for path in sorted(expected.keys() & got.keys()):
        if expected[path] != got[path]:
            out.append(f"{path}: {got[path]!r} instead of {expected[path]!r}")
    return out


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Every key path of a JSON value with what it holds (an empty object or list is a leaf)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(_leaves(item, f"{path}[{index}]"))
        return out
    return {path: value}


def _paths(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" (+{len(paths) - 3})" if len(paths) > 3 else "")


def _short(answer: Any) -> str:
    text = json.dumps(answer)
    return text if len(text) < 200 else text[:200] + "..."


def table(outcomes: list[Outcome]) -> str:
    """Outcomes per request kind, as a Markdown table."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for outcome in outcomes:
        counts[outcome.kind][outcome.verdict] += 1
        counts["all"][outcome.verdict] += 1
    lines = [
        "| kind | " + " | ".join(VERDICTS) + " |",
        "| --- |" + " ---: |" * len(VERDICTS),
    ]
    for kind in sorted(counts, key=lambda k: (k == "all", k)):
        lines.append(f"| {kind} | " + " | ".join(str(counts[kind][v]) for v in VERDICTS) + " |")
    return "\n".join(lines)


def main() -> None:
    fake = FakeSheets(record_snapshots=False)
    with fake.running():
        outcomes = replay_all(fake)
    print(table(outcomes))
    for outcome in outcomes:
        if outcome.verdict in {"different", "unsupported"}:
            print(f"{outcome.verdict}: {outcome.cassette}#{outcome.index} {outcome.kind}")
            print(f"    {outcome.detail}")


if __name__ == "__main__":
    main()
