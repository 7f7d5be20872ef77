"""Reconciling a run's listings with the previous snapshot: the changes and the history fields.

The Python reference the store's SQL diff (syncbot/store/staging.py) is checked against:
the reconcile syncbot used before its runs streamed through the store.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from syncbot.models import Change, ChangeKind, Key, PhoneNumber, SourceState


@dataclass(slots=True)
class Reconciled:
    """The new snapshot and what it takes to store it."""

    inventory: list[PhoneNumber] = field(default_factory=list)
    # Rows that are new or whose stored fields changed; unchanged rows are not written again.
    upserts: list[PhoneNumber] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    states: list[SourceState] = field(default_factory=list)


def _change(
    kind: ChangeKind, before: PhoneNumber | None, after: PhoneNumber | None, now: dt.datetime
) -> Change:
    subject = after or before
    assert subject is not None
    return Change(
        kind=kind,
        source=subject.source,
        account=subject.account,
        number_id=subject.number_id,
        phone_number=subject.phone_number,
        agent_before=before.agent_id if before else None,
        agent_after=after.agent_id if after else None,
        label=subject.label,
        at=now,
    )


def _transition(before: PhoneNumber, after: PhoneNumber) -> ChangeKind | None:
    if before.unassigned and not after.unassigned:
        return ChangeKind.ASSIGNED
    if not before.unassigned and after.unassigned:
        return ChangeKind.UNASSIGNED
    if not after.unassigned and before.agent_id != after.agent_id:
        return ChangeKind.REASSIGNED
    return None


def _rekeys(
    before: Mapping[str, PhoneNumber], numbers: list[PhoneNumber]
) -> dict[str, PhoneNumber]:
    """New ids that are stored numbers re-keyed, and the stored number each one is: its phone
    number stored under exactly one id, which the listing lacks, and listed under no other
    new id."""
    listed = {n.number_id for n in numbers}
    new = [n for n in numbers if n.number_id not in before]
    stored = Counter(n.phone_number for n in before.values())
    fresh = Counter(n.phone_number for n in new)
    gone = {n.phone_number: n for n in before.values() if n.number_id not in listed}
    return {
        n.number_id: gone[n.phone_number]
        for n in new
        if n.phone_number in gone and stored[n.phone_number] == 1 and fresh[n.phone_number] == 1
    }


def _rekeyed(
    out: Reconciled,
    number: PhoneNumber,
    renamed: Mapping[str, PhoneNumber],
    before: dict[str, PhoneNumber],
    now: dt.datetime,
) -> PhoneNumber | None:
    """The stored number ``number`` is under its old id, if it was re-keyed (its change
    recorded); None when it is new."""
    old = renamed.get(number.number_id)
    if old is None:
        return None
    prior = before.pop(old.number_id)
    out.removed.append(prior.key)
    out.changes.append(
        Change(
            ChangeKind.REKEYED,
            number.source,
            number.account,
            number.number_id,
            number.phone_number,
            prior.agent_id,
            number.agent_id,
            number.label,
            now,
            previous_id=prior.number_id,
        )
    )
    return prior


def reconcile(
    previous: Iterable[PhoneNumber],
    listed: Mapping[str, list[PhoneNumber]],
    *,
    failed: Mapping[str, str],
    known_states: Iterable[SourceState],
    now: dt.datetime,
    incomplete: Collection[str] = (),
) -> Reconciled:
    """Fold this run's listings (``listed``, by ``source/account``) into the previous snapshot.

    A source that failed (``failed``: key to error) or is no longer configured keeps its
    previous rows, marked stale: nothing is lost because one provider had a bad day. A listing
    not shown complete (``incomplete``) removes nothing: the stored numbers it lacks stay as
    they were. A number listed under a new id (``_rekeys``) keeps its history.
    """
    out = Reconciled()
    before_by_source: dict[str, dict[str, PhoneNumber]] = {}
    for number in previous:
        before_by_source.setdefault(number.source_key, {})[number.number_id] = number
    states = {state.key: state for state in known_states}

    for source_key, numbers in listed.items():
        before = before_by_source.pop(source_key, {})
        renamed = _rekeys(before, numbers)
        for number in numbers:
            prior = before.pop(number.number_id, None) or _rekeyed(
                out, number, renamed, before, now
            )
            if prior is None:
                row = number.with_history(
                    first_seen_at=now,
                    last_seen_at=now,
                    unassigned_since=now if number.unassigned else None,
                    stale=False,
                )
                out.changes.append(_change(ChangeKind.ADDED, None, row, now))
                out.upserts.append(row)
            else:
                since = None
                if number.unassigned:
                    since = prior.unassigned_since if prior.unassigned else now
                row = number.with_history(
                    first_seen_at=prior.first_seen_at or now,
                    last_seen_at=now,
                    unassigned_since=since,
                    stale=False,
                )
                kind = _transition(prior, row)
                if kind is not None:
                    out.changes.append(_change(kind, prior, row, now))
                if not row.same_content(prior) or row.unassigned_since != prior.unassigned_since:
                    out.upserts.append(row)
            out.inventory.append(row)
        unconfirmed = list(before.values()) if source_key in incomplete else []
        out.inventory.extend(
            n.with_history(
                first_seen_at=n.first_seen_at,
                last_seen_at=now,
                unassigned_since=n.unassigned_since,
                stale=False,
            )
            for n in unconfirmed
        )
        for gone in [] if unconfirmed else before.values():
            out.removed.append(gone.key)
            out.changes.append(_change(ChangeKind.REMOVED, gone, None, now))
        states.pop(source_key, None)
        source, account = source_key.split("/", 1)
        out.states.append(SourceState(source, account, "ok", now, now, None))

    for source_key, kept in before_by_source.items():
        source, account = source_key.split("/", 1)
        prior_state = states.pop(source_key, None)
        error = failed.get(source_key)
        last_ok = prior_state.last_ok_at if prior_state else None
        out.states.append(
            SourceState(
                source,
                account,
                "failed" if source_key in failed else "unconfigured",
                last_ok,
                now,
                error,
            )
        )
        out.inventory.extend(
            n.with_history(
                first_seen_at=n.first_seen_at,
                last_seen_at=last_ok,
                unassigned_since=n.unassigned_since,
                stale=True,
            )
            for n in kept.values()
        )
    for source_key, error in failed.items():
        if any(state.key == source_key for state in out.states):
            continue
        source, account = source_key.split("/", 1)
        prior_state = states.pop(source_key, None)
        last_ok = prior_state.last_ok_at if prior_state else None
        out.states.append(SourceState(source, account, "failed", last_ok, now, error))
    out.inventory.sort(key=lambda n: (n.source, n.account, n.phone_number, n.number_id))
    return out
