"""Provider text with control characters is escaped wherever it is printed: logfmt lines and
the terminal's tables."""

from __future__ import annotations

from pathlib import Path

from syncbot.sandbox.providers import Sandbox
from tests.procs import clean_env, syncbot

HOSTILE = "Desk\x1b[2J\r\u2028\u202eevil"
SHOWN = "Desk\\x1b[2J\\r\\u2028\\u202eevil"
RAW = ("\x1b", "\r", "\u2028", "\u202e")


async def test_control_characters_from_a_provider_are_escaped_in_logs_and_tables(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.dialnexa.records[0].update(nickname=HOSTILE, inbound_agent_id=None, agent_id=None)
    # An id the record's validation rejects still appears in the log line that says so.
    sandbox.dialnexa.records[1].update(id=f"id-{HOSTILE}", phone_number=None)
    env = clean_env(tmp_path, **sandbox.env())
    code, _, log = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, log
    code, table, _ = await syncbot("query", "unassigned", env=env, cwd=tmp_path)
    assert code == 0
    for output in (log, table):
        assert not any(char in output for char in RAW)
    assert f'id="id-{SHOWN}"' in log
    # The table folds line breaks into spaces; the rest is escaped.
    assert "Desk\\x1b[2J \\u202eevil" in table
