"""Google field masks (``sheets(properties(sheetId,title)),properties.title``) as trees."""

from __future__ import annotations

from typing import Any

# name -> the mask below it; an empty tree means "the whole value".
Tree = dict[str, "Tree"]


def parse(mask: str) -> Tree:
    # Google also takes "/" between names (gspread writes "gridProperties/rowCount").
    text = mask.replace(" ", "").replace("/", ".")
    tree: Tree = {}
    if _items(text, 0, tree) != len(text):
        raise ValueError(f"unbalanced parentheses in field mask {mask!r}")
    return tree


def _items(text: str, position: int, tree: Tree) -> int:
    while position < len(text):
        start = position
        while position < len(text) and text[position] not in ",()":
            position += 1
        path = text[start:position].split(".")
        node = tree
        for name in path:
            if not name:
                raise ValueError(f"empty name in field mask {text!r}")
            node = node.setdefault(name, {})
        if position < len(text) and text[position] == "(":
            position = _items(text, position + 1, node)
            if position >= len(text) or text[position] != ")":
                raise ValueError(f"unbalanced parentheses in field mask {text!r}")
            position += 1
        if position < len(text) and text[position] == ")":
            return position
        if position < len(text) and text[position] == ",":
            position += 1
    return position


def select(value: Any, tree: Tree) -> Any:
    """``value`` reduced to the fields ``tree`` names (lists are filtered item by item)."""
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: select(value[key], sub) for key, sub in tree.items() if key in value}
    return value


def merge(target: dict[str, Any], source: dict[str, Any], tree: Tree) -> None:
    """Copy the fields ``tree`` names from ``source`` into ``target``; absent ones are cleared."""
    if "*" in tree:
        target.clear()
        target.update(source)
        return
    for key, sub in tree.items():
        given = source.get(key)
        if sub:
            node = target.get(key)
            if not isinstance(node, dict):
                node = target[key] = {}
            merge(node, given if isinstance(given, dict) else {}, sub)
        elif key in source:
            target[key] = given
        else:
            target.pop(key, None)
