"""The README's table of exit codes is true: each code, walked with real `syncbot` processes
for the commands the table names."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from tests.procs import LIMIT, clean_env, finish, spawn, syncbot
from tests.test_forget import dialnexa_only, run_with_input
from tests.test_locking import eventually

ROOT = Path(__file__).resolve().parent.parent


def readme_exit_codes() -> set[int]:
    """The codes in the README's `### Exit codes` table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


async def interrupted(
    args: tuple[str, ...], env: dict[str, str], cwd: Path, sig: signal.Signals, *, ready: str
) -> tuple[int, str]:
    """Start `syncbot ARGS`, send ``sig`` once its stdout or stderr shows ``ready``."""
    proc = await spawn(*args, env=env, cwd=cwd)
    assert proc.stdout is not None
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(LIMIT):
        while ready not in seen:
            line = await proc.stdout.readline()
            assert line, f"`syncbot {' '.join(args)}` ended before {ready!r}"
            seen += line.decode()
    proc.send_signal(sig)
    code, _, err = await finish(proc)
    return code, err


async def closed_pipe(*args: str, env: dict[str, str], cwd: Path) -> int:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "syncbot", *args),
            env=env,
            cwd=cwd,
            stdout=write_end,
            stderr=asyncio.subprocess.DEVNULL,
        )
    finally:
        os.close(write_end)
    return await asyncio.wait_for(proc.wait(), LIMIT)


async def test_every_exit_code_in_the_readme_is_what_the_commands_return(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    walked: set[int] = set()
    env = clean_env(tmp_path, **sandbox.env())

    async def expect(code: int, *args: str, env: dict[str, str] = env) -> str:
        got, out, err = await syncbot(*args, env=env, cwd=tmp_path)
        assert got == code, f"`syncbot {' '.join(args)}` exited {got}, not {code}: {out}{err}"
        assert "unexpected error" not in err
        walked.add(code)
        return err

    # 1: something failed at run time, with the message saying what.
    await expect(1, "query", "unassigned")  # before any sync: "run `syncbot sync` first"
    # 2: a setting or the command line is wrong.
    await expect(2, "sync", env={**env, "DATABASE_URL": "sqlite:/syncbot.db"})
    await expect(2, "sync", env={**env, "ORGAPI_BASE_URL": "https://api.example.com"})
    await expect(2, "sync", "--no-such-option")
    await expect(2, "doctor", env=clean_env(tmp_path))  # no source: as `sync` says
    await expect(2, "sync", env=clean_env(tmp_path))
    # 0: done.
    await expect(0, "sync")
    await expect(0, "query", "unassigned", "--json", "country:US")
    await expect(0, "doctor")
    await expect(2, "query", "unassigned", "assigned")
    await expect(2, "query", "changes", "2w")
    sandbox.dialnexa.options.always = Fault.status(403)
    await expect(1, "sync")  # a source failed; the other's rows are stored
    sandbox.dialnexa.options.always = None
    code, out = await run_with_input(
        "forget", "orgapi", stdin="n\n", env=dialnexa_only(sandbox, tmp_path), cwd=tmp_path
    )
    assert (code, out.endswith("Nothing forgotten.\n")) == (1, True)

    # 130: Ctrl-C, after a clean stop, for the long-running commands too.
    for args, ready in (
        (("worker",), "worker started"),
        (
            (
                "sandbox",
                "--orgapi-port",
                "0",
                "--dialnexa-port",
                "0",
                "--slack-port",
                "0",
                "--sheets-port",
                "0",
            ),
            "# then",
        ),
    ):
        code, err = await interrupted(args, env, tmp_path, signal.SIGINT, ready=ready)
        assert code == 130, err
        assert err.endswith(f"syncbot {args[0]}: interrupted\n")
        walked.add(code)

    # 141: the reader of the output went away.
    code = await closed_pipe("export", "--csv", "-", env=env, cwd=tmp_path)
    assert code == 141
    walked.add(code)

    # 143: `sync` stopped by SIGTERM mid-run (a shell shows a process the signal ended as 143).
    held = asyncio.Event()
    sandbox.orgapi.options.hold = held
    before = sandbox.orgapi.total
    proc = await spawn("sync", env=env, cwd=tmp_path)
    try:
        await eventually(lambda: sandbox.orgapi.total > before, "the sync's first request")
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc)
    finally:
        held.set()
    assert code in {143, -signal.SIGTERM}, err
    walked.add(143)

    assert walked == readme_exit_codes()
