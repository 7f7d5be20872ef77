"""The Inventory's highlight rule and filter: one of each, fixed up only when they drifted.

Google moves their ranges with the rows a write inserts or deletes, but not over rows added
at the very end; after such a write (``moved``) they are set again rather than compared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from syncbot.sheets import ops
from syncbot.sheets.existing import column_letter


def unassigned_rule(status_col: int) -> str:
    return f'=${column_letter(status_col)}2="unassigned"'


UNASSIGNED_RULE = unassigned_rule(1)
# Google rewrites the column of the formula when people insert or move columns.
_OUR_RULE = re.compile(r'^=\$[A-Z]+2="unassigned"$')
_HIGHLIGHT = {"red": 1.0, "green": 0.9, "blue": 0.75}


def highlight_rule(
    rules: Sequence[Mapping[str, Any]],
    sheet_id: int,
    rows: int,
    cols: int,
    *,
    moved: bool,
    status_col: int = 1,
) -> list[bytes]:
    """Requests that leave exactly one unassigned-row rule, covering rows 2 to ``rows`` and
    looking at the Status column where it is."""
    mine = [i for i, rule in enumerate(rules) if _is_our_rule(rule)]
    wanted = [ops.grid_range(sheet_id, (1, rows), (0, cols))]
    # Highest index first, so that the indices still to delete stay valid.
    out = [
        ops.op("deleteConditionalFormatRule", {"sheetId": sheet_id, "index": index})
        for index in reversed(mine[1:])
    ]
    condition = {
        "type": "CUSTOM_FORMULA",
        "values": [{"userEnteredValue": unassigned_rule(status_col)}],
    }
    if not mine:
        rule = {
            "ranges": wanted,
            "booleanRule": {"condition": condition, "format": {"backgroundColor": _HIGHLIGHT}},
        }
        out.append(ops.op("addConditionalFormatRule", {"rule": rule, "index": 0}))
        return out
    current = rules[mine[0]]
    if (
        moved
        or current["booleanRule"].get("condition") != condition
        or [_norm(r) for r in current.get("ranges", [])] != [_norm(r) for r in wanted]
    ):
        # Keep the colour people may have picked for it; only its range and column move.
        boolean = {**current["booleanRule"], "condition": condition}
        rule = {"ranges": wanted, "booleanRule": boolean}
        body = {"sheetId": sheet_id, "index": mine[0], "rule": rule}
        out.append(ops.op("updateConditionalFormatRule", body))
    return out


def basic_filter(
    current: Mapping[str, Any] | None, sheet_id: int, rows: int, cols: int, *, moved: bool
) -> list[bytes]:
    """A filter over the whole Inventory, keeping the sorts and criteria people set."""
    wanted = ops.grid_range(sheet_id, (0, rows), (0, cols))
    if not moved and current is not None and _norm(current.get("range", {})) == _norm(wanted):
        return []
    spec: dict[str, Any] = {"range": wanted}
    if current is not None:
        sorts = [s for s in current.get("sortSpecs", []) if s.get("dimensionIndex", 0) < cols]
        filters = [s for s in current.get("filterSpecs", []) if s.get("columnIndex", 0) < cols]
        if sorts:
            spec["sortSpecs"] = sorts
        if filters:
            spec["filterSpecs"] = filters
    return [ops.op("setBasicFilter", {"filter": spec})]


def _is_our_rule(rule: Mapping[str, Any]) -> bool:
    condition = rule.get("booleanRule", {}).get("condition", {})
    values = condition.get("values", [])
    return (
        condition.get("type") == "CUSTOM_FORMULA"
        and len(values) == 1
        and bool(_OUR_RULE.match(str(values[0].get("userEnteredValue", ""))))
    )


def _norm(grid_range: Mapping[str, Any]) -> tuple[object, ...]:
    """A GridRange as Google returns it omits zero indices; compare them filled in."""
    return (
        grid_range.get("sheetId", 0),
        grid_range.get("startRowIndex", 0),
        grid_range.get("endRowIndex"),
        grid_range.get("startColumnIndex", 0),
        grid_range.get("endColumnIndex"),
    )
