"""Block Kit messages, built by pure functions from answers and run results.

Every text that came from a provider, a user or an error goes through ``escape`` where it is
inserted, so a label such as ``<!channel>`` shows as text and never pings anyone. Messages stay
within Slack's limits by construction: at most ``MAX_BLOCKS`` blocks, ``MAX_TEXT`` characters per
text (both kept by ``kit.py``'s builders), ``MAX_BUTTON_VALUE`` characters per button value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence

from syncbot.models import (
    Change,
    ChangeKind,
    PhoneNumber,
    RunRecord,
    RunResult,
    SourceState,
    ago,
    iso,
)
from syncbot.normalize import international
from syncbot.query import USAGE, Answer, counted, quoted
from syncbot.slack.kit import (
    Block,
    context,
    ephemeral,
    escape,
    packed,
    plain,
    section,
)
from syncbot.slack.kit import Message as Message  # noqa: PLC0414 - background.py imports it here

# A listed number's blocks, from the number, its line and its place in the list (the Slack app
# adds an unassigned number's buttons).
NumberBlocks = Callable[[PhoneNumber, str, int], list[Block]]

PAGE_SIZE = 20
MAX_BUTTON_VALUE = 2000
PAGE_ACTIONS = ("numbers_page_prev", "numbers_page_next")
SHARE_ACTION = "numbers_share"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_STATS_TITLES = {
    "by_source": "By source",
    "by_status": "By status",
    "by_country": "By country",
    "by_type": "By type",
}
_STATS_ROWS = 30
_STATUS_SOURCES = 40
_WARNINGS = 5


def _when(at: dt.datetime | None, now: dt.datetime) -> str:
    return "never" if at is None else f"{ago(now - at)} ago ({iso(at)})"


def sheet_url(sheet_id: str | None) -> str | None:
    return None if sheet_id is None else f"https://docs.google.com/spreadsheets/d/{sheet_id}"


# --- /numbers answers -----------------------------------------------------------------------


def usage_message(problem: str | None = None) -> Message:
    """The grammar, led by what was wrong with the query when there was something."""
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":grey_question: {escape(problem)}"))
    blocks.append(section(f"```{escape(USAGE)}```"))
    return ephemeral(blocks, escape(problem) if problem else "How to use /numbers")


def notice(text: str) -> Message:
    """A one-line answer written by us (it may hold mrkdwn); callers escape what they insert."""
    return ephemeral([section(text)], text)


def _warnings(found: Answer) -> list[Block]:
    if not found.warnings:
        return []
    lines = [f":warning: {escape(w)}" for w in found.warnings[:_WARNINGS]]
    if len(found.warnings) > _WARNINGS:
        more = len(found.warnings) - _WARNINGS
        lines.append(f"and {more} more warnings: `/numbers status` shows every source")
    return [section("\n".join(lines))]


def _sync_line(run: RunRecord | None, now: dt.datetime) -> str:
    if run is None:
        return "No sync yet."
    return f"From sync run {run.run_id} ({run.status}), finished {_when(run.finished_at, now)}."


def page_value(query_text: str, offset: int) -> str | None:
    """A button's value: the query and where the page starts (``None`` when it cannot fit)."""
    value = json.dumps({"q": query_text, "o": offset}, separators=(",", ":"))
    return value if len(value) <= MAX_BUTTON_VALUE else None


def read_page_value(value: str) -> tuple[str, int]:
    """The query text and offset a paging button carries; garbage reads as the first page."""
    try:
        data = json.loads(value)
        text, offset = data["q"], data["o"]
    except (ValueError, KeyError, TypeError):
        return "", 0
    if not isinstance(text, str) or not isinstance(offset, int) or isinstance(offset, bool):
        return "", 0
    return text, max(0, offset)


