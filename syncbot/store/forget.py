"""Forgetting a source, or one account of it, that the settings no longer name.

Its numbers would otherwise stay in the inventory, marked stale, for good (a sandbox tried
before the real credentials, an account closed since). They leave as a run of their own: a
``removed`` change for each, so the history, ``/numbers changes`` and the sheet's ``Changes``
tab say what went and when, and the source's health goes with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncbot.models import RunResult
from syncbot.store.reconcile import close_run, open_run

if TYPE_CHECKING:
    from syncbot.store.backend import Cursor
    from syncbot.store.sql import SqlStore


def forget_rows(
    store: SqlStore, cur: Cursor, source: str, account: str | None, result: RunResult
) -> int:
    """Remove the numbers and health of ``source`` (all its accounts when ``account`` is None)
    in the run ``result`` describes; returns its run id."""
    run_id = open_run(store, cur, result)
    where = "source = ?" if account is None else "source = ? AND account = ?"
    which = (source,) if account is None else (source, account)
    removed = (
        "INSERT INTO changes (run_id, kind, source, account, number_id, phone_number, "  # noqa: S608 - fixed clauses
        "agent_before, agent_after, label, at) SELECT ?, 'removed', source, account, "
        f"number_id, phone_number, agent_id, NULL, label, ? FROM numbers WHERE {where}"
    )
    cur.execute(store.sql(removed), (run_id, store.to_db_time(result.started_at), *which))
    cur.execute(store.sql(f"DELETE FROM numbers WHERE {where}"), which)  # noqa: S608 - as above
    cur.execute(store.sql(f"DELETE FROM source_states WHERE {where}"), which)  # noqa: S608
    close_run(store, cur, result, run_id)
    return run_id
