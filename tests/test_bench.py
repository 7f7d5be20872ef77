"""The benchmark harness keeps working: `python -m bench --quick` end to end, and the critical
path it divides by. No timing is asserted: these machines are too noisy for that."""

from __future__ import annotations

import importlib.util
import json
import pstats
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench._proc import ROOT, clean_env
from bench.critical_path import dialnexa_path, orgapi_path
from bench.harness import DLT_MISSING, NAIVE_SKIPPED, QUICK_NUMBERS
from syncbot.sandbox.faults import RecordedRequest
from tests import pg

PROCESS = {"wall_s", "cpu_s", "peak_rss_mb"}
SYNCBOT = PROCESS | {
    "cpu_us_per_number",
    "critical_path_s",
    "wall_over_critical_path",
    "critical_path",
    "timeline",
    "requests",
    "sheets_calls",
    "sheets_writes",
    "sheets_sent_bytes",
    "sheets_received_bytes",
    "listed",
    "sheet_rows",
}
PEER = PROCESS | {"requests", "listed", "syncbot_wall_over_theirs"}
TARGETS = {
    "first_wall_over_critical_path",
    "steady_wall_over_critical_path",
    "sheets_calls_per_sync",
    "peak_rss_mb",
    "steady_cpu_over_first_cpu",
    "steady_cpu_us_per_number",
}


def _request(duration: float, **query: str) -> RecordedRequest:
    return RecordedRequest("/", query, 200, 0.0, duration, None)


def test_orgapi_path_is_the_longest_status_chain() -> None:
    requests = [
        _request(0.5, status="free"),
        _request(0.25, status="assigned"),
        _request(0.5, status="assigned", cursor="b"),
        _request(0.5, status="assigned", cursor="c"),
        _request(0.125, page_size="1"),
    ]
    assert orgapi_path(requests) == 1.25
    assert orgapi_path([]) == 0


def test_dialnexa_path_is_page_one_then_the_slowest_other_page() -> None:
    requests = [_request(0.25, page="1"), _request(0.5, page="2"), _request(1, page="3")]
    assert dialnexa_path(requests) == 1.25


