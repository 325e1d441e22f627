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
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from messenger_bot.content import Content, ContentError
from messenger_bot.content import load_content as _load_content
from messenger_bot.content.telegram import TelegramTexts
from messenger_bot.delivery import Sender
from messenger_bot.diary.plugin import DIARY
from messenger_bot.features import FeatureSpec, content_files, resolve, user_tables
from messenger_bot.reminders.plugin import REMINDERS
from messenger_bot.retention import RULES, RetentionJob
from messenger_bot.retention import prune as _prune
from messenger_bot.runtime import Background, Runtime
from messenger_bot.runtime import open_runtime as _open_runtime
from messenger_bot.settings import Settings, load_settings
from messenger_bot.storage import Storage, open_storage

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
    content = _load_content(directory, content_files(FEATURES))
    problems = unworded_commands(content)
    if problems:
        raise ContentError(problems)
    return content


def check_content(directory: Path | str) -> list[str]:
    """check-content's lines for `directory`: the engine's files and every feature's."""
    try:
        load_content(directory)
    except ContentError as error:
        return error.problems
    return []


def unworded_commands(content: Content) -> list[str]:
    """A feature's Telegram command that a language's telegram.yaml gives no words for: the spec
    names the command, the menu's words are content."""
    problems = []
    for language in content.languages.values() or [content]:
        texts = language.extra.get("telegram.yaml")
        worded = {c.command for c in texts.commands} if isinstance(texts, TelegramTexts) else set()
        problems += [f"telegram.yaml ({language.code}): no words for /{name}, a command of {spec.name}"
                     for spec in FEATURES for name in spec.telegram_commands if name not in worded]
    return problems


async def open_runtime(settings: Settings, content: Content | None = None) -> Runtime:
    """Content, store and engine with every feature the settings switch on; the features learn
    which channels can send first (`sender_channels`), so none of them names a channel.
    `content`: what `load_content` returned already (else the files are read now)."""
    told = settings.model_copy(update={"sender_channels": sender_channels(settings)})
    return await _open_runtime(told, FEATURES, content)


def runtime_opener(content: Content | None) -> Callable[[Settings], Awaitable[Runtime]]:
    """How the app opens its runtime: over `content` the first time (what `serve` checked before
    listening, not read a second time), from the files on disk after that."""
    handed = [content] if content is not None else []

    async def opened(settings: Settings) -> Runtime:
        return await open_runtime(settings, handed.pop() if handed else None)

    return opened


def retention_rules() -> dict[str, str]:
    """How long every table keeps its rows: the engine's and channels' (retention.py), then each
    feature's own."""
    rules = dict(RULES)
    for spec in FEATURES:
        rules.update(spec.retention)
    return rules


async def open_store(settings: Settings) -> Storage:
    """The database, walking every feature's user tables in "my data" and "delete my data"."""
    return await open_storage(settings.database_url, user_tables(FEATURES))


async def prune(store: Storage, settings: Settings, now: datetime) -> dict[str, int]:
    """One retention pass with every feature's expiries."""
    return await _prune(store, settings, now, FEATURES)


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
    """The periodic jobs: each switched-on feature's (the reminders' tick, which runs the diary's
    check-ins too), then retention; none under `serve --no-scheduler` (a cron runs
    `reminders send-due` and `prune` instead)."""
    if not scheduler:
        return []
    on = [spec for spec in FEATURES if spec.enabled(settings)]
    jobs: list[Background] = [resolve(job)(settings, senders_for) for spec in on for job in spec.jobs]
    return [*jobs, RetentionJob(settings, FEATURES)]


def create_app(settings: Settings, scheduler: bool = True, content: Content | None = None) -> Starlette:
    """The ASGI app `serve` runs: health, the web chat, each channel's webhooks, the operators'
    pages and the diary's file links, with the background work started beside them. `content`:
    loaded and checked already (by `serve`), so the start does not load it again."""
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
        open_runtime=runtime_opener(content),
    )
    return build_app(settings, parts)


# -- the command line's optional parts ---------------------------------------------------


def serve(settings: Settings, scheduler: bool = True) -> int:
    """`messenger-bot serve`: broken content stops it before anything listens; the content
    checked is the content served (loaded once)."""
    from messenger_bot.web.server import serve as run_server

    content = load_content(settings.content_dir)
    return run_server(settings, create_app(settings, scheduler=scheduler, content=content))


def add_feature_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Each feature's command-line commands (`reminders send-due`), given the runner they use."""
    for spec in FEATURES:
        if spec.cli is not None:
            resolve(spec.cli)(sub, run_with_runtime)


#: A command's work over an open runtime and the senders the settings switch on.
Task = Callable[[Runtime, Mapping[str, Sender]], Awaitable[int]]


def run_with_runtime(task: Task) -> int:
    """A feature command's run: the settings, the runtime and the senders, then the task's exit code."""
    return asyncio.run(_with_runtime(load_settings(), task))


async def _with_runtime(settings: Settings, task: Task) -> int:
    runtime = await open_runtime(settings)
    try:
        return await task(runtime, senders_for(settings))
    finally:
        await runtime.close()


def add_channel_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands channels bring: `whatsapp sync-templates`."""
    whatsapp = sub.add_parser("whatsapp", help="WhatsApp (Twilio) tasks")
    whatsapp_sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    sync = whatsapp_sub.add_parser("sync-templates", help="create tap-able menu templates (Content API)")
    sync.set_defaults(func=_cmd_whatsapp_sync_templates)


def _cmd_whatsapp_sync_templates(args: argparse.Namespace) -> int:
    from messenger_bot.channels.whatsapp.templates import run_sync_templates

    return run_sync_templates(load_settings())