def first_of_page(offset: int, total: int) -> int:
    """``offset`` aligned to a page and moved back onto the last page when the list shrank."""
    last = max(0, (total - 1) // PAGE_SIZE * PAGE_SIZE)
    return min(max(0, offset) // PAGE_SIZE * PAGE_SIZE, last)


def _button(action_id: str, label: str, value: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def _actions(
    buttons: list[Block], query_text: str, offset: int, *, shareable: bool = True
) -> list[Block]:
    """The answer's buttons, ending with **Share in channel** (which re-runs the same page)
    when the answer is ``shareable``: one that matched nothing tells the channel nothing."""
    share = page_value(query_text, offset) if shareable else None
    if share is not None:
        buttons = [*buttons, _button(SHARE_ACTION, "Share in channel", share)]
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _pager(
    query_text: str, offset: int, total: int, sheet: str | None, *, shareable: bool
) -> list[Block]:
    if total <= PAGE_SIZE:
        return _actions([], query_text, offset, shareable=shareable)
    end = min(offset + PAGE_SIZE, total)
    text = f"Showing {offset + 1:,} to {end:,} of {total:,}."
    if sheet:
        text += f" The full list is in <{sheet}|the Google Sheet>."
    buttons = []
    for action_id, label, target, shown in (
        (PAGE_ACTIONS[0], "Previous", offset - PAGE_SIZE, offset > 0),
        (PAGE_ACTIONS[1], "Next", offset + PAGE_SIZE, end < total),
    ):
        value = page_value(query_text, target)
        if shown and value is not None:
            buttons.append(_button(action_id, label, value))
    return [context(text), *_actions(buttons, query_text, offset, shareable=shareable)]


def _asked(found: Answer) -> str:
    """The query as the asker typed it, quoted as code: a shared answer posts it under the
    bot's name, where a link or a mention in it must stay text."""
    return escape(quoted(plain(found.query.text, 200)))


def shareable(message: Message) -> bool:
    """Whether the answer carries a **Share in channel** button."""
    return any(
        element.get("action_id") == SHARE_ACTION
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    )


def shared(message: Message, user_id: str | None) -> Message:
    """``message`` posted for the whole channel: without buttons (a page shown to everyone must
    not be turned by one person), saying who shared it."""
    blocks = [b for b in message["blocks"] if b["type"] != "actions"]
    if user_id and _USER_ID.match(user_id):
        blocks.append(context(f"Shared by <@{user_id}> with `/numbers`."))
    return {
        "response_type": "in_channel",
        "replace_original": False,
        "text": message["text"],
        "blocks": blocks,
    }


def _number_line(n: PhoneNumber, followup: str = "") -> str:
    """A number in two lines; ``followup`` (``Answer.followup_text``) says who is on it."""
    head = f"*{escape(plain(international(n.phone_number), 40))}*"
    if not n.valid:
        head += " _(not a valid number)_"
    if n.unassigned:
        since = f" since {n.unassigned_since.date().isoformat()}" if n.unassigned_since else ""
        state = f"unassigned{since}"
        if followup:
            state += f" · _{escape(plain(followup, 300))}_"
    else:
        state = f"agent {escape(plain(n.agent_id or '', 80))}"
    first = [head, state]
    if n.label:
        first.append(f"“{escape(plain(n.label, 120))}”")
    details = [n.source_key, n.country_code, n.number_type, n.carrier]
    second = " · ".join(escape(plain(d, 60)) for d in details if d)
    if n.stale:
        second += " · _stale: its source failed in the latest sync_"
    return " · ".join(first) + "\n" + second


def _section(number: PhoneNumber, line: str, row: int) -> list[Block]:
    return [section(line)]


def _change_line(c: Change) -> str:
    phone = f"*{escape(plain(international(c.phone_number), 40))}*"
    before, after = (escape(plain(a or "no agent", 80)) for a in (c.agent_before, c.agent_after))
    what = {
        ChangeKind.ADDED: "added",
        ChangeKind.REMOVED: "removed",
        ChangeKind.ASSIGNED: f"assigned to {after}",
        ChangeKind.UNASSIGNED: f"unassigned (was {before})",
        ChangeKind.REASSIGNED: f"reassigned from {before} to {after}",
        ChangeKind.REKEYED: f"re-keyed (id was {escape(plain(c.previous_id or '', 80))})",
    }[c.kind]
    line = f"{phone} {what} · {escape(plain(f'{c.source}/{c.account}', 60))}"
    if c.label:
        line += f" · “{escape(plain(c.label, 120))}”"
    return line


def _listing(
    found: Answer,
    total: int,
    page: Sequence[Sequence[Block]],
    *,
    noun: str,
    now: dt.datetime,
    offset: int,
    sheet: str | None,
) -> Message:
    """A page of ``total`` items (``page`` holds their blocks from ``offset`` on)."""
    asked = _asked(found)
    if total == 0:
        summary = f"No {noun}s match {asked}."
    elif total > PAGE_SIZE:
        end = min(offset + PAGE_SIZE, total)
        summary = f"*{counted(total, noun)}* match {asked} (showing {offset + 1:,} to {end:,})."
    else:
        verb = "matches" if total == 1 else "match"
        summary = f"*{counted(total, noun)}* {verb} {asked}."
    money = [f":moneybag: {escape(line)}" for line in found.cost_lines()]
    blocks = [*_warnings(found), section("\n".join([summary, *money]))]
    if found.followup_counts is not None:
        who = "\n".join(f":raising_hand: {escape(line)}" for line in found.followup_lines())
        blocks.append(context(who))
    blocks += [block for item in page[:PAGE_SIZE] for block in item]
    blocks.append(context(_sync_line(found.run, now)))
    blocks += _pager(found.query.text, offset, total, sheet, shareable=total > 0)
    return ephemeral(blocks, " ".join([summary.replace("*", ""), *found.cost_lines()]))


def _stats(found: Answer, now: dt.datetime) -> Message:
    summary = f"*{counted(len(found.numbers), 'number')}*"
    if found.query.has_filters:
        summary += f" match {_asked(found)}"
    else:
        summary += " in the latest sync"
    blocks = [*_warnings(found), section(summary)]
    for key, title in _STATS_TITLES.items():
        counts = found.stats.get(key, {})
        shown = list(counts.items())[:_STATS_ROWS]
        text = " · ".join(f"{escape(plain(name, 60))} {n:,}" for name, n in shown)
        if len(counts) > len(shown):
            text += f" · and {len(counts) - len(shown)} more"
        blocks.append(section(f"*{title}*\n{text or 'none'}"))
    money = found.cost_lines()
    if money:
        blocks.append(section("*Monthly cost*\n" + "\n".join(escape(line) for line in money)))
    if found.followup_counts is not None:
        lines = "\n".join(escape(line) for line in found.followup_lines())
        blocks.append(section(f"*Follow-ups*\n{lines}"))
    blocks.append(context(_sync_line(found.run, now)))
    blocks += _actions([], found.query.text, 0, shareable=len(found.numbers) > 0)
    return ephemeral(blocks, summary.replace("*", ""))


def _source_line(state: SourceState, now: dt.datetime) -> str:
    name = f"*{escape(plain(state.key, 80))}*"
    if state.status == "ok":
        return f":white_check_mark: {name}: ok, listed {_when(state.last_ok_at, now)}"
    line = f":warning: {name}: {state.status} at {_when(state.last_attempt_at, now)}"
    if state.error:
        line += f": {escape(plain(state.error, 500))}"
    return line + f"; its numbers are from {_when(state.last_ok_at, now)}"


def sheet_line(found: Answer, now: dt.datetime) -> str:
    """The sheet's health, as ``status`` and the Home tab show it."""
    state = found.sheet
    if not found.sheet_configured:
        return ":heavy_minus_sign: *Sheet*: off (GOOGLE_SHEET_ID is not set)"
    if state is None:
        return ":hourglass: *Sheet*: not written yet"
    if state.status == "ok":
        return f":white_check_mark: *Sheet*: ok, written {_when(state.last_ok_at, now)}"
    error = escape(plain(state.error or "failed", 500))
    return (
        f":warning: *Sheet*: failing at {_when(state.last_attempt_at, now)}: {error}; it shows "
        f"the sync of {_when(state.last_ok_at, now)}"
    )


def _status(found: Answer, now: dt.datetime) -> Message:
    run = found.run
    if run is None:
        head = "*No sync has run yet.* The worker runs one every interval, or an admin can "
        head += "run `/numbers sync`."
    else:
        result = run.result
        head = (
            f"*Latest sync*: run {run.run_id}, {run.status}, finished {_when(run.finished_at, now)}"
            f"; {result.get('total', 0):,} numbers, {result.get('unassigned', 0):,} unassigned."
        )
    lines = [_source_line(s, now) for s in found.states]
    warning = None if run is None else (run.result.get("sheet") or {}).get("warning")
    if warning:
        lines.insert(
            0, f":warning: *The spreadsheet is nearly full*: {escape(plain(warning, 500))}"
        )
    if len(lines) > _STATUS_SOURCES:
        lines = [*lines[:_STATUS_SOURCES], f"and {len(lines) - _STATUS_SOURCES} more sources"]
    lines.append(sheet_line(found, now))
    blocks = [*_warnings(found), section(head), *packed(lines, max_sections=40)]
    blocks += _actions([], found.query.text, 0)
    return ephemeral(blocks, head.replace("*", ""))


def answer_message(
    found: Answer,
    *,
    now: dt.datetime,
    offset: int = 0,
    sheet: str | None = None,
    numbers: NumberBlocks | None = None,
) -> Message:
    """The ephemeral answer to a query; ``offset`` picks the page of a long list, ``numbers``
    draws each listed number (by default, a section with its line)."""
    action = found.query.action
    if action == "stats":
        return _stats(found, now)
    if action == "status":
        return _status(found, now)
    if action in {"changes", "list"}:
        # Only the page shown is formatted: a list may hold the whole inventory.
        items: Sequence[Change | PhoneNumber] = (
            found.changes if action == "changes" else found.numbers
        )
        start = first_of_page(offset, len(items))
        page = [
            [section(_change_line(item))]
            if isinstance(item, Change)
            else (numbers or _section)(item, _number_line(item, found.followup_text(item)), row)
            for row, item in enumerate(items[start : start + PAGE_SIZE], start=start)
        ]
        noun = "change" if action == "changes" else "number"
        return _listing(found, len(items), page, noun=noun, now=now, offset=start, sheet=sheet)
    return usage_message()


# --- /numbers sync --------------------------------------------------------------------------


def sync_outcome(result: RunResult) -> Message:
    """What a requested sync did, for the admin who asked."""
    if result.status == "skipped":
        return notice(
            ":hourglass: Another sync (the scheduled worker's) was already running, so this one "
            "did nothing. `/numbers status` shows its outcome once it finishes."
        )
    if not result.sources and result.message:
        # The run never began: the lock is held by a sync that is stuck.
        return notice(f":x: {escape(result.message)}")
    icon = {"ok": ":white_check_mark:", "partial": ":warning:"}.get(result.status, ":x:")
    changes = ", ".join(f"{n:,} {kind}" for kind, n in result.changes.items() if n) or "none"
    lines = [
        f"{icon} *Sync {result.status}* (run {result.run_id}, {result.took}): "
        f"{result.total:,} numbers, {result.unassigned:,} unassigned. Changes: {changes}."
    ]
    for source in result.sources.values():
        if source.status == "failed":
            error = escape(plain(source.error or "failed", 500))
            lines.append(f":warning: *{escape(source.key)}* failed: {error}")
    if result.sheet.status == "failed":
        lines.append(f":warning: The sheet was not written: {escape(result.sheet.error or '')}")
    return ephemeral(packed(lines, max_sections=10), lines[0].replace("*", ""))
