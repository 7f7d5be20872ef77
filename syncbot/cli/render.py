"""Human output of the commands: aligned tables and short summaries (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from syncbot.logs import printable, terminal
from syncbot.models import Change, PhoneNumber, RunResult, iso
from syncbot.normalize import international
from syncbot.query import USAGE, Answer, counted


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is not padded.

    Cells are escaped first (``printable``), so provider text never drives the terminal and
    the columns line up with what is shown.
    """
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    # Provider text is data: a newline in a label must not break the table.
    return " ".join(str(value).split())


def numbers_table(
    numbers: Sequence[PhoneNumber], *, followup: Callable[[PhoneNumber], str] | None = None
) -> str:
    """The numbers, one a line; with ``followup`` (``Answer.followup_text``) who is on each."""
    header: tuple[str, ...] = (
        "PHONE NUMBER",
        "STATUS",
        "AGENT",
        "LABEL",
        "SOURCE",
        "COUNTRY",
        "TYPE",
        "CARRIER",
    )
    rows: list[tuple[str, ...]] = [
        (
            international(n.phone_number) + ("" if n.valid else " (invalid)"),
            n.status + (" (stale)" if n.stale else ""),
            _text(n.agent_id),
            _text(n.label)[:40],
            n.source_key,
            _text(n.country_code),
            _text(n.number_type),
            _text(n.carrier),
        )
        for n in numbers
    ]
    if followup is not None:
        header += ("FOLLOW-UP",)
        rows = [(*row, _text(followup(n) or None)) for row, n in zip(rows, numbers, strict=True)]
    return table(header, rows)


def changes_table(changes: Sequence[Change]) -> str:
    header = ("CHANGE", "PHONE NUMBER", "AGENT BEFORE", "AGENT AFTER", "SOURCE", "AT")
    rows = [
        (
            c.kind.value,
            international(c.phone_number),
            _text(c.agent_before),
            _text(c.agent_after),
            f"{c.source}/{c.account}",
            iso(c.at) or "-",
        )
        for c in changes
    ]
    return table(header, rows)


def sync_summary(result: RunResult, *, store_label: str) -> str:
    """What a person wants to read after ``syncbot sync``."""
    if result.status == "skipped":
        return f"Skipped: {result.message}."
    if not result.sources and result.message:
        # The run never began: another one holds the lock, stuck.
        return terminal(f"Sync failed: {result.message}")
    run = "dry run, nothing stored" if result.dry_run else f"run {result.run_id}"
    lines = [
        f"Sync {result.status} ({run}, {result.took}): {result.total:,} numbers, "
        f"{result.unassigned:,} unassigned",
        "",
    ]
    rows = []
    for s in result.sources.values():
        note = s.error or "; ".join(s.warnings)
        if s.invalid:
            note = f"{s.invalid} invalid record(s) skipped (see log). {note}".strip()
        rows.append(
            (
                s.key,
                s.status,
                f"{s.count:,}" if s.status == "ok" else "-",
                str(s.pages),
                str(s.requests),
                str(s.retries),
                note or "",
            )
        )
    lines.append(
        table(("SOURCE", "STATUS", "NUMBERS", "PAGES", "REQUESTS", "RETRIES", "NOTE"), rows)
    )
    changes = ", ".join(f"{n:,} {kind}" for kind, n in result.changes.items())
    lines += ["", f"Changes: {changes}"]
    failed = [s.key for s in result.sources.values() if s.status == "failed"]
    kept = result.total - sum(s.count for s in result.sources.values() if s.status == "ok")
    if kept:
        lines.append(
            f"Kept {kept:,} numbers from earlier syncs, marked stale, until a sync of their "
            "source succeeds."
        )
    elif failed:
        lines.append(
            f"No earlier numbers of {', '.join(failed)} to keep: nothing is stored for it yet."
        )
    if result.sheet.status == "ok":
        lines.append(f"Sheet: written ({result.sheet.url or 'the configured sheet'}).")
    elif result.sheet.status == "failed":
        lines.append(f"Sheet: FAILED: {result.sheet.error}")
    elif not result.dry_run:
        lines.append(
            f"Sheet: not configured; the inventory is in the store ({store_label}). Read it "
            "with `syncbot query unassigned` or `syncbot export --csv inventory.csv`."
        )
    return terminal("\n".join(lines))


def answer_text(answer: Answer, *, command: str = "syncbot query") -> str:
    """The terminal rendering of a query's answer."""
    out = [f"! {w}" for w in answer.warnings]
    action = answer.query.action
    if action == "help":
        # The terminal runs syncs with `syncbot sync`, not through the query grammar.
        usage = [line for line in USAGE.splitlines() if not line.startswith("/numbers sync ")]
        out.append("\n".join(usage).replace("/numbers", command))
    elif action == "sync":
        out.append("To run a sync from the terminal, use `syncbot sync`.")
    elif action == "stats":
        out.append(counted(len(answer.numbers), "number"))
        out += answer.cost_lines()
        out += answer.followup_lines()
        for name, counts in answer.stats.items():
            out += [
                "",
                table(
                    (name.removeprefix("by_").upper(), "NUMBERS"),
                    [(k, f"{v:,}") for k, v in counts.items()],
                ),
            ]
    elif action == "changes":
        run = answer.run.run_id if answer.run else "-"
        window = answer.query.window
        when = f"the latest sync (run {run})" if window is None else f"the last {_span(window)}"
        out.append(f"{counted(len(answer.changes), 'change')} in {when}")
        if answer.changes:
            out += ["", changes_table(answer.changes)]
    elif action == "status":
        out.append(status_text(answer))
    else:
        verb = "matches" if len(answer.numbers) == 1 else "match"
        out.append(f"{counted(len(answer.numbers), 'number')} {verb} `{answer.query.text}`")
        out += answer.cost_lines()
        out += answer.followup_lines()
        if answer.numbers:
            out += ["", numbers_table(answer.numbers, followup=answer.followup_text)]
    return terminal("\n".join(out))


def _span(window: dt.timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return counted(hours, "hour") if hours % 24 else counted(hours // 24, "day")


def status_text(answer: Answer) -> str:
    if answer.run is None:
        return "No sync has run yet."
    run = answer.run
    lines = [
        f"Latest sync: run {run.run_id}, {run.status}, finished {iso(run.finished_at)}; "
        f"{len(answer.numbers):,} numbers",
        "",
    ]
    rows = [
        (
            s.key,
            s.status,
            iso(s.last_ok_at) or "never",
            (s.error or "")[:120],
        )
        for s in answer.states
    ]
    lines.append(table(("SOURCE", "HEALTH", "LAST OK", "ERROR"), rows))
    lines += ["", _sheet_line(answer)]
    return "\n".join(lines)


def _sheet_line(answer: Answer) -> str:
    health = answer.sheet_health()
    if health["status"] == "off":
        return "Sheet: off (GOOGLE_SHEET_ID is not set)"
    last = health["last_ok_at"]
    if health["status"] == "failing":
        return f"Sheet: FAILING: {health['error']} (last written {last or 'never'})"
    return f"Sheet: ok (last written {last})" if last else "Sheet: not written yet"
