"""Text is data, whatever its bytes (issue 16): what a provider sends never fails the run, and a
store failure is reported as what it is. Over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from syncbot.providers._records import MAX_TEXT
from syncbot.sandbox.providers import Sandbox
from syncbot.store import Store, open_store
from syncbot.sync import SyncOptions, run_sync
from tests import pg
from tests.conftest import FAST, settings_for
from tests.procs import clean_env, syncbot

OPTIONS = SyncOptions(policy=FAST, page_size=10)


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with pg.store_url(request.param, tmp_path) as url, open_store(url) as opened:
        opened.migrate()
        yield opened


async def test_nul_lone_surrogates_non_characters_and_huge_text_are_cleaned(
    sandbox: Sandbox, store: Store
) -> None:
    """NUL (which PostgreSQL cannot store), a lone surrogate (a legal JSON escape that no
    UTF-8 store can encode) and non-characters become U+FFFD; a huge label is cut; an id too
    long to be one makes that record invalid, with the reason. The run is ok either way."""
    dialnexa, orgapi = sandbox.dialnexa.records, sandbox.orgapi.records
    dialnexa[0].update(nickname="Desk\x00one", label=None)
    dialnexa[1].update(nickname="Lone \ud800 surrogate", id="dn-\udfff-id")
    dialnexa[2].update(nickname="Non\ufffe\U0010ffffchar")
    dialnexa[3].update(nickname="x" * 100_000)
    orgapi[5].update(status="free\x00", provider="tw\ud83dilio", phone_number_id="pn-\x00-nul")
    orgapi[6].update(phone_number_id="p" * 300)
    result = await run_sync(settings_for(sandbox), store, options=OPTIONS)

    assert result.status == "ok", result.sources
    assert result.sources["orgapi/default"].invalid == 1
    stored = {n.number_id: n for n in store.load_numbers()}
    assert len(stored) == 39
    labels = {n.label for n in stored.values()}
    assert {"Desk\ufffdone", "Lone \ufffd surrogate", "Non\ufffd\ufffdchar"} <= labels
    huge = stored[dialnexa[3]["id"]].label or ""
    assert len(huge) == MAX_TEXT
    assert huge.endswith("\u2026")
    assert stored["dn-\ufffd-id"].label == "Lone \ufffd surrogate"
    nul = stored["pn-\ufffd-nul"]
    assert (nul.provider_status, nul.carrier) == ("free\ufffd", "tw\ufffdilio")
    again = await run_sync(settings_for(sandbox), store, options=OPTIONS)
    assert again.status == "ok"
    assert again.changes == dict.fromkeys(again.changes, 0)


async def test_an_invalid_record_with_an_id_keeps_its_stored_row_and_history(
    sandbox: Sandbox, store: Store
) -> None:
    """A record that fails validation still names its number: the stored row stays as it
    was (not removed and added back), and the listing is still shown complete."""
    await run_sync(settings_for(sandbox), store, options=OPTIONS)
    record = sandbox.dialnexa.records[9]
    before = {n.number_id: n for n in store.load_numbers()}[record["id"]]
    record["created_at"] = "not a date"
    broken = await run_sync(settings_for(sandbox), store, options=OPTIONS)
    dialnexa = broken.sources["dialnexa/default"]
    assert (dialnexa.invalid, dialnexa.complete, dialnexa.count) == (1, True, 19)
    assert broken.changes["removed"] == 0
    after = {n.number_id: n for n in store.load_numbers()}[record["id"]]
    assert (after.listed(), after.first_seen_at, after.unassigned_since) == (
        before.listed(),
        before.first_seen_at,
        before.unassigned_since,
    )


async def test_a_commit_the_store_refuses_prints_the_run_result_saying_why(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`sync --json` still prints its result: status failed, the store's own message; exit 1,
    and the next run goes through."""
    env = clean_env(tmp_path, **sandbox.env())
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    path = tmp_path / "syncbot.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TRIGGER syncbot_test_fail BEFORE INSERT ON runs "
            "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
        conn.commit()
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 1, err
    result = json.loads(out)
    assert (result["status"], result["run_id"]) == ("failed", None)
    assert "disk on fire" in result["message"]
    assert "previous snapshot is unchanged" in result["message"]
    assert "Traceback" not in err
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TRIGGER syncbot_test_fail")
        conn.commit()
        failed = conn.execute("SELECT COUNT(*) FROM source_states WHERE status <> 'ok'")
        assert failed.fetchone() == (0,)
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
