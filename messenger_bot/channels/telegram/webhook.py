"""POST /telegram/webhook: Telegram's delivery of one update, handed to the application (PTB's
custom-webhook way) and answered once it is handled, so Telegram's connection limit paces us.

403 without the right secret, before anything is read or stored; 400 for a body that is not an
update; 503 while the channel is starting; a 5xx that makes Telegram deliver it again when its
handling failed (see failures); else 200, carrying the reply itself under TELEGRAM_WEBHOOK_ANSWER.
A private chat's plain text is read without PTB (plain.py) and handed to `Handlers.plain_text`;
everything else becomes PTB's `Update`.
"""

from __future__ import annotations

import json
import logging
import secrets
from contextlib import nullcontext
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot, Update
from telegram.ext import Application

from messenger_bot.channels.telegram.answer import webhook_answer
from messenger_bot.channels.telegram.failures import Failures
from messenger_bot.channels.telegram.handlers import Handlers
from messenger_bot.channels.telegram.plain import PlainText, plain_text
from messenger_bot.channels.telegram.reading import ids_are_integers

log = logging.getLogger("messenger_bot.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BODY_LIMIT = 256 * 1024
_LATER = {"retry-after": "5"}


App = Application[Any, Any, Any, Any, Any, Any]


class Webhook:
    def __init__(self, secret: str, enabled: bool, answer_in_reply: bool) -> None:
        self.secret = secret
        self.enabled = enabled
        self.answer_in_reply = answer_in_reply
        #: Set while the channel runs.
        self.app: App | None = None
        self.failures: Failures | None = None
        self.handlers: Handlers | None = None

    async def handle(self, request: Request) -> Response:
        if not self.enabled:
            return JSONResponse({"error": "the Telegram webhook is not enabled here"}, status_code=404)
        app, failures, handlers = self.app, self.failures, self.handlers
        if app is None or failures is None or handlers is None:  # not started (the Bot API was unreachable)
            return JSONResponse({"error": "the Telegram channel is starting"}, 503, headers=_LATER)
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook: refused a request without the right secret token")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        data = parse_body(await request.body())
        update: PlainText | Update | None = None
        if data is not None:
            update = plain_text(data) or parse_update(data, app.bot)
        if update is None:
            return JSONResponse({"error": "the body is not a Telegram update"}, status_code=400)
        with webhook_answer() if self.answer_in_reply else nullcontext() as answer:
            if isinstance(update, PlainText):
                await self._plain(update, data, app, handlers, failures)
            else:
                await app.process_update(update)
        status = failures.redelivery(update.update_id)
        if status is not None:
            return JSONResponse({"error": "not answered; deliver it again"}, status, headers=_LATER)
        return JSONResponse(answer.call) if answer is not None and answer.call else Response(status_code=200)

    @staticmethod
    async def _plain(plain: PlainText, data: Any, app: App, handlers: Handlers, failures: Failures) -> None:
        """Its turn, and what PTB's error handler does when that fails (PTB's `Update` then built,
        for the apology's chat and language)."""
        try:
            await handlers.plain_text(plain)
        except Exception as error:
            await failures.failed(parse_update(data, app.bot), error)


def parse_body(body: bytes) -> dict[str, Any] | None:
    """The JSON object of an update (an integer `update_id`), or None for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past Python's limit
        return None
    return data if isinstance(data, dict) and isinstance(data.get("update_id"), int) else None


def parse_update(data: dict[str, Any], bot: Bot) -> Update | None:
    """PTB's update, or None for anything else (never an error: a malformed body is the sender's)."""
    try:
        update = Update.de_json(data, bot)
    except Exception:  # what a broken shape raises varies
        return None
    return update if ids_are_integers(update) else None
