"""Follow-ups in the store: the current one of each number and the history of actions.

A follow-up row belongs to one unassigned period of its number (``since`` is the number's
``unassigned_since`` when someone acted): a row whose period is not the number's current one
is over, so a follow-up closes by itself when the next sync sees the number assigned or gone,
without the sync knowing about follow-ups. An action reads the number and the follow-up and
writes both the row and a history line inside one write transaction, which both backends
serialize (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory transaction lock): of two
people taking a number at once, the second sees the first as its owner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from syncbot.followups import (
    ActionKind,
    ActionResult,
    FollowUp,
    FollowUpAction,
    FollowUpRef,
    NumberChanged,
    OwnedByOther,
    Person,
)
from syncbot.models import Key

if TYPE_CHECKING:
    from syncbot.store.backend import Cursor
    from syncbot.store.sql import SqlStore

_FOLLOWUP_COLUMNS = (
    "f.source, f.account, f.number_id, f.since, f.owner_id, f.owner_name, f.owned_at, "
    "f.expected_until, f.reason, f.expected_by_id, f.expected_by_name"
)
# The follow-ups of the numbers unassigned now, for their current period.
_CURRENT = (
    f"SELECT {_FOLLOWUP_COLUMNS} FROM followups f JOIN numbers n "  # noqa: S608 - fixed columns
    "ON n.source = f.source AND n.account = f.account AND n.number_id = f.number_id "
    "WHERE n.status = 'unassigned' AND n.unassigned_since = f.since"
)
_ACTION_COLUMNS = (
    "action_id, kind, source, account, number_id, phone_number, user_id, user_name, at, "
    "expected_until, reason"
)


def _day(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _person(user_id: Any, name: Any) -> Person | None:
    return None if user_id is None else Person(user_id, name)


def _followup(store: SqlStore, r: Sequence[Any]) -> FollowUp:
    since = store.from_db_time(r[3])
    assert since is not None
    return FollowUp(
        key=(r[0], r[1], r[2]),
        since=since,
        owner=_person(r[4], r[5]),
        owned_at=store.from_db_time(r[6]),
        expected_until=_day(r[7]),
        reason=r[8],
        expected_by=_person(r[9], r[10]),
    )


def current_followups(store: SqlStore, cur: Cursor, key: Key | None = None) -> list[FollowUp]:
    statement = _CURRENT
    params: tuple[str, ...] = ()
    if key is not None:
        statement += " AND f.source = ? AND f.account = ? AND f.number_id = ?"
        params = key
    cur.execute(store.sql(statement), params)
    return [_followup(store, r) for r in cur.fetchall()]


def read_actions(
    store: SqlStore,
    cur: Cursor,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    key: Key | None,
    after_id: int | None = None,
) -> list[FollowUpAction]:
    where: list[str] = []
    params: list[Any] = []
    if after_id is not None:
        where.append("action_id > ?")
        params.append(after_id)
    if since is not None:
        where.append("at >= ?")
        params.append(store.to_db_time(since))
    if until is not None:
        where.append("at < ?")
        params.append(store.to_db_time(until))
    if key is not None:
        where.append("source = ? AND account = ? AND number_id = ?")
        params.extend(key)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur.execute(
        store.sql(f"SELECT {_ACTION_COLUMNS} FROM followup_actions{clause} ORDER BY action_id"),  # noqa: S608 - fixed clauses
        params,
    )
    return [_action(store, r) for r in cur.fetchall()]


def _action(store: SqlStore, r: Sequence[Any]) -> FollowUpAction:
    at = store.from_db_time(r[8])
    assert at is not None
    return FollowUpAction(
        action_id=int(r[0]),
        kind=ActionKind(r[1]),
        key=(r[2], r[3], r[4]),
        phone_number=r[5],
        who=Person(r[6], r[7]),
        at=at,
        until=_day(r[9]),
        reason=r[10],
    )


def _open(store: SqlStore, cur: Cursor, ref: FollowUpRef) -> tuple[str, FollowUp]:
    """The number's phone text and its follow-up as it stands, or ``NumberChanged``."""
    cur.execute(
        store.sql(
            "SELECT phone_number, status, agent_id, unassigned_since FROM numbers "
            "WHERE source = ? AND account = ? AND number_id = ?"
        ),
        ref.key,
    )
    row = cur.fetchone()
    if row is None:
        raise NumberChanged(ref.key, None, "gone")
    phone, status, agent, raw_since = row
    since = store.from_db_time(raw_since)
    if status != "unassigned" or since is None:
        raise NumberChanged(ref.key, phone, "assigned", agent_id=agent)
    if ref.since is not None and ref.since != since:
        raise NumberChanged(ref.key, phone, "reopened")
    found = current_followups(store, cur, ref.key)
    return phone, found[0] if found else FollowUp(key=ref.key, since=since)


