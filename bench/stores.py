"""The same syncs into each store, and with a baseline revision's syncbot beside today's.

``--database-url`` adds PostgreSQL beside SQLite: each first + unchanged pair gets a fresh
database on that server, dropped afterwards. ``--baseline REV`` adds the syncbot package of git
revision REV on every store, run from ``git archive`` with the same servers and data. The
database server is not in the measured process tree (on Heroku it is another machine), so its
CPU is shown apart: what the server's processes serving the run's database spent, sampled from
/proc while the sync runs (this machine's server only).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from bench.slack_bench import baseline_package

Figures = dict[str, Any]
_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.02


@contextmanager
def fresh_database(server_url: str) -> Iterator[tuple[str, str]]:
    """A new empty database on ``server_url``'s server, dropped afterwards: its URL and name."""
    name = f"syncbot_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield urlsplit(server_url)._replace(path=f"/{name}").geturl(), name
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


class ServerCpu:
    """CPU seconds spent by this machine's PostgreSQL processes serving one database.

    PostgreSQL names the database in each backend's process title; a backend's CPU is read
    from /proc until it exits (at most one sample period of it is missed).
    """

    def __init__(self, database: str) -> None:
        self._title = f" {database} ".encode()
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self._seen.values())

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            for pid in _backends(self._title):
                cpu = _cpu(pid)
                if cpu is not None:
                    self._seen[pid] = max(cpu, self._seen.get(pid, 0.0))


def _backends(title: bytes) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if title in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, fields 14 and 15 of stat(5), counted after the command's ")".
    return (int(fields[11]) + int(fields[12])) / _TICKS


Sync = Callable[[Mapping[str, str], Path], Figures]


def store_pairs(
    sync: Sync,
    pair_env: Callable[[], Mapping[str, str]],
    *,
    measured: Figures,
    database_url: str | None,
    baseline: str | None,
) -> dict[str, Figures]:
    """A first and an unchanged sync for each store and version, keyed ``sqlite``,
    ``postgresql``, ``sqlite @ REV``, ``postgresql @ REV``.

    ``sync(env, cwd)`` measures one sync; ``pair_env()`` is the environment of a new pair (a
    new sheet, when there is one); ``measured`` is today's SQLite pair, measured already."""
    out: dict[str, Figures] = {"sqlite": measured}
    with tempfile.TemporaryDirectory(prefix="bench-stores-") as tmp:
        versions: dict[str, dict[str, str]] = {"": {}}
        if baseline is not None:
            package = baseline_package(baseline, Path(tmp) / "baseline")
            if isinstance(package, str):
                raise ValueError(f"--baseline {baseline}: {package}")
            versions[f" @ {baseline}"] = {"PYTHONPATH": str(package)}
        for suffix, extra in versions.items():
            if suffix:
                with tempfile.TemporaryDirectory(dir=tmp) as work:
                    env = {**pair_env(), **extra, "DATABASE_URL": f"sqlite:///{work}/syncbot.db"}
                    out[f"sqlite{suffix}"] = {
                        "first": sync(env, Path(work)),
                        "steady": sync(env, Path(work)),
                    }
            if database_url is None:
                continue
            with (
                fresh_database(database_url) as (url, name),
                tempfile.TemporaryDirectory(dir=tmp) as work,
            ):
                env = {**pair_env(), **extra, "DATABASE_URL": url}
                pair = {}
                for run in ("first", "steady"):
                    with ServerCpu(name) as server:
                        figures = sync(env, Path(work))
                    pair[run] = {**figures, "server_cpu_s": server.seconds}
                out[f"postgresql{suffix}"] = pair
    return out


def table(pairs: Mapping[str, Figures]) -> str:
    """Each store's first and unchanged sync, one line each."""
    head = f"{'store':<34}{'sync':<10}{'wall s':>8}{'cpu s':>8}{'RSS MB':>8}{'server cpu s':>14}"
    lines = [head]
    for store, pair in pairs.items():
        for run in ("first", "steady"):
            f = pair[run]
            server = f.get("server_cpu_s")
            lines.append(
                f"{store:<34}{'unchanged' if run == 'steady' else run:<10}{f['wall_s']:>8.2f}"
                f"{f['cpu_s']:>8.2f}{f['peak_rss_mb']:>8.0f}"
                + (f"{server:>14.2f}" if server is not None else f"{'':>14}")
            )
    return "\n".join(lines)
