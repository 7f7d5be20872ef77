"""``syncbot doctor``'s Slack checks, against the fake Slack Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import TEAM_ID
from syncbot.settings import settings_from
from syncbot.slack import check_slack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


async def test_check_slack_names_the_bot_and_the_workspace_its_token_belongs_to(
    fake: FakeSlack,
) -> None:
    checks = await check_slack(settings_from(fake.env()))
    assert all(c.ok for c in checks)
    assert f"bot @syncbot in Sandbox ({TEAM_ID}) via {fake.api_url}" in checks[0].detail


async def test_check_slack_reports_a_refused_token_without_showing_it(fake: FakeSlack) -> None:
    wrong = "xoxb-not-the-right-one"
    (check, *_) = await check_slack(settings_from({**fake.env(), "SLACK_BOT_TOKEN": wrong}))
    assert not check.ok
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in check.detail
    assert wrong not in check.detail


async def test_check_slack_flags_a_workspace_missing_from_allowed_team_ids(
    fake: FakeSlack,
) -> None:
    settings = settings_from({**fake.env(), "SLACK_ALLOWED_TEAM_IDS": "T0ELSEWHERE"})
    failed = [c for c in await check_slack(settings) if not c.ok]
    assert [c.name for c in failed] == ["slack allowed teams"]
    assert TEAM_ID in failed[0].detail


async def test_check_slack_flags_ids_that_are_not_slack_ids(fake: FakeSlack) -> None:
    settings = settings_from({**fake.env(), "SLACK_ADMIN_USER_IDS": "U0ADMIN,bob"})
    failed = [c for c in await check_slack(settings) if not c.ok]
    assert [c.name for c in failed] == ["slack_admin_user_ids"]
    assert "'bob'" in failed[0].detail


async def test_check_slack_accepts_the_app_token_for_socket_mode(fake: FakeSlack) -> None:
    settings = settings_from({**fake.env(), "SLACK_APP_TOKEN": fake.app_token})
    checks = {c.name: c for c in await check_slack(settings)}
    assert checks["slack app token"].ok
    refused = settings_from({**fake.env(), "SLACK_APP_TOKEN": "xapp-wrong"})
    checks = {c.name: c for c in await check_slack(refused)}
    assert not checks["slack app token"].ok


async def test_check_slack_says_what_is_missing_before_calling_slack(fake: FakeSlack) -> None:
    settings = settings_from({"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url})
    (check,) = await check_slack(settings)
    assert not check.ok
    assert check.detail.startswith("SLACK_SIGNING_SECRET is not set")
    assert fake.calls == []
