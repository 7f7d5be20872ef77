"""``syncbot demo`` and ``syncbot sandbox``: the product without credentials."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import sys
from pathlib import Path

from syncbot.cli.commands import print_json
from syncbot.cli.progress import Progress
from syncbot.cli.render import answer_text, numbers_table, sync_summary
from syncbot.errors import SyncbotError
from syncbot.models import utc_now
from syncbot.query import answer, load_snapshot, parse
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox, serve_forever
from syncbot.settings import settings_from
from syncbot.store import open_store
from syncbot.sync import run_sync

# Small pages, so that even the demo's few numbers take several requests of each API.
DEMO_PAGE_SIZE = 25
SANDBOX_DATABASE_URL = "sqlite:///syncbot-sandbox.db"


def _fresh(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", ".lock"))):
        leftover.unlink(missing_ok=True)


async def _demo(numbers: int, database: Path, *, as_json: bool) -> int:
    options = ProviderOptions(max_page_size=DEMO_PAGE_SIZE)
    async with Sandbox(
        numbers=numbers, orgapi=options, dialnexa=ProviderOptions(max_page_size=DEMO_PAGE_SIZE)
    ) as sandbox:
        settings = settings_from({**sandbox.env(), "DATABASE_URL": f"sqlite:///{database}"})
        store = open_store(settings.database_url.get_secret_value())
        try:
            store.migrate()
            if not as_json:
                print(
                    f"Sandbox orgapi at {sandbox.orgapi.url} and DialNexa at "
                    f"{sandbox.dialnexa.url}: {numbers} numbers, pages of {DEMO_PAGE_SIZE}.\n"
                )
            progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not as_json)
            try:
                result = await run_sync(settings, store, progress=progress.update)
            finally:
                progress.done()
            snapshot = load_snapshot(store)
        finally:
            store.close()
    unassigned = answer(parse("unassigned"), snapshot, now=utc_now(), interval_seconds=900)
    if as_json:
        print_json({"sync": result.to_dict(), "unassigned": unassigned.to_dict()})
        return result.exit_code
    print(sync_summary(result, store_label=f"sqlite:///{database}"))
    print(f"\nInventory ({len(snapshot.numbers)} numbers):\n")
    print(numbers_table(snapshot.numbers))
    print("\n$ syncbot query unassigned\n")
    print(answer_text(unassigned))
    print(
        f"\nThe demo store is {database}; try `DATABASE_URL=sqlite:///{database} "
        "syncbot query stats`. Next: put your own keys in .env (see .env.example) and run "
        "`syncbot doctor`, then `syncbot sync`."
    )
    return result.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    database = Path(args.database)
    _fresh(database)
    return asyncio.run(_demo(args.numbers, database, as_json=args.json))


def cmd_sandbox(args: argparse.Namespace) -> int:
    def ready(sandbox: Sandbox) -> None:
        print("# Sandbox provider APIs are up. Point syncbot at them with:")
        for name, value in sandbox.env().items():
            print(f"export {name}={value}")
        # A store of its own: the sandbox's numbers would otherwise stay in your real store,
        # stale, once you switch to real credentials.
        print(f"export DATABASE_URL={SANDBOX_DATABASE_URL}")
        print("# then run `syncbot sync` in another terminal. Ctrl-C stops the sandbox.")
        sys.stdout.flush()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                serve_forever(
                    numbers=args.numbers,
                    latency_ms=args.latency_ms,
                    orgapi_port=args.orgapi_port,
                    dialnexa_port=args.dialnexa_port,
                    on_ready=ready,
                )
            )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise SyncbotError(
            f"port {args.orgapi_port} or {args.dialnexa_port} is already in use (is another "
            "`syncbot sandbox` running?): stop it, or pick free ports with --orgapi-port and "
            "--dialnexa-port"
        ) from None
    return 0
