"""Shared fixtures: real sandbox provider APIs on loopback, real stores, fast retry policy."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.http import RetryPolicy
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.settings import Settings, settings_from
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions


def pytest_configure(config: pytest.Config) -> None:
    """Let the processes the tests start stop on SIGINT, as they do under a terminal's Ctrl-C.

    A shell without job control starts a background command (`make test &`, a CI runner's
    job) with SIGINT ignored, and every process it starts inherits that: `syncbot sandbox`
    would then never see the SIGINT a test sends it. A Python handler is not inherited across
    exec, so installing Python's own here hands the children the default disposition.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)


# Real backoff, shrunk so a test with a few retries takes milliseconds.
FAST = RetryPolicy(
    attempts=4, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01, request_timeout=1.0
)


def pytest_report_header() -> str:
    # Which SQLite the store tests ran on (tests/test_old_sqlite.py reads it back).
    return f"SQLite {sqlite3.sqlite_version}"


@pytest.fixture
def fast_options() -> SyncOptions:
    return SyncOptions(policy=FAST)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(numbers=40) as sb:
        yield sb


def settings_for(sandbox: Sandbox, **extra: Any) -> Settings:
    """Settings pointing at the sandbox, ignoring this machine's environment."""
    return settings_from({**sandbox.env(), **extra})


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "syncbot.db"))
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSheets]:
    """The fake Sheets API, one per test module (starting it costs a thread and a key)."""
    fake = FakeSheets()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def key(fake: FakeSheets) -> dict[str, str]:
    return fake.service_account()


@pytest.fixture
def box(fake: FakeSheets, key: dict[str, str]) -> SheetsSandbox:
    """A fresh spreadsheet shared with the module's service account."""
    return SheetsSandbox.create(fake, key=key)
