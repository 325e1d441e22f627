"""The composition root: the one place that knows which channels, features, senders and
background jobs exist, and connects them to the settings, the store, the scheduler and the
command line (docs/architecture.md draws the picture).

Everything else receives what it needs from here: the web app its channels, routes and workers,
the engine its features, the content loader the features' files, the dispatcher its senders.
An optional channel is imported only when its settings switch it on, so a web-chat-only start
never loads Telegram's or Twilio's libraries; that is why the imports of this module alone may
sit inside functions. An import that fails is an error, never a part quietly left out.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from messenger_bot.content import Content
from messenger_bot.content import check_content as _check_content
from messenger_bot.content import load_content as _load_content
from messenger_bot.delivery import Sender
from messenger_bot.diary.plugin import DIARY
from messenger_bot.features import FeatureSpec, content_files
from messenger_bot.reminders.plugin import REMINDERS
from messenger_bot.retention import RULES, RetentionJob
from messenger_bot.runtime import Background, Runtime
from messenger_bot.runtime import open_runtime as _open_runtime
from messenger_bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from messenger_bot.channels.base import Channel

#: "Was this helpful?" under every topic answer (admin/feedback.py): votes are counts in admin_daily,
#: no table or content file of its own; on only with FEEDBACK set.
FEEDBACK = FeatureSpec(
    name="feedback", build="messenger_bot.admin.feedback:build", enabled=lambda settings: settings.feedback
)

#: Every feature, in the order the engine asks them (a feature's typed words before the next's).
FEATURES: tuple[FeatureSpec, ...] = (REMINDERS, DIARY, FEEDBACK)

# -- content and the runtime -------------------------------------------------------------


def load_content(directory: Path | str) -> Content:
    """flows/ (or `directory`) with every feature's files, validated; raises ContentError."""
    return _load_content(directory, content_files(FEATURES))


def check_content(directory: Path | str) -> list[str]:
    """check-content's lines for `directory`: the engine's files and every feature's."""
    return _check_content(directory, content_files(FEATURES))


async def open_runtime(settings: Settings) -> Runtime:
    """Content, store and engine with every feature the settings switch on; the features learn
    which channels can send first (`sender_channels`), so none of them names a channel."""
    told = settings.model_copy(update={"sender_channels": sender_channels(settings)})
    return await _open_runtime(told, FEATURES)


def retention_rules() -> dict[str, str]:
    """How long every table keeps its rows: the engine's and channels' (retention.py), then each
    feature's own."""
    rules = dict(RULES)
    for spec in FEATURES:
        rules.update(spec.retention)
    return rules


# -- channels, senders and background work -----------------------------------------------


def telegram_on(settings: Settings) -> bool:
    return settings.telegram_bot_token is not None


def whatsapp_on(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from)


def sms_on(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sms_from)


def channels_for(settings: Settings) -> list[Channel]:
    """The channels the settings switch on; the web chat is always there."""
    from messenger_bot.web.webchat import WebChat

    found: list[Channel] = [WebChat(settings)]
    if telegram_on(settings):
        from messenger_bot.channels.telegram import TelegramChannel

        found.append(TelegramChannel(settings))
    if whatsapp_on(settings):
        from messenger_bot.channels.whatsapp import WhatsAppChannel

        found.append(WhatsAppChannel(settings))
    if sms_on(settings):
        from messenger_bot.channels.sms import SmsChannel

        found.append(SmsChannel(settings))
    return found


def sender_channels(settings: Settings) -> frozenset[str]:
    """The channels `senders_for` gives a sender, without building one."""
    on = {"telegram": telegram_on, "whatsapp": whatsapp_on, "sms": sms_on}
    return frozenset(name for name, switched_on in on.items() if switched_on(settings))


def senders_for(settings: Settings) -> dict[str, Sender]:
    """The senders the settings switch on, by channel name: how reminders reach a user."""
    found: dict[str, Sender] = {}
    if telegram_on(settings):
        from messenger_bot.channels.telegram import TelegramSender

        found["telegram"] = TelegramSender(settings)
    if whatsapp_on(settings):
        from messenger_bot.channels.whatsapp import WhatsAppSender

        found["whatsapp"] = WhatsAppSender(settings)
    if sms_on(settings):
        from messenger_bot.channels.sms import SmsSender

        found["sms"] = SmsSender(settings)
    return found


def background_for(settings: Settings, scheduler: bool) -> list[Background]:
    """The periodic jobs: reminders (with the diary's check-ins) and retention; none under
    `serve --no-scheduler` (a cron runs `reminders send-due` and `prune` instead)."""
    if not scheduler:
        return []
    from messenger_bot.reminders.scheduler import ReminderScheduler

    return [ReminderScheduler(settings, senders_for), RetentionJob(settings)]


def create_app(settings: Settings, scheduler: bool = True) -> Starlette:
    """The ASGI app `serve` runs: health, the web chat, each channel's webhooks, the operators'
    pages and the diary's file links, with the background work started beside them."""
    from messenger_bot.admin import Operators
    from messenger_bot.diary.web import DiaryFiles
    from messenger_bot.web.app import AppParts, build_app

    operators = Operators(settings)  # /admin, /metrics, counters, reload on SIGHUP
    files = DiaryFiles()  # the diary's file links: routes and a runtime, not a channel
    parts = AppParts(
        channels=channels_for(settings),
        workers=[operators, files, *background_for(settings, scheduler)],  # operators stop last
        routes=[*operators.routes(), *files.routes()],
        middleware=operators.middleware(),
        open_runtime=open_runtime,
    )
    return build_app(settings, parts)


# -- the command line's optional parts ---------------------------------------------------


def serve(settings: Settings, scheduler: bool = True) -> int:
    """`messenger-bot serve`: broken content stops it before anything listens."""
    from messenger_bot.web.server import serve as run_server

    load_content(settings.content_dir)
    return run_server(settings, create_app(settings, scheduler=scheduler))


def add_reminder_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`reminders send-due`, the reminders' command for a platform's cron."""
    from messenger_bot.reminders.cli import add_parser

    add_parser(sub, _cmd_send_due)


def add_channel_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands channels bring: `whatsapp sync-templates`."""
    whatsapp = sub.add_parser("whatsapp", help="WhatsApp (Twilio) tasks")
    whatsapp_sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    sync = whatsapp_sub.add_parser("sync-templates", help="create tap-able menu templates (Content API)")
    sync.set_defaults(func=_cmd_whatsapp_sync_templates)


def _cmd_send_due(args: argparse.Namespace) -> int:
    return asyncio.run(send_due(load_settings(), args.now))


async def send_due(settings: Settings, now: datetime | None) -> int:
    """`reminders send-due`: one dispatch pass over every sender the settings switch on."""
    from messenger_bot.reminders.cli import run_send_due

    runtime = await open_runtime(settings)
    try:
        return await run_send_due(runtime, senders_for(settings), now)
    finally:
        await runtime.close()


def _cmd_whatsapp_sync_templates(args: argparse.Namespace) -> int:
    from messenger_bot.channels.whatsapp.templates import run_sync_templates

    return run_sync_templates(load_settings())

