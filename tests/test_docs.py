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


def _heroku_steps() -> dict[str, tuple[int, str]]:
    """docs/heroku.md's walkthrough: each step's title to its number and text."""
    text = (ROOT / "docs" / "heroku.md").read_text(encoding="utf-8")
    parts = re.split(r"^### (\d+)\. (.+)$", text, flags=re.MULTILINE)
    return {parts[i + 1]: (int(parts[i]), parts[i + 2]) for i in range(1, len(parts) - 2, 3)}


def test_the_heroku_walkthrough_creates_the_slack_app_before_its_url_exists_and_sets_it_after() -> (
    None
):
    steps = _heroku_steps()
    slack = steps["Create the Slack app"][0]
    settings = next(n for n, body in steps.values() if "config:set SLACK_BOT_TOKEN" in body)
    deploy = steps["Deploy"][0]
    url = steps["Point Slack at the app"][0]
    assert slack < settings < deploy < url


def test_the_heroku_button_path_continues_after_the_deploy_it_already_did() -> None:
    steps = _heroku_steps()
    button = next(body for _, body in steps.values() if "Heroku Button" in body)
    (target,) = re.findall(r"go\s+to\s+step\s+(\d+)", button)
    assert int(target) > steps["Deploy"][0]


def test_the_readme_says_orgapi_base_url_must_be_set_and_how_idle_days_are_counted() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    credentials = readme.split("2. **Credentials**", 1)[1].split("3. **Check**", 1)[0]
    assert "`ORGAPI_BASE_URL`" in credentials
    assert "placeholder" in credentials
    (idle,) = [line for line in readme.splitlines() if line.startswith("| `idle 30d`")]
    assert "first sync that saw the number unassigned" in idle
