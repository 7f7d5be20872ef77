"""A run's diff, worked out in the store: the staged listings against the previous snapshot.

The commit finds the changes (added, removed, assigned, unassigned, reassigned, re-keyed), the
history fields, the stale rows and the source states with set operations over ``staged``
(``staging``), in the transaction that stores them, on SQLite and PostgreSQL alike. Apart from
``staging``, which only gathers a run's listings as they arrive.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from syncbot.models import RunResult, count_changes
from syncbot.store.staging import HELD, LISTED

if TYPE_CHECKING:
    from syncbot.store.backend import Cursor
    from syncbot.store.sql import SqlStore

_SAME_NUMBER = "n.source = s.source AND n.account = s.account AND n.number_id = s.number_id"
# Removals need proof: a source that listed fine, and whose listing was shown complete.
_SETTLED_SOURCE = (
    "EXISTS (SELECT 1 FROM run_sources r WHERE r.source = n.source "
    "AND r.account = n.account AND r.status = 'ok' AND r.complete)"
)
_GONE = f"NOT EXISTS (SELECT 1 FROM staged s WHERE {_SAME_NUMBER})"
# Null-safe: `IS DISTINCT FROM` needs SQLite 3.39, and SQLite's `IS NOT` is not PostgreSQL's.
_AGENT_DIFFERS = "(n.agent_id <> s.agent_id OR (n.agent_id IS NULL) <> (s.agent_id IS NULL))"
_CHANGE_COLUMNS = (
    "run_id, kind, source, account, number_id, phone_number, agent_before, agent_after, label, at"
)
# Held rows of numbers the store does not have hold nothing.
_UNHELD = (
    f"DELETE FROM staged WHERE NOT fresh AND digest = {HELD} AND NOT EXISTS (SELECT 1 FROM "
    "numbers n WHERE n.source = staged.source AND n.account = staged.account "
    "AND n.number_id = staged.number_id)"
)
# A re-key: a number listed under an id the store does not have, whose phone number (E.164,
# or the provider's text when it is not one) is stored in the same account under exactly one
# id that this listing lacks, and listed under no other new id. (A phone number that two new
# ids share is no re-key anyone can be sure of.)
_REKEYS = (
    "INSERT INTO rekeys (source, account, old_id, new_id) "
    "SELECT s.source, s.account, n.number_id, s.number_id FROM staged s JOIN numbers n "
    "ON n.phone_number = s.phone_number AND n.source = s.source AND n.account = s.account "
    "WHERE s.fresh "
    "AND NOT EXISTS (SELECT 1 FROM numbers m WHERE m.source = s.source "
    "AND m.account = s.account AND m.number_id = s.number_id) "
    "AND NOT EXISTS (SELECT 1 FROM staged t WHERE t.source = n.source "
    "AND t.account = n.account AND t.number_id = n.number_id) "
    "AND NOT EXISTS (SELECT 1 FROM numbers m WHERE m.phone_number = n.phone_number "
    "AND m.source = n.source AND m.account = n.account AND m.number_id <> n.number_id) "
    "AND (s.source, s.account, s.phone_number) NOT IN (SELECT source, account, phone_number "
    "FROM staged WHERE fresh AND phone_number IS NOT NULL "
    "GROUP BY source, account, phone_number HAVING COUNT(*) > 1) "
    "ON CONFLICT (source, account, old_id) DO NOTHING"
)
_REKEYED = (
    f"INSERT INTO changes ({_CHANGE_COLUMNS}, previous_id) "
    "SELECT ?, 'rekeyed', k.source, k.account, k.new_id, s.phone_number, n.agent_id, "
    "s.agent_id, s.label, ?, k.old_id FROM rekeys k "
    "JOIN numbers n ON n.source = k.source AND n.account = k.account AND n.number_id = k.old_id "
    "JOIN staged s ON s.source = k.source AND s.account = k.account AND s.number_id = k.new_id"
)
# The stored row moves to its new id, history and all (its follow-up too); the diff then
# sees the number as stored, so a re-key is neither added nor removed (a change of agent
# still shows).
_REKEY = tuple(
    f"UPDATE {table} SET number_id = (SELECT k.new_id FROM rekeys k WHERE k.source = "
    f"{table}.source AND k.account = {table}.account AND k.old_id = {table}.number_id) "
    f"WHERE EXISTS (SELECT 1 FROM rekeys k WHERE k.source = {table}.source "
    f"AND k.account = {table}.account AND k.old_id = {table}.number_id)"
    for table in ("numbers", "followups")
)
# Per account: the stored numbers, those listed again (a kept row's number is stored by
# construction) and the re-keyed ones; the rest are the stored keys the listing lacks.
_STORED_BY_ACCOUNT = "SELECT source, account, COUNT(*) FROM numbers GROUP BY source, account"
_LISTED_AGAIN_BY_ACCOUNT = (
    "SELECT source, account, COUNT(*) FROM staged WHERE NOT fresh GROUP BY source, account "
    "UNION ALL SELECT s.source, s.account, COUNT(*) FROM staged s JOIN numbers n "
    f"ON {_SAME_NUMBER} WHERE s.fresh GROUP BY s.source, s.account "
    "UNION ALL SELECT source, account, COUNT(*) FROM rekeys GROUP BY source, account"
)
_STATE_UPSERT = (
    "ON CONFLICT (source, account) DO UPDATE SET status = excluded.status, "
    "last_ok_at = CASE WHEN excluded.status = 'ok' THEN excluded.last_ok_at "
    "ELSE source_states.last_ok_at END, "
    "last_attempt_at = excluded.last_attempt_at, error = excluded.error"
)
_UPSERT_SET = ", ".join(
    f"{name} = excluded.{name}" for name in (*LISTED, "first_seen_at", "unassigned_since", "digest")
)
# Each statement takes (run_id, now) or (now,) or (now, now) as its `?`s say, in order.
_DIFF = (
    # Numbers of listed sources that the store did not have.
    f"INSERT INTO changes ({_CHANGE_COLUMNS}) "
    "SELECT ?, 'added', s.source, s.account, s.number_id, s.phone_number, NULL, s.agent_id, "
    "s.label, ? FROM staged s "
    f"WHERE s.fresh AND NOT EXISTS (SELECT 1 FROM numbers n WHERE {_SAME_NUMBER})",
    # Numbers whose agent changed; a kept row's content is the stored row's, so only fresh ones.
    f"INSERT INTO changes ({_CHANGE_COLUMNS}) "
    "SELECT ?, CASE WHEN n.status = 'unassigned' THEN 'assigned' "
    "WHEN s.status = 'unassigned' THEN 'unassigned' ELSE 'reassigned' END, "
    "s.source, s.account, s.number_id, s.phone_number, n.agent_id, s.agent_id, s.label, ? "
    f"FROM staged s JOIN numbers n ON {_SAME_NUMBER} "
    "WHERE s.fresh AND (n.status <> s.status "
    f"OR (s.status = 'assigned' AND {_AGENT_DIFFERS}))",
)
# Stored numbers that a source which listed fine no longer lists.
_REMOVED = (
    f"INSERT INTO changes ({_CHANGE_COLUMNS}) "
    "SELECT ?, 'removed', n.source, n.account, n.number_id, n.phone_number, n.agent_id, NULL, "
    f"n.label, ? FROM numbers n WHERE {_SETTLED_SOURCE} AND {_GONE}"
)
_REMOVE = f"DELETE FROM numbers AS n WHERE {_SETTLED_SOURCE} AND {_GONE}"
# Whether anything was removed, by counting: the ok sources' stored numbers against those
# listed again (a kept row's number is stored by construction). Finding the removed ones
# looks each stored number up; counting walks the indexes, many times cheaper.
_STORED_OF_OK_SOURCES = (
    "SELECT COUNT(*) FROM run_sources r JOIN numbers n "
    "ON n.source = r.source AND n.account = r.account WHERE r.status = 'ok'"
)
_STORED_OF_LISTED = (
    "SELECT COUNT(*) FROM (SELECT DISTINCT source, account FROM staged) a JOIN numbers n "
    "ON n.source = a.source AND n.account = a.account"
)
_LISTED_AGAIN = (
    "SELECT (SELECT COUNT(*) FROM staged WHERE NOT fresh) + "
    f"(SELECT COUNT(*) FROM staged s JOIN numbers n ON {_SAME_NUMBER} WHERE s.fresh)"
)
# New and changed numbers; first seen and unassigned-since carry over from the stored row.
# (SQLite needs the WHERE to tell the upsert's ON CONFLICT from a join's ON.)
_UPSERT = (
    f"INSERT INTO numbers (source, account, number_id, {', '.join(LISTED)}, first_seen_at, "
    "unassigned_since, digest) "
    f"SELECT s.source, s.account, s.number_id, {', '.join(f's.{c}' for c in LISTED)}, "
    "COALESCE(n.first_seen_at, ?), CASE WHEN s.status = 'unassigned' THEN "
    "CASE WHEN n.status = 'unassigned' THEN n.unassigned_since ELSE ? END END, s.digest "
    f"FROM staged s LEFT JOIN numbers n ON {_SAME_NUMBER} WHERE s.fresh "
    f"ON CONFLICT (source, account, number_id) DO UPDATE SET {_UPSERT_SET}"
)
_STATES = (
    # This run's sources: ok ones were seen now; failed ones keep when they last were.
    "INSERT INTO source_states (source, account, status, last_ok_at, last_attempt_at, error) "
    "SELECT source, account, status, CASE WHEN status = 'ok' THEN ? END, ?, error "
    f"FROM run_sources WHERE true {_STATE_UPSERT}",
    # Sources no longer configured whose rows the store still has: kept, stale.
    "INSERT INTO source_states (source, account, status, last_ok_at, last_attempt_at, error) "
    "SELECT u.source, u.account, 'unconfigured', NULL, ?, NULL FROM "
    "(SELECT DISTINCT source, account FROM numbers n WHERE NOT EXISTS (SELECT 1 FROM "
    f"run_sources r WHERE r.source = n.source AND r.account = n.account)) u WHERE true "
    f"{_STATE_UPSERT}",
)


def _rekeys(cur: Cursor, *, held: bool) -> None:
    """Drop the held rows of numbers the store lacks, then find this listing's re-keys."""
    if held:
        cur.execute(_UNHELD)
    cur.execute("DELETE FROM rekeys")
    # Only a listing that lacks some stored number can have re-keyed one; a first sync, or
    # an unchanged one, skips the search.
    if _count(cur, _STORED_OF_LISTED) != _count(cur, _LISTED_AGAIN):
        cur.execute(_REKEYS)


