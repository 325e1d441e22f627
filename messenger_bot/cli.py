"""The command line (DESIGN.md, fixed): serve, chat, check-content, reminders send-due.

Each command reads the settings once; a bad setting or broken content stops it with
a message naming the problem and exit code 2 (settings) or 1 (content).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from messenger_bot.content import ContentError, check_content
from messenger_bot.settings import Settings, SettingsError, load_settings

EXIT_CONTENT = 1
EXIT_SETTINGS = 2


def cmd_check_content(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else _settings().content_dir
    problems = check_content(directory)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return EXIT_CONTENT
    print(f"{directory}: content is valid")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from messenger_bot.console import run_interactive, run_json
    from messenger_bot.runtime import open_runtime

    settings = _settings()
    user = args.user or ("json" if args.json else "console")
    with asyncio.Runner() as runner:
        runtime = runner.run(open_runtime(settings))
        try:
            if args.json:
                run_json(runner, runtime.engine, args.channel, user, sys.stdin, sys.stdout)
            else:
                runner.run(run_interactive(runtime.engine, args.channel, user))
        except KeyboardInterrupt:
            pass
        finally:
            runner.run(runtime.close())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from messenger_bot.web.server import serve

    return serve(_settings(), scheduler=not args.no_scheduler)


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
    chat.add_argument("--channel", choices=["console", "telegram", "whatsapp"], default="console")
    chat.add_argument("--user", help="the user id to talk as (state is kept per user)")
    chat.set_defaults(func=cmd_chat)
    check = sub.add_parser("check-content", help="validate the content in flows/ (or DIR)")
    check.add_argument("dir", nargs="?", help="content directory (default: the configured one)")
    check.set_defaults(func=cmd_check_content)
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


if __name__ == "__main__":
    sys.exit(main())
