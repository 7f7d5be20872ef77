"""DATABASE_URL's password, in whichever form it is written, never reaches any output."""

from __future__ import annotations

from pathlib import Path

from syncbot.sandbox.providers import Sandbox
from tests import pg
from tests.procs import clean_env, syncbot


async def test_no_form_of_the_database_password_reaches_any_output(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with pg.fresh_database() as url:
        database = url.rsplit("/", 1)[1]
        encoded = "pg%25pass%2Fword"
        urls = {
            # In the query, as libpq allows, decoded there as pg%pass/word.
            f"postgres://postgres@{pg.SERVER}/{database}?password={encoded}": ("pg%pass/word",),
            # Not encoded: libpq quotes it back in its error.
            f"postgres://postgres:pg%zzword@{pg.SERVER}/{database}": ("pg%zzword", "zzword"),
        }
        for database_url, secrets in urls.items():
            env = clean_env(tmp_path, **sandbox.env(), DATABASE_URL=database_url)
            for command in ("migrate", "doctor", "sync"):
                _, out, err = await syncbot(command, env=env, cwd=tmp_path)
                shown = out + err
                assert "PostgreSQL" in shown or "postgres://127.0.0.1:5432/" in shown, shown
                for secret in (*secrets, encoded):
                    assert secret not in shown, (command, shown)
