"""The Home tab: the inventory at a glance and the viewer's own follow-ups.

``glance`` reads the figures from the in-memory snapshot (no store or provider call, so the view
is published within moments of the tab opening); ``home_view`` is a pure function from them to
the view ``views.publish`` takes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncbot.costs import IDLE_DAYS, Cost, CostRules, Tally
from syncbot.models import RunRecord, SourceState, ago, iso
from syncbot.query import Snapshot, counted, warnings_for
from syncbot.slack.kit import Block, context, escape, plain, section

# A view holds at most 100 blocks: the glance takes about 12, each follow-up two.
MAX_VIEW_BLOCKS = 100
HOME_FOLLOWUPS = 40
_SOURCES = 20


@dataclass(frozen=True, slots=True)
class SourceFigures:
    """One source account's numbers, unassigned and idle ones, and what the idle cost."""

    key: str
    numbers: int = 0
    unassigned: int = 0
    idle: int = 0
    idle_cost: Cost | None = None


@dataclass(frozen=True, slots=True)
class Glance:
    """What the Home tab shows above the viewer's follow-ups."""

    run: RunRecord | None
    states: list[SourceState]
    total: SourceFigures
    sources: list[SourceFigures]
    warnings: list[str] = field(default_factory=list)
    # The sheet's health line (as ``/numbers status`` has it) and its address.
    sheet_health: str = ""
    sheet: str | None = None


def _figures(key: str, tallies: Sequence[Tally], costs: CostRules) -> SourceFigures:
    cost = costs.overview_of(tallies).idle if costs.configured else None
    return SourceFigures(
        key=key,
        numbers=sum(t.count for t in tallies),
        unassigned=sum(t.count for t in tallies if t.unassigned),
        idle=sum(t.count for t in tallies if t.idle),
        idle_cost=cost,
    )


def glance(
    snapshot: Snapshot,
    *,
    now: dt.datetime,
    costs: CostRules,
    interval_seconds: int,
    sheet: str | None,
    sheet_health: str,
) -> Glance:
    """The figures of the Home tab, counted from ``snapshot`` without making a record each."""
    tallies = snapshot.tallies(snapshot.everything(), idle_since=now - dt.timedelta(days=IDLE_DAYS))
    by_source: dict[str, list[Tally]] = {}
    for tally in tallies:
        by_source.setdefault(f"{tally.source}/{tally.account}", []).append(tally)
    return Glance(
        run=snapshot.run,
        states=list(snapshot.states),
        total=_figures("All sources", tallies, costs),
        sources=[_figures(key, found, costs) for key, found in sorted(by_source.items())],
        warnings=warnings_for(snapshot, now=now, interval_seconds=interval_seconds),
        sheet_health=sheet_health,
        sheet=sheet,
    )


def _figures_line(figures: SourceFigures) -> str:
    line = (
        f"*{escape(plain(figures.key, 80))}*: {counted(figures.numbers, 'number')} · "
        f"{figures.unassigned:,} unassigned · {figures.idle:,} idle {IDLE_DAYS} days or more"
    )
    if figures.idle_cost is not None:
        line += f" ({figures.idle_cost.text()} a month)"
    return line


def _health_line(state: SourceState, now: dt.datetime) -> str:
    name = f"*{escape(plain(state.key, 80))}*"
    if state.status == "ok" and state.last_ok_at is not None:
        return f":white_check_mark: {name}: ok, listed {ago(now - state.last_ok_at)} ago"
    line = f":warning: {name}: {state.status}"
    if state.error:
        line += f": {escape(plain(state.error, 300))}"
    since = f"{ago(now - state.last_ok_at)} ago" if state.last_ok_at else "never"
    return line + f"; its numbers are from its last good listing ({since})"


def _sheet_line(glance: Glance) -> str:
    if glance.sheet is None:
        return glance.sheet_health
    return f"{glance.sheet_health}. <{glance.sheet}|Open the Google Sheet>"


def glance_blocks(glance: Glance, *, now: dt.datetime) -> list[Block]:
    """The inventory at a glance: the latest sync, figures by source, health, the sheet."""
    run = glance.run
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Phone numbers at a glance"}}
    ]
    if glance.warnings:
        blocks.append(section("\n".join(f":warning: {escape(w)}" for w in glance.warnings[:5])))
    if run is None:
        blocks.append(
            section(
                "*No sync has run yet.* The worker runs one every interval, or an admin "
                "can run `/numbers sync`."
            )
        )
        return blocks
    blocks.append(
        section(
            f"*Latest sync*: run {run.run_id}, {run.status}, finished "
            f"{ago(now - run.finished_at)} ago ({iso(run.finished_at)})"
        )
    )
    lines = [_figures_line(glance.total)]
    lines += [_figures_line(figures) for figures in glance.sources[:_SOURCES]]
    if len(glance.sources) > _SOURCES:
        lines.append(f"and {len(glance.sources) - _SOURCES} more sources: `/numbers stats`")
    blocks.append(section("\n".join(lines)))
    health = [_health_line(state, now) for state in glance.states[:_SOURCES]]
    blocks.append(section("*Health*\n" + "\n".join([*health, _sheet_line(glance)])))
    return blocks


def home_view(
    glance: Glance,
    followups: Sequence[Block],
    *,
    now: dt.datetime,
    mine: int,
    notice: str | None = None,
) -> dict[str, object]:
    """The Home tab: ``notice`` (what the viewer's last click did) first, the glance, then the
    viewer's ``mine`` follow-ups as ``followups`` (two blocks each, the first ones shown)."""
    blocks: list[Block] = [section(notice)] if notice else []
    blocks += glance_blocks(glance, now=now)
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Your follow-ups"}})
    if mine:
        room = MAX_VIEW_BLOCKS - len(blocks) - 1
        shown = list(followups[: min(room, 2 * HOME_FOLLOWUPS)])
        blocks += shown
        if len(shown) < len(followups):
            blocks.append(context(f"and more: `/numbers mine` lists all {mine:,}"))
    else:
        blocks.append(
            section(
                "Nothing on you. `/numbers unowned` lists the unassigned numbers nobody is on; "
                "press *I'll take it* on one to make it yours."
            )
        )
    blocks.append(
        context(
            "`/numbers mine` lists your follow-ups, `/numbers unowned` the ones nobody has "
            "taken. Updated when you open this tab."
        )
    )
    return {"type": "home", "blocks": blocks}
