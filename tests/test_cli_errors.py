"""Ordinary conditions end with a clear message and a documented exit code, never "unexpected"."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from syncbot.sandbox.providers import Sandbox
from tests.procs import LIMIT, clean_env, syncbot


async def test_export_to_a_closed_pipe_ends_quietly_and_to_a_missing_directory_says_so(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    assert (await syncbot("sync", env=env, cwd=tmp_path))[0] == 0

    # A reader that has gone before the first line is written, as `| head` is after its line.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "syncbot", "export", "--csv", "-"),
            env=env,
            cwd=tmp_path,
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), LIMIT)
    assert (proc.returncode, err.decode()) == (141, "")

    missing = tmp_path / "nonexistent" / "x.csv"
    code, _, err = await syncbot("export", "--csv", str(missing), env=env, cwd=tmp_path)
    assert code == 1
    assert err == f"syncbot export: error: cannot write {missing}: No such file or directory\n"


async def test_a_second_sandbox_on_a_port_in_use_says_which_and_how_to_choose_others(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = await syncbot(
            "sandbox",
            "--orgapi-port",
            port,
            *("--dialnexa-port", "0", "--slack-port", "0", "--sheets-port", "0"),
            env=clean_env(tmp_path),
            cwd=tmp_path,
        )
    assert code == 1
    assert f"port {port} is already in use" in err
    assert "--orgapi-port" in err
    assert "unexpected" not in err
