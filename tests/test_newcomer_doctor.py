"""`doctor` and `query` as a newcomer meets them: no contradictions, every setting that cannot
work flagged, the right host blamed, errors a script can read."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncbot.cli.doctor import run_checks
from syncbot.errors import QueryError, SheetError
from syncbot.logs import configure
from syncbot.query import parse
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.settings import settings_from
from syncbot.sheets import SheetWriter
from syncbot.slack import check_slack
from tests.procs import clean_env, syncbot
from tests.test_deploy import free_port


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_admins_are_counted_once_a_wrong_id_is_flagged(slack: FakeSlack) -> None:
    settings = settings_from({**slack.env(), "SLACK_ADMIN_USER_IDS": "bob,U012ABCDEF"})
    checks = {c.name: c for c in await check_slack(settings)}
    assert not checks["slack_admin_user_ids"].ok
    assert "'bob'" in checks["slack_admin_user_ids"].detail
    assert checks["slack admins"].detail == "1 user(s) may run /numbers sync"


async def test_an_alert_channel_without_a_bot_token_is_a_problem() -> None:
    (check,) = await check_slack(settings_from({"SLACK_ALERT_CHANNEL": "C0NUMBERS"}))
    assert not check.ok
    assert check.detail.startswith("SLACK_ALERT_CHANNEL is set but SLACK_BOT_TOKEN is not")


def test_a_deadline_not_shorter_than_the_interval_is_a_problem(tmp_path: Path) -> None:
    settings = settings_from(
        {
            "DIALNEXA_API_KEY": "k",
            "DIALNEXA_BASE_URL": f"http://127.0.0.1:{free_port()}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "SYNC_INTERVAL_SECONDS": "300",
            "SYNC_DEADLINE_SECONDS": "600",
        }
    )
    (timing,) = [c for c in run_checks(settings, store_label="x") if c.name == "sync timing"]
    assert not timing.ok
    assert "SYNC_DEADLINE_SECONDS (600) is not shorter than SYNC_INTERVAL_SECONDS (300)" in (
        timing.detail
    )


def test_an_unreachable_token_endpoint_is_blamed_not_the_sheets_api(box: SheetsSandbox) -> None:
    closed = f"http://127.0.0.1:{free_port()}/token"
    settings = settings_from(
        {**box.env(), "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps({**box.key, "token_uri": closed})}
    )
    with pytest.raises(SheetError) as caught:
        SheetWriter(settings, retry_wait_initial=0.01, retry_wait_max=0.05).check_access()
    assert f"could not reach its token endpoint {closed}" in caught.value.message
    assert box.url not in caught.value.message
    # doctor shows whom to share the sheet with, whatever went wrong.
    checks = run_checks(settings, store_label="x")
    (sheet,) = [c for c in checks if c.name == "sheet"]
    assert box.email in sheet.detail


def test_urllib3_retry_warnings_stay_out_of_the_output() -> None:
    root, urllib3 = logging.getLogger(), logging.getLogger("urllib3")
    saved = (root.handlers[:], root.level, urllib3.level)
    try:
        configure(level=logging.INFO)
        assert not logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.WARNING)
        configure(level=logging.DEBUG)
        assert logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.WARNING)
    finally:
        # The logging set-up is the process's: later tests read INFO records through it.
        root.handlers[:], root.level = saved[0], saved[1]
        urllib3.setLevel(saved[2])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("unassigned assigned", '"assigned" and "unassigned" contradict each other'),
        ("free assigned", '"assigned" and "unassigned" contradict each other'),
        ("changes 2w", '"changes 2w": a window is a number of hours or days, from 1'),
        ("changes 0h", '"changes 0h": a window is a number of hours or days, from 1'),
    ],
)
def test_contradicting_words_and_unknown_window_units_are_named(text: str, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert says in caught.value.message


async def test_query_words_after_json_combine_and_errors_under_json_are_json(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    code, out, _ = await syncbot("query", "unassigned", "--json", "asigned", env=env, cwd=tmp_path)
    assert code == 2
    error = json.loads(out)
    assert error["exit_code"] == 2
    assert error["error"].startswith('I don\'t know "asigned". Did you mean "assigned"?')
