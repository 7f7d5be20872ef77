"""The fake Google Sheets API on loopback: routes, auth, sharing, faults and what it recorded.

Tests drive it from their own thread while it serves from another, so every piece of state
is read and changed under one lock.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from syncbot.sandbox._server import ThreadedServer
from syncbot.sandbox.sheets import metadata, routes, schema, values
from syncbot.sandbox.sheets.auth import (
    GOOGLE_TOKEN_AUDIENCE,
    TOKEN_LIFETIME,
    GrantError,
    RegisteredKey,
    mint_key,
    verify_assertion,
)
from syncbot.sandbox.sheets.batch import apply_batch
from syncbot.sandbox.sheets.grid import ApiError, Sheet, Workbook

# Google's frontend refuses bodies above 10 MiB, whatever the API.
MAX_BODY = 10 * 1024 * 1024
_FAULT_MESSAGES = {
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute "
    "per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
_NO_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)
_BAD_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)

TabValues = Mapping[str, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True, slots=True)
class CallRecord:
    route: str
    method: str
    status: int
    request_bytes: int
    response_bytes: int
    spreadsheet_id: str | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a reader of the spreadsheet would have seen right after one API call."""

    call: int
    route: str
    version: int
    tabs: TabValues


@dataclass(slots=True)
class _Fault:
    route: str
    status: int
    remaining: int
    retry_after: float | None
    message: str | None
    spreadsheet_id: str | None
    # Apply the call, then answer the error: Google's answer to a write it did was lost.
    applied: bool = False


# What a person does to a workbook between two calls (it runs under the fake's lock).
Edit = Callable[[Workbook], None]


def _tab_values(sheet: Sheet) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(row) for row in sheet.values())


