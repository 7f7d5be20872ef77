"""What the docs promise a new user, checked against the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

from syncbot.sheets import INVENTORY_HEADER

ROOT = Path(__file__).resolve().parents[1]


def _documented_columns() -> list[str]:
    text = (ROOT / "docs" / "sheet.md").read_text(encoding="utf-8")
    section = text.split("## `Inventory`", 1)[1].split("\n## ", 1)[0]
    columns: list[str] = []
    for match in re.finditer(r"^\| ([^|]+) \| [^|]+ \|$", section, re.MULTILINE):
        names = match.group(1).strip()
        if names not in {"column", "---"}:
            columns += [name.strip() for name in names.split(",")]
    return columns


def test_docs_describe_every_inventory_column_in_the_sheets_order() -> None:
    assert _documented_columns() == list(INVENTORY_HEADER)


def test_the_readme_sends_readers_only_to_files_of_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "CONTRACT" not in readme
    for link in re.findall(r"\]\(([^)#]+)\)", readme):
        assert link.startswith("http") or (ROOT / link).exists(), link
