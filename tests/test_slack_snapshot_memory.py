"""The web dyno's memory around a ``/numbers sync`` of its own (issue 17): a newer run is not
loaded while this dyno's sync runs (the sync commits its run before it writes the sheet, and
the dyno would hold the sync's process and two copies at once), and a replaced copy's memory
goes back to the system."""

from __future__ import annotations

import asyncio

from syncbot.slack.memory import give_back_memory
from syncbot.slack.snapshot import LiveSnapshot
from syncbot.store.sqlite import SqliteStore
from tests.runs import T0, T1, T2, number, run


def test_a_run_committed_while_this_dyno_syncs_is_loaded_once_the_sync_is_over(
    sqlite_store: SqliteStore,
) -> None:
    async def scenario() -> None:
        first, _, _ = run(sqlite_store, {"orgapi/default": [number("pn_1")]}, at=T0)
        snapshot = LiveSnapshot(sqlite_store)
        await snapshot.refresh()
        assert (await snapshot.ready()).run_id == first
        with snapshot.deferring():
            second, _, _ = run(
                sqlite_store, {"orgapi/default": [number("pn_1"), number("pn_2")]}, at=T1
            )
            await snapshot.refresh()
            assert (await snapshot.ready()).run_id == first
        await snapshot.refresh()
        loaded = await snapshot.ready()
        assert loaded.run_id == second
        assert len(loaded.numbers) == 2
        # Without a sync of this dyno's own, a newer run is loaded as soon as it is seen.
        third, _, _ = run(sqlite_store, {"orgapi/default": [number("pn_3")]}, at=T2)
        await snapshot.refresh()
        assert (await snapshot.ready()).run_id == third

    asyncio.run(scenario())


def test_free_heap_pages_go_back_to_the_system_on_glibc() -> None:
    # The test machines run glibc, whose allocator keeps freed pages unless asked.
    assert give_back_memory()