def _save(
    store: SqlStore, cur: Cursor, followup: FollowUp, phone: str, action: FollowUpAction
) -> ActionResult:
    owner, by = followup.owner, followup.expected_by
    cur.execute(
        store.sql("DELETE FROM followups WHERE source = ? AND account = ? AND number_id = ?"),
        followup.key,
    )
    cur.execute(
        store.sql(
            # The period as the numbers table holds it, byte for byte, for the join in _CURRENT.
            "INSERT INTO followups (source, account, number_id, since, owner_id, owner_name, "
            "owned_at, expected_until, reason, expected_by_id, expected_by_name, updated_at) "
            "SELECT source, account, number_id, unassigned_since, ?, ?, ?, ?, ?, ?, ?, ? "
            "FROM numbers WHERE source = ? AND account = ? AND number_id = ?"
        ),
        (
            owner.user_id if owner else None,
            owner.name if owner else None,
            store.to_db_time(followup.owned_at),
            followup.expected_until.isoformat() if followup.expected_until else None,
            followup.reason,
            by.user_id if by else None,
            by.name if by else None,
            store.to_db_time(action.at),
            *followup.key,
        ),
    )
    cur.execute(
        store.sql(
            "INSERT INTO followup_actions (kind, source, account, number_id, phone_number, "
            "user_id, user_name, at, expected_until, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        (
            action.kind.value,
            *action.key,
            phone,
            action.who.user_id,
            action.who.name,
            store.to_db_time(action.at),
            action.until.isoformat() if action.until else None,
            action.reason,
        ),
    )
    cur.execute("SELECT MAX(action_id) FROM followup_actions")
    action_id = int(cur.fetchone()[0])
    return ActionResult(followup, _renumbered(action, action_id))


def _renumbered(action: FollowUpAction, action_id: int) -> FollowUpAction:
    return FollowUpAction(
        action_id,
        action.kind,
        action.key,
        action.phone_number,
        action.who,
        action.at,
        action.until,
        action.reason,
    )


def take(
    store: SqlStore, cur: Cursor, ref: FollowUpRef, who: Person, at: dt.datetime
) -> ActionResult:
    phone, current = _open(store, cur, ref)
    if current.owner is not None:
        if current.owner.user_id == who.user_id:
            return ActionResult(current, None)
        raise OwnedByOther(ref.key, phone, current.owner, current.owned_at)
    taken = FollowUp(key=ref.key, since=current.since, owner=who, owned_at=at)
    return _save(
        store, cur, taken, phone, FollowUpAction(0, ActionKind.TAKE, ref.key, phone, who, at)
    )


def expect(
    store: SqlStore,
    cur: Cursor,
    ref: FollowUpRef,
    who: Person,
    at: dt.datetime,
    *,
    until: dt.date,
    reason: str,
) -> ActionResult:
    phone, current = _open(store, cur, ref)
    if current.owner is not None and current.owner.user_id != who.user_id:
        raise OwnedByOther(ref.key, phone, current.owner, current.owned_at)
    expected = FollowUp(
        key=ref.key, since=current.since, expected_until=until, reason=reason, expected_by=who
    )
    action = FollowUpAction(0, ActionKind.EXPECT, ref.key, phone, who, at, until, reason)
    return _save(store, cur, expected, phone, action)


def release(
    store: SqlStore, cur: Cursor, ref: FollowUpRef, who: Person, at: dt.datetime
) -> ActionResult:
    phone, current = _open(store, cur, ref)
    if current.owner is None:
        return ActionResult(current, None)
    if current.owner.user_id != who.user_id:
        raise OwnedByOther(ref.key, phone, current.owner, current.owned_at)
    released = FollowUp(key=ref.key, since=current.since)
    action = FollowUpAction(0, ActionKind.RELEASE, ref.key, phone, who, at)
    return _save(store, cur, released, phone, action)
