"""The command line (fixed; the README lists it): serve, chat, check-content, eval, reminders send-due.

Each command reads the settings once; a bad setting or broken content stops it with
a message naming the problem and exit code 2 (settings) or 1 (content).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from messenger_bot import wiring
from messenger_bot.admin.reload import send_reload
from messenger_bot.console import machine_country, run_interactive, run_json
from messenger_bot.content import ContentError
from messenger_bot.evaluation import DevSetError, evaluate, total
from messenger_bot.redact import redacted_url, scrub, url_password
from messenger_bot.retention import summary
from messenger_bot.settings import Settings, SettingsError, load_settings
from messenger_bot.storage import storage_for
from messenger_bot.storage.copy import CopyError, copy_data

EXIT_CONTENT = 1
EXIT_SETTINGS = 2
EXIT_FAILED = 1


def cmd_check_content(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else _settings().content_dir
    problems = wiring.check_content(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return EXIT_CONTENT
    print(f"{directory}: content is valid")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    settings = _settings()
    user = args.user or ("json" if args.json else "console")
    country = args.country or machine_country()
    with asyncio.Runner() as runner:
        runtime = runner.run(wiring.open_runtime(settings))
        try:
            if args.json:
                run_json(runner, runtime.engine, args.channel, user, sys.stdin, sys.stdout, country)
            else:
                runner.run(run_interactive(runtime.engine, args.channel, user, country))
        except KeyboardInterrupt:
            pass
        finally:
            runner.run(runtime.close())
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score development sets and print every miss; exit 0 whatever the scores, 2 on a bad file."""
    try:
        scores = asyncio.run(evaluate([Path(f) for f in args.files], _settings(), wiring.open_runtime,
                                      args.channel))
    except DevSetError as error:
        print(f"messenger-bot eval: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    for score in scores:
        print("\n".join(score.report()))
    print(total(scores))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    return wiring.serve(_settings(), scheduler=not args.no_scheduler)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database's schema up to date (a Procfile's `release:` step); safe to run twice."""
    return asyncio.run(_migrate(_settings().database_url))


async def _migrate(url: str) -> int:
    redacted = redacted_url
    started = datetime.now(UTC).timestamp()
    store = storage_for(url)
    try:
        await store.open()  # applies what is missing, under a lock on PostgreSQL
    except Exception as error:  # refused, bad password, no such database: say so, no traceback
        why = scrub(str(error), [url_password(url) or ""])
        print(f"messenger-bot: cannot migrate {redacted(url)}: {why}", file=sys.stderr)
        return 1
    try:
        rows = await store.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    finally:
        await store.close()
    new = [f"{row[0]:04d}" for row in rows if row[1] >= started]
    print(f"{redacted(url)}: schema at migration {rows[-1][0]:04d}; applied now: {', '.join(new) or 'none'}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    """One retention pass (retention.py), then exit: for a platform's cron, or to see what a
    pass at `--now` would remove."""
    settings = _settings()
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    async def run() -> dict[str, int]:
        store = await wiring.open_store(settings)
        try:
            return await wiring.prune(store, settings, now)
        finally:
            await store.close()

    print(f"removed: {summary(asyncio.run(run()))}")
    return 0


def cmd_copy_data(args: argparse.Namespace) -> int:
    """Copy a SQLite database into PostgreSQL; exit 1 unless every table's counts match."""
    try:
        counts = asyncio.run(copy_data(args.source, args.target, batch_size=args.batch_size))
    except CopyError as error:
        print(f"messenger-bot copy-data: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # unreachable server, bad password, a row PostgreSQL refuses
        print(f"messenger-bot copy-data: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    differ = [c.table for c in counts if not c.matches]
    if differ:
        print(f"counts differ for: {', '.join(differ)}", file=sys.stderr)
        return 1
    print(f"done: {len(counts)} table(s), counts match")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """Check flows/, then ask each running `serve` (its pid file) to swap it in: SIGHUP."""
    settings = _settings()
    return send_reload(settings, wiring.check_content(settings.content_dir))


def _country_code(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a two-letter country code (e.g. GB, US)")
    return value.upper()


def _settings() -> Settings:
    return load_settings()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="messenger-bot", description="A health-information bot about lip twitching."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server: web chat, webhooks, reminders")
    serve.add_argument("--no-scheduler", action="store_true", help="do not send reminders from this process")
    serve.set_defaults(func=cmd_serve)
    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--json", action="store_true", help="one JSON line in, one JSON line out")
    chat.add_argument("--channel", choices=["console", "telegram", "whatsapp", "sms"], default="console")
    chat.add_argument("--user", help="the user id to talk as (state is kept per user)")
    chat.add_argument(
        "--country", type=_country_code, metavar="CC",
        help="ISO country code whose emergency number an alert names (default: this machine's time zone)",
    )
    chat.set_defaults(func=cmd_chat)
    check = sub.add_parser("check-content", help="validate the content in flows/ (or DIR)")
    check.add_argument("dir", nargs="?", help="content directory (default: the configured one)")
    check.set_defaults(func=cmd_check_content)
    evaluate = sub.add_parser("eval", help="score development sets (TSV) and print every miss")
    evaluate.add_argument(
        "files", nargs="+", metavar="FILE", help="lines of alert|no<TAB>message or topic-id[,…]<TAB>message"
    )
    evaluate.add_argument(
        "--channel", choices=["console", "telegram", "whatsapp", "sms", "web"], default="console"
    )
    evaluate.set_defaults(func=cmd_eval)
    wiring.add_feature_commands(sub)
    migrate = sub.add_parser("migrate", help="apply the database migrations (DATABASE_URL), then exit")
    migrate.set_defaults(func=cmd_migrate)
    prune = sub.add_parser("prune", help="remove what is past its retention (see SECURITY.md), then exit")
    prune.add_argument("--now", metavar="ISO-8601", help="act as if it were this time (UTC if no offset)")
    prune.set_defaults(func=cmd_prune)
    copy = sub.add_parser("copy-data", help="copy a SQLite database into PostgreSQL (safe to repeat)")
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="sqlite:///path")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="postgresql://…")
    copy.add_argument("--batch-size", type=int, default=1000, help="rows per committed batch")
    copy.set_defaults(func=cmd_copy_data)
    reload = sub.add_parser("reload", help="check flows/ and make the running serve use it (SIGHUP)")
    reload.set_defaults(func=cmd_reload)
    wiring.add_channel_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SettingsError as error:
        print(f"messenger-bot: a setting is wrong:\n{error}", file=sys.stderr)
        return EXIT_SETTINGS
    except ContentError as error:
        print("messenger-bot: the content in flows/ is broken:", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return EXIT_CONTENT
    except Exception as error:
        return _failed(args.command, error)


def _failed(command: str, error: Exception) -> int:
    """A command that could not run (a database that refuses, a provider out of reach): one line
    that says why, with every secret of the settings hidden. The traceback only at DEBUG."""
    settings = load_settings()
    why = scrub(f"{type(error).__name__}: {error}", settings.secret_values())
    print(f"messenger-bot {command}: {why}", file=sys.stderr)
    if settings.log_level == "DEBUG":
        print(scrub(traceback.format_exc(), settings.secret_values()), file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
