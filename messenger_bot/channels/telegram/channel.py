"""The Telegram channel on python-telegram-bot: by polling, or by webhook in our app.

PTB's `Application` and `Handlers` turn updates into `Incoming`; the engine answers; replies
leave through the paced `Outbox` that reminders use too. With TELEGRAM_WEBHOOK_URL set there is
no Updater: Telegram posts to `POST /telegram/webhook` (`Webhook`). Without it, PTB's Updater
polls, started inside our lifespan so uvicorn keeps the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from messenger_bot.channels.telegram.bots import build_channel_bot
from messenger_bot.channels.telegram.commands import command_names, menus_of, set_command_menus
from messenger_bot.channels.telegram.failures import Failures
from messenger_bot.channels.telegram.handlers import Handlers
from messenger_bot.channels.telegram.limits import limits_for
from messenger_bot.channels.telegram.outbox import Outbox
from messenger_bot.channels.telegram.persistence import KeepNothing
from messenger_bot.channels.telegram.render import CODEC
from messenger_bot.channels.telegram.secret import webhook_secret
from messenger_bot.channels.telegram.turn import Turns
from messenger_bot.channels.telegram.updates import UpdateLog
from messenger_bot.channels.telegram.webhook import BODY_LIMIT, WEBHOOK_PATH, Webhook
from messenger_bot.lanes import Lane
from messenger_bot.runtime import ChannelSettingsError, Runtime
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.telegram")

#: my_chat_member says at once when a user blocks or unblocks the bot (or a group removes it);
#: edited_message lets a warning sign added by an edit still raise the alert.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
#: How long stopping may wait on each step (the Bot API may be unreachable): shutdown never hangs.
STOP_SECONDS = 10.0
#: Updates handled at once when polling; one chat's updates still run one at a time.
CONCURRENT_UPDATES = 64

App = Application[Any, Any, Any, Any, Any, Any]


class TelegramChannel:
    name = "telegram"
    body_limits: ClassVar[dict[str, int]] = {WEBHOOK_PATH: BODY_LIMIT}

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_webhook = settings.telegram_webhook_url is not None
        self.secret = webhook_secret(settings)
        self.webhook = Webhook(self.secret, self.by_webhook, settings.telegram_webhook_answer)
        self.app: App | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK_PATH, self.webhook.handle, methods=["POST"])]

    async def start(self, runtime: Runtime) -> None:
        """Raises when the Bot API cannot be reached (the app retries later) or refuses the token;
        a failed start leaves nothing running behind."""
        updates = UpdateLog(runtime.store)
        await updates.prune()
        CODEC.register(b.payload for buttons in runtime.content.buttons.values() for b in buttons)
        app, failures, handlers = self._build(runtime, updates)
        try:
            await self._launch(app, runtime)
        except BaseException:
            await _halt(app)
            raise
        self.app = self.webhook.app = app
        self.webhook.failures, self.webhook.handlers = failures, handlers
        log.info("telegram: @%s by %s", app.bot.username, "webhook" if self.by_webhook else "polling")

    def _build(self, runtime: Runtime, updates: UpdateLog) -> tuple[App, Failures, Handlers]:
        limits = limits_for(self.settings)
        memory = KeepNothing()
        builder = (Application.builder().bot(build_channel_bot(self.settings, limits))
                   .concurrent_updates(CONCURRENT_UPDATES).persistence(memory))
        if self.by_webhook:
            builder = builder.updater(None)
        app = builder.build()
        memory.forget_chat, memory.forget_user = app.drop_chat_data, app.drop_user_data
        outbox = Outbox(app.bot, limits, runtime.store, Lane.REPLY)
        token = self.settings.telegram_bot_token
        failures = Failures(runtime, outbox, updates, self.by_webhook,
                            [token.get_secret_value()] if token is not None else [])
        commands = command_names(menus_of(runtime.content))
        handlers = Handlers(Turns(runtime, outbox), updates)
        handlers.register(app, commands, failures.on_error)
        return app, failures, handlers

    async def _launch(self, app: App, runtime: Runtime) -> None:
        try:
            await app.initialize()
        except InvalidToken:
            raise ChannelSettingsError("TELEGRAM_BOT_TOKEN was refused by the Bot API server") from None
        await set_command_menus(app.bot, menus_of(runtime.content))
        if self.by_webhook:
            url = str(self.settings.telegram_webhook_url)
            await app.bot.set_webhook(url=url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES)
        await app.start()
        if app.updater is not None:
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._poll_error)

    async def stop(self) -> None:
        app, self.app = self.app, None
        self.webhook.app = self.webhook.failures = self.webhook.handlers = None
        if app is not None:
            await _halt(app)

    def _poll_error(self, error: TelegramError) -> None:
        text = f"{type(error).__name__}: {error}"
        token = self.settings.telegram_bot_token
        if token is not None:
            text = text.replace(token.get_secret_value(), "<token>")
        log.warning("telegram polling: %s", text)


async def _halt(app: App) -> None:
    """Stop polling, the application and its connections; each step bounded, none skipped."""
    steps = []
    if app.updater is not None and app.updater.running:
        steps.append(app.updater.stop)
    if app.running:
        steps.append(app.stop)
    steps += [app.shutdown, app.bot.shutdown]  # the bot's own connections, if initialize half-failed
    for step in steps:
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await step()
        except Exception as error:  # a step that fails or hangs must not keep the others from running
            log.warning("telegram: stopping, %s did not finish: %s", step.__name__, type(error).__name__)
