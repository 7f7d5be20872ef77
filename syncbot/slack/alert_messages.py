"""The channel alerts after a sync: what changed, and which sources started failing or
recovered. Pure functions from a run's result (and its changes) to Block Kit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from syncbot.followups import FollowUpRef
from syncbot.models import Change, ChangeKind, RunResult
from syncbot.normalize import international
from syncbot.query import counted
from syncbot.slack.followup_views import number_rows
from syncbot.slack.kit import MAX_BLOCKS, Message, clip, context, escape, packed, plain

# How many examples of each kind of change an alert lists before "and N more".
ALERT_EXAMPLES = 5

_ALERT_KINDS = (
    (ChangeKind.UNASSIGNED, "became unassigned"),
    (ChangeKind.REMOVED, "removed"),
    (ChangeKind.ADDED, "added"),
)


def _examples(items: Sequence[Change], count: int) -> str:
    shown = [escape(plain(international(c.phone_number), 40)) for c in items[:ALERT_EXAMPLES]]
    more = f" and {count - len(shown):,} more" if count > len(shown) else ""
    return ", ".join(shown) + more


def _first_of_each_kind(
    changes: Iterable[Change], counts: Mapping[ChangeKind, int]
) -> dict[ChangeKind, list[Change]]:
    """The first few changes of each kind, reading ``changes`` only as far as they are found:
    a first sync's 500,000 additions are never all read for the five shown."""
    wanted = {kind: min(n, ALERT_EXAMPLES) for kind, n in counts.items() if n}
    found: dict[ChangeKind, list[Change]] = {kind: [] for kind in wanted}
    missing = sum(wanted.values())
    if missing:
        for change in changes:
            examples = found.get(change.kind)
            if examples is not None and len(examples) < wanted[change.kind]:
                examples.append(change)
                missing -= 1
                if not missing:
                    break
    return found


def alert_message(
    result: RunResult, changes: Iterable[Change], *, sheet: str | None = None
) -> Message | None:
    """The channel alert after a sync that changed numbers, or ``None`` when none changed.

    Counts come from ``result``; ``changes`` (the run's, in order) give the examples.
    """
    counts = {kind: result.changes.get(kind.value, 0) for kind in ChangeKind}
    first = first_sync(result)
    if first is not None:
        # Every number is new to an empty store: "404 added" would tell nobody anything.
        counts[ChangeKind.ADDED] = 0
    by_kind = _first_of_each_kind(changes, counts)
    lines = [] if first is None else [f"*First sync*: {first}"]
    lines += [
        f"*{counts[kind]:,} {label}*: {_examples(by_kind[kind], counts[kind])}"
        for kind, label in _ALERT_KINDS
        if counts[kind]
    ]
    if not lines:
        return None
    head = f"Phone numbers changed in sync run {result.run_id}"
    if first is not None:
        head = f"syncbot's first sync (run {result.run_id})"
    footer = f"{result.total:,} numbers, {result.unassigned:,} unassigned."
    others = [
        f"{counts[k]:,} {k.value}"
        for k in (ChangeKind.ASSIGNED, ChangeKind.REASSIGNED)
        if counts[k]
    ]
    if others:
        footer += f" Also {', '.join(others)}."
    if first is not None:
        # The first line already gave the counts.
        footer = ""
    if sheet:
        footer += f" <{sheet}|Open the sheet>."
    # Each number that became unassigned is an open follow-up: its row takes or expects it.
    # Its unassigned period began with this run, when the change was recorded.
    unrouted = [
        (FollowUpRef(c.key, c.at), c.phone_number, None)
        for c in by_kind.get(ChangeKind.UNASSIGNED, [])
    ]
    rows = number_rows(unrouted, today=result.started_at.date())
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": head}},
        *packed(lines, max_sections=MAX_BLOCKS - 2 - len(rows)),
        *rows,
        context((footer + " `/numbers changes` lists them all.").strip()),
    ]
    summary = [] if first is None else [first]
    summary += [f"{counts[k]:,} {label}" for k, label in _ALERT_KINDS if counts[k]]
    lead = head if first is None else "first sync"
    return {"text": clip(f"{lead}: {'; '.join(summary)}"), "blocks": blocks}


def first_sync(result: RunResult) -> str | None:
    """``404 numbers, 47 unassigned (54.05 USD a month)`` when this run filled an empty store
    (every number it holds was added by it); ``None`` for any later run."""
    added = result.changes.get("added", 0)
    if not added or added != result.total or result.changes.get("removed", 0):
        return None
    text = f"{result.total:,} numbers, {result.unassigned:,} unassigned"
    if result.monthly_cost is not None:
        text += f" ({result.monthly_cost.unassigned.text()} a month)"
    return text


def health_message(result: RunResult, *, sheet: str | None = None) -> Message | None:
    """The channel alert when sources or the sheet started failing or recovered; ``None`` when
    none did."""
    if not result.health and result.sheet_health is None:
        return None
    lines = []
    for key, health in result.health.items():
        source = result.sources.get(key)
        name = escape(plain(key, 80))
        if health == "failing":
            error = escape(plain((source.error if source else None) or "failed", 500))
            lines.append(
                f":warning: *{name} is failing*: {error}. Its previous numbers are kept, marked "
                "stale, until a sync of it succeeds."
            )
        else:
            count = f": {counted(source.count, 'number')} listed" if source else ""
            lines.append(f":white_check_mark: *{name} recovered*{count}.")
    if result.sheet_health == "failing":
        error = escape(plain(result.sheet.error or "failed", 500))
        lines.append(
            f":warning: *The sheet is failing*: {error}. The store has this sync; the sheet "
            "shows the last one written."
        )
    elif result.sheet_health == "recovered":
        lines.append(":white_check_mark: *The sheet recovered*: it shows this sync.")
    changed = {**result.health}
    if result.sheet_health is not None:
        changed["the sheet"] = result.sheet_health
    failing = [k for k, h in changed.items() if h == "failing"]
    recovered = [k for k, h in changed.items() if h == "recovered"]
    parts = [f"{', '.join(failing)} failing"] if failing else []
    parts += [f"{', '.join(recovered)} recovered"] if recovered else []
    what = "Source health" if result.health else "Sheet health"
    head = f"{what} changed in sync run {result.run_id}"
    footer = "`/numbers status` shows every source's health and the sheet's."
    if sheet:
        footer += f" <{sheet}|Open the sheet>."
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": head}},
        *packed(lines, max_sections=MAX_BLOCKS - 2),
        context(footer),
    ]
    return {"text": clip(escape(f"{head}: {'; '.join(parts)}")), "blocks": blocks}


def sheet_size_message(result: RunResult, *, sheet: str | None = None) -> Message:
    """The channel alert when the spreadsheet passed 80% of Google's cell limit, or came back
    under it."""
    warning = result.sheet.warning
    if warning is not None:
        head = "The spreadsheet is nearly full"
        line = f":warning: *{head}*: {escape(plain(warning, 500))}"
        text = f"{head}: {warning}"
    else:
        text = "The spreadsheet is back under 80% of Google's cell limit."
        line = f":white_check_mark: *{text}*"
    footer = f"Sync run {result.run_id}."
    if sheet:
        footer += f" <{sheet}|Open the sheet>."
    blocks = [*packed([line], max_sections=1), context(footer)]
    return {"text": clip(escape(text)), "blocks": blocks}
