"""`messenger-bot reminders send-due [--now ISO-8601]`: one dispatch pass, then exit.

For platforms where a cron job (not a long-running scheduler) sends the reminders:
run it every minute or so beside `serve --no-scheduler`. The reminders' FeatureSpec names
`add_parser`; the composition root (wiring.py) calls it with its runner, which opens the
runtime and the senders this pass runs over.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from messenger_bot.admin.counters import ReminderCounts
from messenger_bot.delivery import Sender
from messenger_bot.diary.followup import followups_for
from messenger_bot.reminders.dispatcher import Dispatcher, rates_for
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings

#: In-flight reminders listed one per line, up to this many.
SHOWN = 20

#: A command's work over an open runtime and the senders the settings switch on.
Task = Callable[[Runtime, Mapping[str, Sender]], Awaitable[int]]
#: wiring's runner: opens both, runs the task, closes them; the task's result is the exit code.
Run = Callable[[Task], int]


def parse_now(text: str) -> datetime:
    """An ISO-8601 time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        example = "e.g. 2026-03-29T09:00:00Z"
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r} ({example})") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], run: Run) -> None:
    """`messenger-bot reminders …`: today `send-due [--now ISO-8601]`."""

    def send_due(args: argparse.Namespace) -> int:
        return run(lambda runtime, senders: run_send_due(runtime, senders, args.now))

    reminders = sub.add_parser("reminders", help="reminder jobs for a platform scheduler (cron)")
    jobs = reminders.add_subparsers(dest="job", required=True)
    send = jobs.add_parser("send-due", help="send every reminder that is due, once, then exit")
    send.add_argument("--now", type=parse_now, help="act as if it were this time (ISO-8601; default now)")
    send.set_defaults(func=send_due)


def _operator_counts(settings: Settings) -> ReminderCounts | None:
    """With ADMIN_TOKEN set, the pass's outcomes go to the operators' daily counts too."""
    return ReminderCounts() if settings.admin_token is not None else None


async def run_send_due(runtime: Runtime, senders: Mapping[str, Sender], now: datetime | None) -> int:
    """One pass of the reminders and the diary's check-ins over `senders`, then a summary line."""
    settings = runtime.settings
    started: list[Sender] = []
    try:
        for sender in senders.values():
            await sender.start(runtime.store)
            started.append(sender)
        if not senders:
            print("no channel can send reminders: set TELEGRAM_BOT_TOKEN or the TWILIO_* settings")
        counts = _operator_counts(settings)
        dispatcher = Dispatcher(runtime.store, runtime.content, dict(senders), rates=rates_for(settings),
                                observers=[counts] if counts else None, templates=settings.whatsapp_template)
        report = await dispatcher.run_pass(now)
        followups = followups_for(runtime.store, runtime.content, dict(senders), rates_for(settings))
        report.add(await followups.run_pass(now))
        if counts is not None:
            await counts.flush(runtime.store)
    finally:
        for sender in started:
            await sender.close()
    print(report.summary())
    for sub_id, due in report.interrupted[:SHOWN]:
        print(f"in flight at an earlier stop, not resent: subscription {sub_id} due {due.isoformat()}")
    return 0