def unlisted(cur: Cursor, *, held: bool) -> dict[str, int]:
    """Per stored ``source/account``: how many of its stored numbers this run's listing lacks,
    re-keyed numbers aside (what a removal would take, were the listing complete)."""
    _rekeys(cur, held=held)
    cur.execute(_STORED_BY_ACCOUNT)
    out = {f"{source}/{account}": int(count) for source, account, count in cur.fetchall()}
    cur.execute(_LISTED_AGAIN_BY_ACCOUNT)
    for source, account, count in cur.fetchall():
        key = f"{source}/{account}"
        out[key] = out.get(key, 0) - int(count)
    cur.execute("DELETE FROM rekeys")
    return out


def open_run(store: SqlStore, cur: Cursor, result: RunResult) -> int:
    """A new run's row; fills in ``result``'s run id (``close_run`` records the rest)."""
    assert result.finished_at is not None
    result.run_id = store.insert_id(
        cur,
        "INSERT INTO runs (status, started_at, finished_at, result) VALUES (?, ?, ?, ?)",
        (
            result.status,
            store.to_db_time(result.started_at),
            store.to_db_time(result.finished_at),
            "{}",
        ),
        key="run_id",
    )
    return result.run_id


def close_run(store: SqlStore, cur: Cursor, result: RunResult, run_id: int) -> None:
    """Count the snapshot and the run's changes into ``result`` and store it with its run."""
    cur.execute("SELECT COUNT(*), COUNT(CASE WHEN status = 'unassigned' THEN 1 END) FROM numbers")
    total, unassigned = cur.fetchone()
    result.total, result.unassigned = int(total), int(unassigned)
    cur.execute(
        store.sql("SELECT kind, COUNT(*) FROM changes WHERE run_id = ? GROUP BY kind"), (run_id,)
    )
    result.changes = count_changes([])
    for kind, count in cur.fetchall():
        result.changes[kind] = int(count)
    cur.execute(
        store.sql("UPDATE runs SET result = ? WHERE run_id = ?"),
        (json.dumps(result.to_dict()), run_id),
    )


