"""The normalized record (CONTRACT section 2) and the results of a sync run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from syncbot.costs import CostOverview

Status = Literal["assigned", "unassigned"]
# (source, account, number_id): a number's identity across syncs.
Key = tuple[str, str, str]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, the form every output uses."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def ago(delta: dt.timedelta) -> str:
    """A duration as people say it, rounded down: ``45 s``, ``16 min``, ``2 h``, ``3 days``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    """libphonenumber's reading of a provider's phone text."""

    text: str
    region: str | None
    e164: str | None
    valid: bool
    country_code: str | None
    number_type: str | None


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """One number of the inventory, in the same shape whichever provider it came from."""

    source: str
    account: str
    number_id: str
    phone_number: str
    valid: bool
    country_code: str | None
    number_type: str | None
    carrier: str | None
    status: Status
    provider_status: str | None
    agent_id: str | None
    label: str | None
    inbound: bool | None
    outbound: bool | None
    created_at: dt.datetime | None
    first_seen_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None
    unassigned_since: dt.datetime | None = None
    stale: bool = False

    @property
    def key(self) -> Key:
        return (self.source, self.account, self.number_id)

    @property
    def source_key(self) -> str:
        return f"{self.source}/{self.account}"

    @property
    def unassigned(self) -> bool:
        return self.status == "unassigned"

    def with_history(
        self,
        *,
        first_seen_at: dt.datetime | None,
        last_seen_at: dt.datetime | None,
        unassigned_since: dt.datetime | None,
        stale: bool,
    ) -> PhoneNumber:
        """A copy with the history fields set (``dataclasses.replace`` costs 4x more)."""
        return PhoneNumber(
            self.source,
            self.account,
            self.number_id,
            self.phone_number,
            self.valid,
            self.country_code,
            self.number_type,
            self.carrier,
            self.status,
            self.provider_status,
            self.agent_id,
            self.label,
            self.inbound,
            self.outbound,
            self.created_at,
            first_seen_at,
            last_seen_at,
            unassigned_since,
            stale,
        )

    def same_content(self, other: PhoneNumber) -> bool:
        """Whether the provider-side fields match (history fields aside)."""
        return self.listed() == other.listed()

    def listed(self) -> tuple[object, ...]:
        """The provider-side fields, in the store's column order (history fields aside)."""
        return (
            self.phone_number,
            self.valid,
            self.country_code,
            self.number_type,
            self.carrier,
            self.status,
            self.provider_status,
            self.agent_id,
            self.label,
            self.inbound,
            self.outbound,
            self.created_at,
        )

    def to_dict(self, *, monthly_cost: float | None = None) -> dict[str, Any]:
        """The record as CONTRACT section 2 names it, JSON-ready; the cost is derived from the
        settings (``CostRules.monthly``), so the caller gives it."""
        return {
            "source": self.source,
            "account": self.account,
            "number_id": self.number_id,
            "phone_number": self.phone_number,
            "valid": self.valid,
            "country_code": self.country_code,
            "number_type": self.number_type,
            "carrier": self.carrier,
            "status": self.status,
            "provider_status": self.provider_status,
            "agent_id": self.agent_id,
            "label": self.label,
            "inbound": self.inbound,
            "outbound": self.outbound,
            "created_at": iso(self.created_at),
            "first_seen_at": iso(self.first_seen_at),
            "last_seen_at": iso(self.last_seen_at),
            "unassigned_since": iso(self.unassigned_since),
            "stale": self.stale,
            "monthly_cost": monthly_cost,
        }


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    REASSIGNED = "reassigned"
    # The provider gave the number a new id (same E.164 number, same account): its history
    # and its sheet row stay; ``Change.previous_id`` holds the old id.
    REKEYED = "rekeyed"


@dataclass(frozen=True, slots=True)
class Change:
    """What happened to one number in one run."""

    kind: ChangeKind
    source: str
    account: str
    number_id: str
    phone_number: str
    agent_before: str | None
    agent_after: str | None
    label: str | None
    at: dt.datetime
    run_id: int | None = None
    # A re-keyed number's id before.
    previous_id: str | None = None

    @property
    def key(self) -> Key:
        return (self.source, self.account, self.number_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "source": self.source,
            "account": self.account,
            "number_id": self.number_id,
            "previous_id": self.previous_id,
            "phone_number": self.phone_number,
            "agent_before": self.agent_before,
            "agent_after": self.agent_after,
            "label": self.label,
            "at": iso(self.at),
            "run_id": self.run_id,
        }


def count_changes(changes: list[Change]) -> dict[str, int]:
    counts = {kind.value: 0 for kind in ChangeKind}
    for change in changes:
        counts[change.kind.value] += 1
    return counts


