"""The `syncbot` command as users run it: real processes against the sandbox APIs."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import urllib.parse
from pathlib import Path

import pytest

from syncbot.cli import build_parser
from syncbot.cli.demo import DEMO_COSTS
from syncbot.normalize import international
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from tests.procs import clean_env, syncbot

ROOT = Path(__file__).resolve().parent.parent
BUILDER = "https://app.slack.com/block-kit-builder/#"
SECRETS = ("sandbox-orgapi-key", "sandbox-dialnexa-key")


async def test_sync_json_prints_the_contract_object_and_exits_0(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert set(result) >= {
        "run_id",
        "status",
        "started_at",
        "finished_at",
        "sources",
        "sheet",
        "total",
        "unassigned",
        "changes",
    }
    assert result["status"] == "ok"
    assert result["sheet"]["status"] == "skipped"
    assert set(result["changes"]) == {"added", "removed", "assigned", "unassigned", "reassigned"}
    for source in result["sources"].values():
        assert set(source) >= {"status", "count", "pages", "error"}
    assert result["total"] == 40
    # Logs go to stderr as logfmt, one line per source.
    assert re.search(r'msg="source listed" source=orgapi/default status=ok count=20', err)


async def test_query_json_answers_from_the_latest_sync(sandbox: Sandbox, tmp_path: Path) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    code, out, err = await syncbot("query", "unassigned", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert data["query"] == "unassigned"
    assert data["total"] == len(data["numbers"]) > 0
    assert {n["status"] for n in data["numbers"]} == {"unassigned"}
    assert data["sync"]["run_id"] == 1
    assert data["sync"]["stale_sources"] == []
    code, out, _ = await syncbot("query", "stats", "--json", env=env, cwd=tmp_path)
    stats = json.loads(out)
    assert set(stats) >= {"by_source", "by_status", "by_country", "by_type"}
    code, out, _ = await syncbot("query", "agent", "agent_sales_eu", env=env, cwd=tmp_path)
    assert code == 0
    assert "numbers match `agent agent_sales_eu`" in out
    assert "PHONE NUMBER" in out


async def test_the_terminal_shows_numbers_as_people_read_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    _, out, _ = await syncbot("query", "source:orgapi", "--json", env=env, cwd=tmp_path)
    e164 = [n["phone_number"] for n in json.loads(out)["numbers"] if n["valid"]]
    code, out, err = await syncbot("query", "source:orgapi", env=env, cwd=tmp_path)
    assert code == 0, err
    assert e164
    for number in e164:
        assert international(number) in out
        assert international(number) != number


async def test_a_failed_source_exits_1_and_keeps_the_other_sources_rows(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    sandbox.dialnexa.options.always = Fault.status(403)
    code, out, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 1, err
    assert "Sync partial" in out
    assert "dialnexa/default  failed" in out
    assert "Kept 20 numbers from earlier syncs, marked stale" in out
    code, out, _ = await syncbot("query", "source:dialnexa", "--json", env=env, cwd=tmp_path)
    data = json.loads(out)
    assert data["total"] == 20
    assert all(n["stale"] for n in data["numbers"])
    assert data["sync"]["stale_sources"] == ["dialnexa/default"]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("PORT", "http", "PORT"),
        ("ORGAPI_ACCOUNTS", "[{", "ORGAPI_ACCOUNTS"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("ORGAPI_BASE_URL", "api.example.com", "ORGAPI_BASE_URL"),
    ],
)
async def test_a_bad_setting_exits_2_naming_it_and_a_valid_example(
    tmp_path: Path, setting: str, value: str, named: str
) -> None:
    env = clean_env(tmp_path, DIALNEXA_API_KEY="k", **{setting: value})
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 2
    assert named in err
    assert "expected e.g." in err
    assert "Traceback" not in err


async def test_half_an_orgapi_account_exits_2_naming_the_missing_setting(tmp_path: Path) -> None:
    env = clean_env(tmp_path, ORGAPI_API_KEY="secret-value")
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 2
    assert "ORGAPI_ORGANIZATION_ID is not set" in err
    assert "secret-value" not in err


async def test_no_source_configured_exits_2_and_points_to_the_demo(tmp_path: Path) -> None:
    code, _, err = await syncbot("sync", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 2
    assert "syncbot demo" in err


async def test_settings_are_read_from_a_dotenv_file(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in sandbox.env().items()))
    code, out, err = await syncbot("sync", "--json", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["total"] == 40


async def test_secrets_never_reach_output_even_on_failure_and_verbose(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    outputs = [await syncbot("-v", "sync", env=env, cwd=tmp_path)]
    sandbox.orgapi.options.always = Fault.status(401)
    sandbox.dialnexa.options.always = Fault.status(403)
    outputs.append(await syncbot("-v", "sync", "--json", env=env, cwd=tmp_path))
    outputs.append(await syncbot("doctor", env=env, cwd=tmp_path))
    outputs.append(await syncbot("query", "status", "--json", env=env, cwd=tmp_path))
    for _, out, err in outputs:
        for secret in SECRETS:
            assert secret not in out
            assert secret not in err


async def test_query_before_any_sync_says_to_sync_first(tmp_path: Path) -> None:
    code, _, err = await syncbot("query", "unassigned", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 1
    assert "run `syncbot sync` first" in err


async def test_an_unknown_query_word_is_an_error_with_a_suggestion(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    code, _, err = await syncbot("query", "asigned", env=env, cwd=tmp_path)
    assert code == 2
    assert 'Did you mean "assigned"' in err


async def test_migrate_is_safe_to_run_twice(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    first = await syncbot("migrate", env=env, cwd=tmp_path)
    second = await syncbot("migrate", env=env, cwd=tmp_path)
    assert first[0] == second[0] == 0
    assert first[1] == second[1]
    assert "Store schema at version" in first[1]


async def test_doctor_reports_each_source_and_the_store(sandbox: Sandbox, tmp_path: Path) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    assert code == 0, out
    assert "✓ orgapi/default: 20 numbers" in out
    assert "✓ dialnexa/default: 20 numbers" in out
    assert "✓ store:" in out
    sandbox.orgapi.options.always = Fault.status(403)
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    assert code == 1
    assert "✗ orgapi/default" in out
    assert "phone_numbers:read" in out


async def test_demo_shows_the_whole_loop_store_sheet_and_slack(tmp_path: Path) -> None:
    code, out, err = await syncbot("demo", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 0, err
    assert "Sync ok (run 1" in out
    assert re.search(r"orgapi/default\s+ok\s+30\s+\d+", out)
    assert re.search(r"dialnexa/default\s+ok\s+30\s+2", out)
    assert "Inventory (60 numbers)" in out
    assert (tmp_path / "syncbot-demo.db").exists()
    # The sheet: where each tab is, and the Summary as a table.
    assert re.search(r"^Sheet: written \(http://127\.0\.0\.1:\d+/v4/spreadsheets/", out, re.M)
    for tab in ("Inventory", "Summary", "Changes", "Sync log"):
        assert re.search(rf"^{tab}\s+\d+\s+http://127\.0\.0\.1:\d+/v4/spreadsheets/", out, re.M)
    assert re.search(r"^Unassigned numbers\s+\d+$", out, re.M)
    assert re.search(r"^All\s+\d+\.\d\d\s+\d+\.\d\d\s+0\.00$", out, re.M)
    assert "Chart on the Summary tab: Unassigned numbers over time" in out
    assert "Chart on the Summary tab: Numbers by source and status" in out
    # Slack: the first-sync alert, then the real app's answer as text and in the Builder.
    assert re.search(
        r"^First sync: 60 numbers, \d+ unassigned \(\d+\.\d\d USD a month\)$", out, re.M
    )
    unassigned = re.search(r"^(\d+) numbers match `unassigned`\.$", out, re.M)
    assert unassigned
    assert f"💰 {unassigned[1]} numbers unassigned: " in out
    assert "[Share in channel]" in out
    link = next(line for line in out.splitlines() if line.startswith(BUILDER))
    blocks = json.loads(urllib.parse.unquote(link.removeprefix(BUILDER)))["blocks"]
    assert blocks[0]["text"]["text"].startswith(f"*{unassigned[1]} numbers* match `unassigned`")
    assert blocks[-1]["elements"][-1]["action_id"] == "numbers_share"
    # A follow-up taken in Slack (a signed click), the Home tab, and the sheet's next sync.
    assert "pressed I'll take it on +" in out
    assert re.search(r"^🙋 \+[\d -]+ is yours", out, re.M)
    assert re.search(r"· @u0alice since \d{4}-\d\d-\d\d", out)
    assert "PHONE NUMBERS AT A GLANCE" in out
    assert re.search(r"^All sources: 60 numbers · \d+ unassigned · 0 idle 30 days", out, re.M)
    assert "YOUR FOLLOW-UPS" in out
    home = [line for line in out.splitlines() if line.startswith(BUILDER)][1]
    assert json.loads(urllib.parse.unquote(home.removeprefix(BUILDER)))["type"] == "home"
    assert re.search(r"^Status\s+unassigned$", out, re.M)
    assert re.search(r"^Follow-up\s+@u0alice since \d{4}-\d\d-\d\d$", out, re.M)
    # The README's sample shows the same tabs, and the closing hint runs as printed here.
    assert demo_tabs(out) == demo_tabs((ROOT / "README.md").read_text())
    assert f"NUMBER_COSTS='{DEMO_COSTS}' " in out
    python = shlex.quote(os.path.relpath(sys.executable, tmp_path))  # noqa: ASYNC240 - no I/O
    assert f"`{python} -m syncbot doctor`, then `{python} -m syncbot sync`." in out


def demo_tabs(text: str) -> list[str]:
    """The tab names of a demo's sheet table (``TAB  ROWS  WHERE``)."""
    table = text.split("\nTAB ", 1)[1].split("\n\n", 1)[0]
    return [re.split(r"\s{2,}", line)[0] for line in table.splitlines()[1:]]


async def test_demo_json_holds_the_sync_the_tabs_and_the_slack_messages(tmp_path: Path) -> None:
    code, out, err = await syncbot("demo", "--json", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert data["sync"]["total"] == 60
    assert data["sync"]["monthly_cost"]["currency"] == "USD"
    assert len(data["sheet"]["tabs"]["Inventory"]) == 61
    assert data["slack"]["answer"]["response_type"] == "ephemeral"
    assert data["slack"]["alert"]["text"].startswith("first sync: 60 numbers")
    assert data["slack"]["block_kit_builder"].startswith(BUILDER)
    assert data["slack"]["taken"]["replace_original"] is True
    assert data["slack"]["home"]["type"] == "home"
    assert data["slack"]["home_block_kit_builder"].startswith(BUILDER)


def test_every_command_and_option_has_help_and_is_in_the_readme() -> None:
    parser = build_parser()
    readme = (ROOT / "README.md").read_text()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():  # type: ignore[attr-defined]
        assert f"syncbot {name}" in readme, f"README does not document `syncbot {name}`"
        for action in sub._actions:
            assert action.help, f"`syncbot {name}` option {action.dest} has no help"
