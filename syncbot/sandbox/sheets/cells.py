"""Writing CellData into the fake's cells: the part of updateCells, repeatCell and copyPaste
that decides what each cell becomes under a field mask."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from syncbot.sandbox.sheets import fields
from syncbot.sandbox.sheets.grid import Cell, check_text, invalid
from syncbot.sandbox.sheets.typed import evaluate

_CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "note")


def cell_from(old: Cell | None, data: Mapping[str, Any], tree: fields.Tree) -> Cell | None:
    """``old`` after writing ``data`` under the field mask ``tree``; a field the mask names but
    ``data`` lacks is cleared."""
    value, formula = (old.value, old.formula) if old else (None, None)
    fmt, note = (old.fmt, old.note) if old else (None, None)
    if "userEnteredValue" in tree or "*" in tree:
        value, formula = None, None
        entered = data.get("userEnteredValue") or {}
        if "stringValue" in entered:
            value = str(entered["stringValue"])
            check_text(value)
        elif "numberValue" in entered:
            value = float(entered["numberValue"])
        elif "boolValue" in entered:
            value = bool(entered["boolValue"])
        elif "formulaValue" in entered:
            formula = str(entered["formulaValue"])
            check_text(formula)
            value = evaluate(formula)
    if "userEnteredFormat" in tree or "*" in tree:
        sub = tree.get("userEnteredFormat", {})
        new_fmt = copy.deepcopy(dict(fmt or {}))
        fields.merge(new_fmt, data.get("userEnteredFormat") or {}, sub or {"*": {}})
        fmt = new_fmt or None
    if "note" in tree or "*" in tree:
        note = data.get("note")
    if value is None and formula is None and fmt is None and note is None:
        return None
    return Cell(value, formula, fmt, note)


def cell_tree(mask: str | None) -> fields.Tree:
    """A request's CellData field mask, refused when empty or naming fields Google lacks."""
    if not mask:
        raise invalid("At least one field must be updated, but 'fields' is empty.")
    tree = fields.parse(mask)
    unknown = set(tree) - {*_CELL_FIELDS, "*"}
    if unknown:
        raise invalid(f"Invalid field mask for CellData: {', '.join(sorted(unknown))}")
    return tree


def value_cell(data: Mapping[str, Any]) -> Cell | None:
    """``cell_from`` for the common case of values written where no format or note is kept."""
    entered = data.get("userEnteredValue")
    if not entered:
        return None
    if "stringValue" in entered:
        text = str(entered["stringValue"])
        check_text(text)
        return Cell(text)
    return cell_from(None, data, {"userEnteredValue": {}})


def pasted(old: Cell | None, new: Cell | None, paste: str) -> Cell | None:
    """What ``old`` becomes when ``new`` is pasted over it with the PasteType ``paste``."""
    if paste == "PASTE_NORMAL":
        return new
    if paste in {"PASTE_VALUES", "PASTE_FORMULA"}:
        value, formula = (new.value, new.formula) if new else (None, None)
        if paste == "PASTE_VALUES" and value is not None:
            # A formula's result, when the sandbox could compute it.
            formula = None
        fmt, note = (old.fmt, old.note) if old else (None, None)
        if value is None and formula is None and fmt is None and note is None:
            return None
        return Cell(value, formula, fmt, note)
    if paste == "PASTE_FORMAT":
        value, formula, note = (old.value, old.formula, old.note) if old else (None, None, None)
        return Cell(value, formula, new.fmt if new else None, note)
    raise invalid(f"pasteType {paste} is not implemented by the sandbox")