@dataclass(slots=True)
class SourceResult:
    """How one account of one source fared in a run."""

    source: str
    account: str
    status: Literal["ok", "failed"] = "ok"
    count: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    invalid: int = 0
    duplicates: int = 0
    reported_total: int | None = None
    duration: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Whether the listing was shown complete (every number the provider had was seen): only
    # then may the numbers it lacks be removed (CONTRACT section 3, "Removals need proof").
    complete: bool = False
    # Stored numbers an incomplete listing did not see: kept, with their history, until a
    # complete listing settles them.
    unconfirmed: int = 0
    # Listings of this account in the run: the first, and any re-listing of a part of it.
    passes: int = 0

    @property
    def key(self) -> str:
        return f"{self.source}/{self.account}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "pages": self.pages,
            "error": self.error,
            "requests": self.requests,
            "retries": self.retries,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "reported_total": self.reported_total,
            "complete": self.complete,
            "unconfirmed": self.unconfirmed,
            "passes": self.passes,
            "duration_seconds": round(self.duration, 3),
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class SheetResult:
    status: Literal["ok", "failed", "skipped"] = "skipped"
    error: str | None = None
    calls: int = 0
    url: str | None = None
    # Set once the spreadsheet nears Google's cell limit: how many numbers fit.
    warning: str | None = None
    # Whether ``warning`` came or went since the previous run (the channel hears of it once).
    warning_changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "error": self.error,
            "calls": self.calls,
            "url": self.url,
            "warning": self.warning,
        }


RunStatus = Literal["ok", "partial", "failed", "skipped"]
# A source's change of health in a run (``history.health_changes``).
Health = Literal["failing", "recovered"]


@dataclass(slots=True)
class RunResult:
    """The outcome of one ``syncbot sync``, printed by ``--json`` as CONTRACT section 3 says."""

    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    run_id: int | None = None
    status: RunStatus = "ok"
    sources: dict[str, SourceResult] = field(default_factory=dict)
    sheet: SheetResult = field(default_factory=SheetResult)
    total: int = 0
    unassigned: int = 0
    changes: dict[str, int] = field(default_factory=lambda: count_changes([]))
    dry_run: bool = False
    message: str | None = None
    # Phone texts read by libphonenumber this run; the others came from the store's cache.
    phones_parsed: int = 0
    # What the inventory cost a month at this run, when NUMBER_COSTS is set: kept with the run
    # so the Sync log and its chart show what it was then, whatever the rules say later.
    monthly_cost: CostOverview | None = None
    # Measured, not derived from the timestamps: those are whole seconds.
    duration: float = 0.0
    # Sources that started failing or recovered in this run, by ``source/account``.
    health: dict[str, Health] = field(default_factory=dict)
    # The newest follow-up action (``FollowUpAction.action_id``) this run's sheet write put in
    # Changes: the next write starts after it. None until a write has.
    followup_actions_through: int | None = None
    # Whether the sheet started failing or recovered in this run.
    sheet_health: Health | None = None

    def settle(self) -> None:
        """Derive the run's status from its parts."""
        failed = [s for s in self.sources.values() if s.status == "failed"]
        if self.sources and len(failed) == len(self.sources):
            self.status = "failed"
        elif failed or self.sheet.status == "failed":
            self.status = "partial"
        else:
            self.status = "ok"

    @property
    def exit_code(self) -> int:
        return 0 if self.status in {"ok", "skipped"} else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "sources": {key: s.to_dict() for key, s in self.sources.items()},
            "sheet": self.sheet.to_dict(),
            "total": self.total,
            "unassigned": self.unassigned,
            # The contract's five kinds; re-keyed numbers (not among them) are told apart.
            "changes": {k: n for k, n in self.changes.items() if k != ChangeKind.REKEYED},
            "rekeyed": self.changes.get(ChangeKind.REKEYED, 0),
            "dry_run": self.dry_run,
            "message": self.message,
            "phones_parsed": self.phones_parsed,
            "monthly_cost": self.monthly_cost.to_dict() if self.monthly_cost else None,
            "duration_seconds": round(self.duration, 3),
            "followup_actions_through": self.followup_actions_through,
        }

    @property
    def took(self) -> str:
        """The run's duration, for people: ``0.42 s``, ``12.3 s``."""
        return f"{self.duration:.2f} s" if self.duration < 1 else f"{self.duration:.1f} s"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A committed run as the store keeps it."""

    run_id: int
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SourceState:
    """The latest known health of one source account."""

    source: str
    account: str
    status: Literal["ok", "failed", "unconfigured"]
    last_ok_at: dt.datetime | None
    last_attempt_at: dt.datetime
    error: str | None

    @property
    def key(self) -> str:
        return f"{self.source}/{self.account}"

    @property
    def stale(self) -> bool:
        return self.status != "ok"


SheetHealth = Literal["ok", "failing", "off"]


@dataclass(frozen=True, slots=True)
class SheetState:
    """The latest known health of the sheet, kept like a source's (``SourceState``)."""

    status: Literal["ok", "failed"]
    last_ok_at: dt.datetime | None
    last_attempt_at: dt.datetime
    error: str | None

    @property
    def health(self) -> SheetHealth:
        return "ok" if self.status == "ok" else "failing"


def sheet_health(state: SheetState | None, *, configured: bool) -> dict[str, Any]:
    """The sheet's health as ``query status --json`` and ``/healthz`` give it: ``off`` when no
    sheet is configured, ``ok`` until a write has failed."""
    if not configured:
        return {"status": "off", "error": None, "last_ok_at": None}
    if state is None:
        return {"status": "ok", "error": None, "last_ok_at": None}
    return {"status": state.health, "error": state.error, "last_ok_at": iso(state.last_ok_at)}