def apply_run(store: SqlStore, cur: Cursor, result: RunResult) -> int:
    """Fold the staged listings into the snapshot; fills in ``result``'s run id, totals and
    changes."""
    now = store.to_db_time(result.started_at)
    run_id = open_run(store, cur, result)
    cur.executemany(
        store.sql(
            "INSERT INTO run_sources (source, account, status, error, complete) "
            "VALUES (?, ?, ?, ?, ?)"
        ),
        [
            (s.source, s.account, s.status, s.error, s.status == "ok" and s.complete)
            for s in result.sources.values()
        ],
    )
    # A failed source's partial listing changes nothing: its stored rows stay, stale.
    cur.execute(
        "DELETE FROM staged WHERE NOT EXISTS (SELECT 1 FROM run_sources r "
        "WHERE r.source = staged.source AND r.account = staged.account AND r.status = 'ok')"
    )
    _rekeys(cur, held=any(s.invalid for s in result.sources.values()))
    cur.execute(store.sql(_REKEYED), (run_id, now))
    for statement in _REKEY:
        cur.execute(statement)
    for statement in _DIFF:
        cur.execute(store.sql(statement), (run_id, now))
    if _count(cur, _STORED_OF_OK_SOURCES) != _count(cur, _LISTED_AGAIN):
        cur.execute(store.sql(_REMOVED), (run_id, now))
        cur.execute(_REMOVE)
    cur.execute(store.sql(_UPSERT), (now, now))
    cur.execute(store.sql(_STATES[0]), (now, now))
    cur.execute(store.sql(_STATES[1]), (now,))
    close_run(store, cur, result, run_id)
    for table in ("staged", "run_sources", "rekeys"):
        cur.execute(f"DELETE FROM {table}")
    return run_id


def _count(cur: Cursor, query: str) -> int:
    cur.execute(query)
    return int(cur.fetchone()[0])
