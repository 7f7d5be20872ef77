"""This run's ``Changes`` rows, led by what people wrote on the Inventory rows that went."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from syncbot.followups import FollowUpAction
from syncbot.models import Change, ChangeKind, Key, iso
from syncbot.sheets import layout

CHANGES_PER_RUN = 1_000


def change_lines(
    removed: Sequence[tuple[Key, list[tuple[str, str]], bool]],
    changes: Iterable[Change],
    *,
    run_id: int | None,
    now: dt.datetime,
    actions: Sequence[FollowUpAction] = (),
) -> list[list[str]]:
    """This run's Changes rows, led by those that keep what people wrote on a deleted row.

    Every deleted row that held people's cells gets a line, even without a matching change (a
    sheet out of step with the store, a duplicated row: ``removed`` says which), so that
    nothing people wrote disappears without a trace. ``changes`` is walked once, keeping only
    what the lines need.
    """
    wanted = {key for key, _, duplicate in removed if not duplicate}
    by_key: dict[Key, Change] = {}
    rest: list[Change] = []
    more = 0
    room = max(CHANGES_PER_RUN - len(removed) - len(actions), 0)
    for c in changes:
        if c.kind is ChangeKind.REMOVED and c.key in wanted and c.key not in by_key:
            by_key[c.key] = c
        elif len(rest) < room:
            rest.append(c)
        else:
            more += 1
    with_notes: list[list[str]] = []
    for key, pairs, duplicate in removed:
        notes = layout.notes_text(pairs)
        change = None if duplicate else by_key.pop(key, None)
        if change is not None:
            with_notes.append(layout.change_row(change, run_id=run_id, notes=notes))
            continue
        reason = "duplicate row" if duplicate else "removed"
        with_notes.append(layout.dropped_row(now, run_id, key, reason, notes))
    # What people did on follow-ups since the previous write: few, and each one kept.
    lines = with_notes + [layout.followup_row(a, run_id=run_id) for a in actions]
    lines += [layout.change_row(c, run_id=run_id) for c in rest]
    if more:
        # A first sync of thousands of numbers would bury the tab; the store keeps them all.
        note = f"{more} more changes of this run: run `syncbot query changes`"
        run = "" if run_id is None else str(run_id)
        lines.append([iso(now) or "", run, "more", *([""] * 7), note])
    return [[layout.cut(value) for value in line] for line in lines]
