"""``syncbot`` (also ``python -m syncbot``): argument parsing and the one place errors become
messages and exit codes. Users never see a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence

from syncbot import __version__
from syncbot.errors import SyncbotError
from syncbot.logs import configure, terminal

Handler = Callable[[argparse.Namespace], int]
# What a shell reports for a process ended by SIGPIPE (128 + 13), as for Ctrl-C's 130.
EXIT_BROKEN_PIPE = 141

EPILOG = """\
Settings come from the environment or a .env file (see .env.example).
Start with `syncbot demo` (no credentials needed), then `syncbot doctor`."""


def _sync(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_sync  # noqa: PLC0415 - each command loads its own deps

    return cmd_sync(args)


def _query(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_query  # noqa: PLC0415 - as above

    return cmd_query(args)


def _migrate(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_migrate  # noqa: PLC0415 - as above

    return cmd_migrate(args)


def _export(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_export  # noqa: PLC0415 - as above

    return cmd_export(args)


def _digest(args: argparse.Namespace) -> int:
    from syncbot.cli.digest import cmd_digest  # noqa: PLC0415 - as above

    return cmd_digest(args)


def _demo(args: argparse.Namespace) -> int:
    from syncbot.cli.demo import cmd_demo  # noqa: PLC0415 - as above

    return cmd_demo(args)


def _sandbox(args: argparse.Namespace) -> int:
    from syncbot.cli.sandbox import cmd_sandbox  # noqa: PLC0415 - as above

    return cmd_sandbox(args)


def _doctor(args: argparse.Namespace) -> int:
    from syncbot.cli.doctor import cmd_doctor  # noqa: PLC0415 - as above

    return cmd_doctor(args)


def _ask(args: argparse.Namespace) -> int:
    from syncbot.cli.ask import cmd_ask  # noqa: PLC0415 - as above

    return cmd_ask(args)


def _forget(args: argparse.Namespace) -> int:
    from syncbot.cli.forget import cmd_forget  # noqa: PLC0415 - as above

    return cmd_forget(args)


def _worker(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_worker  # noqa: PLC0415 - as above

    return cmd_worker(args)


def _serve(args: argparse.Namespace) -> int:
    from syncbot.cli.commands import cmd_serve  # noqa: PLC0415 - as above

    return cmd_serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncbot",
        description="One inventory of your voice-agent phone numbers across orgapi and DialNexa.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"syncbot {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug details (never secrets)"
    )
    # Also after the command (`syncbot sync -v`); SUPPRESS keeps a -v given before it.
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log debug details (never secrets)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, summary: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            parents=[verbose],
            help=summary,
            description=summary,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        return p

    p = command(
        "sync",
        _sync,
        "List every configured source at once, store the snapshot and "
        "write the sheet. Exit 0: all ok; 1: a source or the sheet failed; 2: bad settings; "
        "143: stopped by SIGTERM (nothing half-done committed).",
    )
    p.add_argument("--json", action="store_true", help="print the run's result as one JSON object")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list and compare, but store nothing and write no sheet",
    )
    p.add_argument(
        "--allow-removals",
        action="store_true",
        help="accept listings that remove more than SYNC_MAX_REMOVAL_PERCENT of an account's "
        "numbers, or all of them (refused otherwise, as a likely provider fault)",
    )

    p = command(
        "query",
        _query,
        "Answer from the latest sync, e.g. `syncbot query unassigned "
        "country:GB` or `syncbot query +1 415 555 0123`; `syncbot query help` lists the words.",
    )
    p.add_argument(
        "words", nargs="*", metavar="WORDS", help="query words (see `syncbot query help`)"
    )
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument(
        "--user",
        metavar="SLACK_USER_ID",
        help="whose follow-ups `mine` means: a Slack member id, e.g. U0123ABCD",
    )

    command(
        "serve",
        _serve,
        "Run the Slack app: HTTP on $PORT (POST /slack/events, GET /healthz), "
        "plus Socket Mode when SLACK_APP_TOKEN is set.",
    )
    command("worker", _worker, "Sync every SYNC_INTERVAL_SECONDS until SIGTERM.")

    p = command(
        "demo",
        _demo,
        "Sandbox copies of both provider APIs, a full sync into a demo "
        "store, then the inventory and the unassigned numbers. Needs no credentials.",
    )
    p.add_argument(
        "--numbers", type=int, default=60, help="how many numbers the sandbox holds (default 60)"
    )
    p.add_argument(
        "--database",
        default="syncbot-demo.db",
        help="the demo's SQLite file, recreated each run (default syncbot-demo.db)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the sync result and the answer as JSON"
    )

    p = command(
        "sandbox",
        _sandbox,
        "Run sandbox copies of every API syncbot talks to (orgapi, DialNexa, Slack, Google "
        "Sheets) on loopback until Ctrl-C, printing the settings that point syncbot at them "
        "as a .env block: then `syncbot sync`, `syncbot serve` and `syncbot ask unassigned`.",
    )
    p.add_argument("--numbers", type=int, default=1000, help="how many numbers (default 1000)")
    p.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency per request (default 0)"
    )
    for name, port in (("orgapi", 8101), ("dialnexa", 8102), ("slack", 8103), ("sheets", 8104)):
        p.add_argument(
            f"--{name}-port", type=int, default=port, help=f"its port (default {port}; 0: any)"
        )

    p = command(
        "ask",
        _ask,
        "Ask the running `syncbot serve` `/numbers WORDS` as Slack would (a request signed "
        "with SLACK_SIGNING_SECRET) and print the answer as text, with a link that shows it in "
        "Slack's Block Kit Builder.",
    )
    p.add_argument("words", nargs="*", metavar="WORDS", help="what follows /numbers")
    p.add_argument(
        "--url",
        help="where `syncbot serve` listens (default http://127.0.0.1:$PORT/slack/events)",
    )
    p.add_argument(
        "--user",
        metavar="SLACK_USER_ID",
        help="who asks (default: the first of SLACK_ADMIN_USER_IDS, else a sandbox user)",
    )
    p.add_argument("--json", action="store_true", help="print the app's message as JSON")

    command(
        "doctor",
        _doctor,
        "Check every setting and connection and say how to fix each "
        "problem; prints the service account's e-mail to share the sheet with.",
    )
    command("migrate", _migrate, "Create or upgrade the store's schema. Safe to run again.")

    p = command(
        "forget",
        _forget,
        "Remove a source, or one account of it, that the settings no longer name (its numbers "
        "stay in the store, marked stale, until then) from the store and the sheet; each "
        "number is recorded as removed in Changes. Asks first.",
    )
    p.add_argument(
        "target", metavar="SOURCE[/ACCOUNT]", help="e.g. orgapi (every account) or orgapi/acme"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = command(
        "digest",
        _digest,
        "Post the weekly digest to SLACK_ALERT_CHANNEL: the week's changes, unassigned and "
        "idle numbers now against a week ago and what they cost, and the unowned follow-ups "
        "oldest first, each with I'll take it. For a scheduler, e.g. Monday mornings.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the digest instead of posting it")

    p = command(
        "export",
        _export,
        "Write the latest inventory as CSV, in the sheet's columns. A cell that a spreadsheet "
        "program would run as a formula (it starts with =, +, -, @, a tab or a carriage return) "
        "gets a leading ' (OWASP's CSV-injection advice); plain numbers and E.164 phone "
        "numbers stay as they are.",
    )
    p.add_argument(
        "--csv", required=True, metavar="PATH", help="the file to write, or - for stdout"
    )
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Query words may come after an option (`query unassigned --json country:GB`), as words
    # combine in any order; anything else unknown is still an error.
    if extra and args.command in {"query", "ask"} and not any(e.startswith("-") for e in extra):
        args.words += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    # In a terminal the command's own output tells the story and log lines are for warnings;
    # elsewhere (Heroku, cron, CI) every step is logged as logfmt.
    quiet = sys.stderr.isatty() and args.command in {"sync", "demo", "query", "export"}
    level = logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO
    # Long-running dynos log to stdout as Heroku expects; one-off commands keep stdout for
    # their output (JSON, CSV) and log to stderr, which Heroku collects just the same.
    configure(level=level, stream=sys.stdout if args.command in {"worker", "serve"} else sys.stderr)
    handler: Handler = args.handler
    try:
        code = handler(args)
        # Flushed here rather than at exit, where a reader gone away could not be handled.
        sys.stdout.flush()
    except BrokenPipeError:
        # `syncbot export --csv - | head -1`: the reader took what it wanted and left. Nothing
        # to tell it; stdout goes to /dev/null so that the exit's own flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SyncbotError as exc:
        if getattr(args, "json", False):
            # A script reading the JSON gets the error as JSON too.
            print(json.dumps({"error": exc.message, "exit_code": exc.exit_code}))
        print(terminal(f"syncbot {args.command}: error: {exc.message}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"syncbot {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        logging.getLogger("syncbot").debug("unexpected error", exc_info=True)
        print(
            terminal(f"syncbot {args.command}: unexpected error: {type(exc).__name__}: {exc}")
            + "\nRun again with --verbose for details, and report it if it persists.",
            file=sys.stderr,
        )
        return 1
    return code
