"""This run's ``Changes`` rows, led by what people wrote on the Inventory rows that went."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Sequence

from syncbot.followups import FollowUpAction
from syncbot.models import Change, ChangeKind, Key, iso
from syncbot.sheets import layout

CHANGES_PER_RUN = 1_000


def change_lines(
    removed: Sequence[tuple[Key, list[tuple[str, str]]]],
    present: Container[Key],
    changes: Sequence[Change],
    *,
    run_id: int | None,
    now: dt.datetime,
    actions: Sequence[FollowUpAction] = (),
) -> list[list[str]]:
    """This run's Changes rows, led by those that keep what people wrote on a deleted row.

    Every deleted row that held people's cells gets a line, even without a matching change (a
    sheet out of step with the store, a duplicated row), so that nothing people wrote
    disappears without a trace.
    """
    by_key = {c.key: c for c in changes if c.kind is ChangeKind.REMOVED}
    used: set[int] = set()
    with_notes: list[list[str]] = []
    for key, pairs in removed:
        notes = layout.notes_text(pairs)
        change = by_key.get(key)
        if change is not None and id(change) not in used:
            used.add(id(change))
            with_notes.append(layout.change_row(change, run_id=run_id, notes=notes))
            continue
        reason = "duplicate row" if key in present else "removed"
        with_notes.append(layout.dropped_row(now, run_id, key, reason, notes))
    rest = [c for c in changes if id(c) not in used]
    room = max(CHANGES_PER_RUN - len(with_notes), 0)
    # What people did on follow-ups since the previous write: few, and each one kept.
    lines = with_notes + [layout.followup_row(a, run_id=run_id) for a in actions]
    room = max(room - len(actions), 0)
    lines += [layout.change_row(c, run_id=run_id) for c in rest[:room]]
    if len(rest) > room:
        # A first sync of thousands of numbers would bury the tab; the store keeps them all.
        note = f"{len(rest) - room} more changes of this run: run `syncbot query changes`"
        run = "" if run_id is None else str(run_id)
        lines.append([iso(now) or "", run, "more", *([""] * 7), note])
    return [[layout.cut(value) for value in line] for line in lines]