class FakeSheets:
    """A Google Sheets API v4 sandbox with its OAuth token endpoint."""

    def __init__(self, *, record_snapshots: bool = True) -> None:
        self.record_snapshots = record_snapshots
        self.url: str | None = None
        self._lock = threading.Lock()
        self._workbooks: dict[str, Workbook] = {}
        self._keys: dict[str, RegisteredKey] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._calls: list[CallRecord] = []
        self._snapshots: dict[str, list[Snapshot]] = {}
        self._faults: list[_Fault] = []
        self._edits: list[tuple[str, Edit]] = []

    # -- set-up for tests ------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, *, port: int = 0) -> Iterator[str]:
        """Serve on a loopback port (0: a free one) from a background thread; yields the base
        URL."""
        server = ThreadedServer(self.app, port=port)
        with server.running_in_thread() as running:
            self.url = running.url
            try:
                yield running.url
            finally:
                self.url = None

    def service_account(self, email: str | None = None) -> dict[str, str]:
        """A new service-account key (JSON key file contents) whose token_uri is this fake."""
        if self.url is None:
            raise RuntimeError("start the fake (FakeSheets.running) before minting keys")
        email = email or f"syncbot-{secrets.token_hex(3)}@sandbox.iam.gserviceaccount.com"
        info, key = mint_key(email=email, token_uri=f"{self.url}/token")
        with self._lock:
            self._keys[email] = key
        return info

    def create_spreadsheet(
        self,
        *,
        title: str = "syncbot sandbox",
        writers: Iterable[str] = (),
        readers: Iterable[str] = (),
        tabs: Iterable[str] = ("Sheet1",),
        spreadsheet_id: str | None = None,
    ) -> str:
        key = spreadsheet_id or secrets.token_urlsafe(33)[:44]
        shared = dict.fromkeys(readers, "reader") | dict.fromkeys(writers, "writer")
        sheets = [Sheet(sheet_id=i, title=name, index=i) for i, name in enumerate(tabs)]
        with self._lock:
            self._workbooks[key] = Workbook(key, title, sheets, shared)
        return key

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        with self._lock:
            self._workbooks[spreadsheet_id].shared_with[email] = role

    def unshare(self, spreadsheet_id: str, email: str) -> None:
        with self._lock:
            self._workbooks[spreadsheet_id].shared_with.pop(email, None)

    def fail_next(
        self,
        route: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str | None = None,
        spreadsheet_id: str | None = None,
        applied: bool = False,
    ) -> None:
        """The next ``times`` calls to ``route`` (or ``*``) answer ``status`` instead; only
        calls about ``spreadsheet_id`` when it is given. ``applied``: the call is carried
        out first, and only its answer is the error."""
        fault = _Fault(route, status, times, retry_after, message, spreadsheet_id, applied)
        with self._lock:
            self._faults.append(fault)

    def before_next(self, route: str, edit: Edit) -> None:
        """Just before the next call to ``route``, ``edit`` the workbook it is about, as a
        person typing in the sheet at that moment would."""
        with self._lock:
            self._edits.append((route, edit))

    # -- what tests look at ----------------------------------------------------------------

    def workbook(self, spreadsheet_id: str) -> Workbook:
        with self._lock:
            return self._workbooks[spreadsheet_id].clone()

    def values(self, spreadsheet_id: str, title: str) -> list[list[str]]:
        """A tab's cells as a reader sees them (trailing empty cells and rows dropped)."""
        with self._lock:
            sheet = self._workbooks[spreadsheet_id].sheet_by_title(title)
            if sheet is None:
                raise KeyError(title)
            return sheet.values()

    def calls(self, spreadsheet_id: str | None = None) -> list[CallRecord]:
        """Sheets API calls (token requests aside), for one spreadsheet or all."""
        with self._lock:
            return [
                call
                for call in self._calls
                if call.route != "token"
                and (spreadsheet_id is None or call.spreadsheet_id == spreadsheet_id)
            ]

    def token_calls(self) -> list[CallRecord]:
        with self._lock:
            return [call for call in self._calls if call.route == "token"]

    def snapshots(self, spreadsheet_id: str) -> list[Snapshot]:
        with self._lock:
            return list(self._snapshots.get(spreadsheet_id, []))

    def reset_records(self) -> None:
        with self._lock:
            self._calls.clear()
            self._snapshots.clear()

    # -- HTTP ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        # aiohttp's own cap sits above Google's so that the fake can answer Google's error.
        app = web.Application(client_max_size=4 * MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        route, spreadsheet_id, range_text = routes.route(request.method, request.rel_url.raw_path)
        headers: dict[str, str] = {}
        try:
            payload = self._answer(
                request,
                raw,
                route=route,
                spreadsheet_id=spreadsheet_id,
                range_text=range_text,
                headers=headers,
            )
            status = 200
        except ApiError as exc:
            status, payload = exc.code, exc.body()
        except GrantError as exc:
            status, payload = 400, exc.body()
        text = json.dumps(payload, ensure_ascii=False)
        with self._lock:
            self._calls.append(
                CallRecord(
                    route, request.method, status, len(raw), len(text.encode()), spreadsheet_id
                )
            )
            if spreadsheet_id is not None and route != "token":
                self._snapshot(spreadsheet_id, route)
        return web.Response(
            text=text, status=status, content_type="application/json", headers=headers
        )

    def _answer(
        self,
        request: web.Request,
        raw: bytes,
        *,
        route: str,
        spreadsheet_id: str | None,
        range_text: str | None,
        headers: dict[str, str],
    ) -> Any:
        fault = self._take_fault(route, spreadsheet_id)
        if fault is not None:
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            error = ApiError(
                fault.status, fault.message or _FAULT_MESSAGES.get(fault.status, "Error")
            )
            if not fault.applied:
                raise error
            self._serve(
                request, raw, route=route, spreadsheet_id=spreadsheet_id, range_text=range_text
            )
            raise error
        return self._serve(
            request, raw, route=route, spreadsheet_id=spreadsheet_id, range_text=range_text
        )

    def _serve(
        self,
        request: web.Request,
        raw: bytes,
        *,
        route: str,
        spreadsheet_id: str | None,
        range_text: str | None,
    ) -> Any:
        if route == "unknown":
            raise ApiError(404, f"Method not found: {request.method} {request.rel_url.path}")
        if len(raw) > MAX_BODY:
            raise ApiError(400, f"Request payload size exceeds the limit: {MAX_BODY} bytes.")
        if route == "token":
            return self._token(raw, request)
        email = self._authenticate(request.headers.get("Authorization", ""))
        try:
            body = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "Invalid JSON payload received.") from None
        assert spreadsheet_id is not None
        with self._lock:
            self._person_edits(route, spreadsheet_id)
            return self._call(
                route=route,
                spreadsheet_id=spreadsheet_id,
                range_text=range_text or "",
                query=request.query,
                body=body,
                email=email,
            )

    def _take_fault(self, route: str, spreadsheet_id: str | None) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.remaining > 0
                    and fault.route in {route, "*"}
                    and fault.spreadsheet_id in {None, spreadsheet_id}
                ):
                    fault.remaining -= 1
                    return fault
        return None

    def _person_edits(self, route: str, spreadsheet_id: str) -> None:
        workbook = self._workbooks.get(spreadsheet_id)
        for wanted in [e for e in self._edits if e[0] in {route, "*"}][:1]:
            self._edits.remove(wanted)
            if workbook is not None:
                edited = workbook.clone()
                wanted[1](edited)
                edited.version += 1
                self._workbooks[spreadsheet_id] = edited

    def _token(self, raw: bytes, request: web.Request) -> dict[str, Any]:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(errors="replace")).items()}
        endpoint = f"{request.scheme}://{request.host}/token"
        with self._lock:
            email, _ = verify_assertion(
                form, self._keys, audiences={GOOGLE_TOKEN_AUDIENCE, endpoint}
            )
            token = "ya29.sandbox-" + secrets.token_urlsafe(32)
            self._tokens[token] = (email, time.time() + TOKEN_LIFETIME)
        return {"access_token": token, "expires_in": TOKEN_LIFETIME - 1, "token_type": "Bearer"}

    def _authenticate(self, header: str) -> str:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, _NO_CREDENTIALS)
        with self._lock:
            email, expires = self._tokens.get(token.strip(), ("", 0.0))
        if not email or expires < time.time():
            raise ApiError(401, _BAD_CREDENTIALS)
        return email

    def _call(
        self,
        *,
        route: str,
        spreadsheet_id: str,
        range_text: str,
        query: MultiMapping[str],
        body: Any,
        email: str,
    ) -> Any:
        workbook = self._workbooks.get(spreadsheet_id)
        if workbook is None:
            raise ApiError(404, "Requested entity was not found.")
        role = workbook.shared_with.get(email)
        if role is None or (route in routes.WRITE_ROUTES and role != "writer"):
            raise ApiError(403, "The caller does not have permission")
        params = {key: query[key] for key in query}
        if route == "spreadsheets.get":
            return metadata.spreadsheet(
                workbook,
                ranges=query.getall("ranges", []),
                grid_data=query.get("includeGridData", "").lower() == "true",
                mask=query.get("fields"),
            )
        if route == "values.get":
            return values.get(workbook, range_text, params)
        if route == "values.batchGet":
            return values.batch_get(workbook, query.getall("ranges", []), params)
        return self._write(route, workbook, range_text, params, body)

    def _write(
        self, route: str, workbook: Workbook, range_text: str, params: Mapping[str, str], body: Any
    ) -> Any:
        key = workbook.spreadsheet_id
        reply: Any
        if route == "spreadsheets.batchUpdate":
            schema.check(body, "BatchUpdateSpreadsheetRequest")
            new, replies = apply_batch(workbook, body)
            reply = {"spreadsheetId": key, "replies": replies}
        elif route == "values.update":
            new, reply = values.update(workbook, range_text, params, body)
        elif route == "values.batchUpdate":
            schema.check(body, "BatchUpdateValuesRequest")
            new, reply = values.batch_update(workbook, body)
        elif route == "values.append":
            new, reply = values.append(workbook, range_text, params, body)
        elif route == "values.clear":
            new, cleared = values.clear(workbook, [range_text])
            reply = {"spreadsheetId": key, "clearedRange": cleared[0]}
        else:
            new, cleared = values.clear(workbook, body.get("ranges", []))
            reply = {"spreadsheetId": key, "clearedRanges": cleared}
        self._workbooks[key] = new
        return reply

    def _snapshot(self, spreadsheet_id: str, route: str) -> None:
        workbook = self._workbooks.get(spreadsheet_id)
        if workbook is None or not self.record_snapshots:
            return
        taken = self._snapshots.setdefault(spreadsheet_id, [])
        if taken and taken[-1].version == workbook.version:
            tabs = taken[-1].tabs
        else:
            tabs = {sheet.title: _tab_values(sheet) for sheet in workbook.tabs()}
        taken.append(Snapshot(len(self._calls) - 1, route, workbook.version, tabs))
