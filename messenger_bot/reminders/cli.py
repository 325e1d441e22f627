"""`messenger-bot reminders send-due [--now ISO-8601]`: one dispatch pass, then exit.

For platforms where a cron job (not a long-running scheduler) sends the reminders:
run it every minute or so beside `serve --no-scheduler`.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from messenger_bot.settings import Settings

if TYPE_CHECKING:
    from messenger_bot.admin.counters import ReminderCounts

#: In-flight reminders listed one per line, up to this many.
SHOWN = 20


def parse_now(text: str) -> datetime:
    """An ISO-8601 time; without an offset it is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        example = "e.g. 2026-03-29T09:00:00Z"
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r} ({example})") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    reminders = sub.add_parser("reminders", help="reminder jobs for a platform scheduler (cron)")
    jobs = reminders.add_subparsers(dest="job", required=True)
    send_due = jobs.add_parser("send-due", help="send every reminder that is due, once, then exit")
    send_due.add_argument("--now", type=parse_now, help="act as if it were this time (ISO-8601; default now)")
    send_due.set_defaults(func=cmd_send_due)


def cmd_send_due(args: argparse.Namespace) -> int:
    from messenger_bot.settings import load_settings

    return asyncio.run(send_due(load_settings(), args.now))


def _operator_counts(settings: Settings) -> ReminderCounts | None:
    """With ADMIN_TOKEN set, the pass's outcomes go to the operators' daily counts too."""
    if settings.admin_token is None:
        return None
    from messenger_bot.admin.counters import ReminderCounts

    return ReminderCounts()


async def send_due(settings: Settings, now: datetime | None) -> int:
    from messenger_bot.delivery import senders_for
    from messenger_bot.diary.followup import followups_for
    from messenger_bot.reminders.dispatcher import Dispatcher, rates_for
    from messenger_bot.reminders.replies import texts_of
    from messenger_bot.runtime import open_runtime

    runtime = await open_runtime(settings)
    senders = senders_for(settings)
    started = []
    try:
        for sender in senders.values():
            await sender.start(runtime.store)
            started.append(sender)
        if not senders:
            print("no channel can send reminders: set TELEGRAM_BOT_TOKEN or the TWILIO_* settings")
        counts = _operator_counts(settings)
        dispatcher = Dispatcher(runtime.store, texts_of(runtime.content), senders, rates=rates_for(settings),
                                observers=[counts] if counts else None)
        report = await dispatcher.run_pass(now)
        followups = followups_for(runtime.store, runtime.content, senders, rates_for(settings))
        report.add(await followups.run_pass(now))
        if counts is not None:
            await counts.flush(runtime.store)
    finally:
        for sender in started:
            await sender.close()
        await runtime.close()
    print(report.summary())
    for sub_id, due in report.interrupted[:SHOWN]:
        print(f"in flight at an earlier stop, not resent: subscription {sub_id} due {due.isoformat()}")
    return 0