def _bench(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own harness
        [sys.executable, "-m", "bench", "--quick", *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _report(*args: str) -> tuple[dict[str, Any], str]:
    out = _bench(*args)
    report, end = json.JSONDecoder().raw_decode(out)
    return report, out[end:]


def test_quick_run_reports_every_figure_and_lists_every_number() -> None:
    report, table = _report()

    assert report["numbers"] == report["expected_numbers"] == QUICK_NUMBERS
    for run in ("syncbot_first", "syncbot_steady"):
        figures = report[run]
        assert set(figures) == SYNCBOT
        assert figures["listed"] == figures["sheet_rows"] == QUICK_NUMBERS
        assert figures["critical_path_s"] > 0
        assert set(figures["critical_path"]) == {"orgapi_s", "dialnexa_s", "sheets_s"}
        assert set(figures["timeline"]) == {
            "startup_s",
            "listing_s",
            "after_listing_s",
            "sheets_s",
            "exit_s",
        }
        assert figures["requests"]["orgapi"] > 0
        assert figures["requests"]["dialnexa"] > 0
        assert figures["sheets_calls"] > 0
    with_dlt = importlib.util.find_spec("dlt") is not None
    assert set(report["targets"]) == TARGETS | ({"wall_over_dlt"} if with_dlt else set())
    for target in report["targets"].values():
        assert {"value", "limit", "comparison", "met", "over_by"} <= set(target)

    naive = report["peers"]["naive"]
    assert set(naive) == PEER | {"sheets_calls", "sheets_sent_bytes", "sheets_server_s"}
    assert naive["listed"] == QUICK_NUMBERS
    if importlib.util.find_spec("dlt") is None:
        assert report["peers"]["dlt"] == DLT_MISSING
        assert DLT_MISSING in table
    else:
        assert set(report["peers"]["dlt"]) == PEER
        assert report["peers"]["dlt"]["listed"] == QUICK_NUMBERS
    for heading in ("first sync", "steady state", "naive", "dlt rest_api", "targets"):
        assert heading in table


def test_no_sheet_syncs_into_the_store_alone() -> None:
    report, table = _report("--no-sheet")
    assert report["sheet"] is False
    assert "no sheet" in table
    assert report["peers"]["naive"] == NAIVE_SKIPPED
    for run in ("syncbot_first", "syncbot_steady"):
        figures = report[run]
        assert figures["listed"] == QUICK_NUMBERS
        assert figures["sheets_calls"] == 0
        assert figures["sheet_rows"] is None


def test_profile_writes_both_syncs(tmp_path: Path) -> None:
    _bench("--profile", str(tmp_path))

    for name in ("first", "steady"):
        assert (tmp_path / f"{name}.prof").stat().st_size > 0
        assert "Ordered by: cumulative time" in (tmp_path / f"{name}.txt").read_text("utf-8")
        # Whether run_sync makes the printed top 40 depends on timing; the profile has it.
        profiled = pstats.Stats(str(tmp_path / f"{name}.prof")).stats
        assert any(function == "run_sync" for _, _, function in profiled)


def test_sheet_scale_measures_first_unchanged_and_churned_syncs_of_both_syncbots() -> None:
    """The baseline here is HEAD itself, extracted with git archive as an older commit is."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "sheet-scale", "--numbers", "400", "--baseline", "HEAD"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    for tree in ("this_tree", "baseline_tree"):
        syncs = report[tree]
        assert syncs["first"]["sheet_rows"] == syncs["unchanged"]["sheet_rows"] == 400
        assert syncs["churn"]["sheet_rows"] == 400
        assert syncs["unchanged"]["sheets_writes"] == 1
        assert syncs["churn"]["sheets_writes"] >= 1
        assert all(s["peak_rss_mb"] > 0 and s["cpu_s"] > 0 for s in syncs.values())
    assert all(s["sheets_calls"] == 0 for s in report["this_tree_no_sheet"].values())
    assert "CPU with a sheet / without" in done.stdout


def test_web_sync_measures_serve_and_its_sync_process_beside_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "web-sync", "--numbers", "400"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report, end = json.JSONDecoder().raw_decode(done.stdout)
    web, cli = report["web"], report["cli"]
    assert list(web) == ["idle", "unchanged", "unchanged again", "churn 1%", "serve_peak_resets"]
    assert list(cli) == ["first", "unchanged", "churn 1%"]
    assert web["idle"]["serve_peak_mb"] > 0
    assert web["idle"]["sync_child_peak_mb"] == 0
    for name in ("unchanged", "unchanged again", "churn 1%"):
        figures = web[name]
        # The sync ran in a child of serve, and the sum counts both.
        assert 0 < figures["sync_child_peak_mb"] < figures["dyno_peak_mb"], name
        assert figures["serve_peak_mb"] < figures["dyno_peak_mb"], name
        assert {"serve", "sync"} <= set(figures["at_dyno_peak_mb"]), name
        assert figures["wall_s"] > 0
        assert figures["samples"] > 0
    assert web["unchanged"]["sheets_writes"] == web["unchanged again"]["sheets_writes"] == 1
    assert all(c["peak_rss_mb"] > 0 for c in cli.values())
    for words in ("dyno peak", "/numbers sync", "syncbot sync", "against 512 MB"):
        assert words in done.stdout[end:]


def test_database_url_and_baseline_add_postgresql_and_the_baseline_revision_beside_sqlite() -> None:
    report, table = _report("--no-sheet", "--no-peers", "--database-url", pg.ADMIN_URL,
                            "--baseline", "HEAD")  # fmt: skip

    stores = report["stores"]
    assert list(stores) == ["sqlite", "postgresql", "sqlite @ HEAD", "postgresql @ HEAD"]
    for store, pair in stores.items():
        for run in ("first", "steady"):
            assert pair[run]["listed"] == QUICK_NUMBERS, (store, run)
            assert set(pair[run]) >= PROCESS
            assert ("server_cpu_s" in pair[run]) == store.startswith("postgresql")
    assert stores["sqlite"]["first"] == report["syncbot_first"]
    assert "postgresql @ HEAD" in table
    with pg.connect(pg.ADMIN_URL) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'syncbot_bench_%'")
        assert left.fetchall() == []
