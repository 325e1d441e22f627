"""The peer for bench/telegram_webhook.py: a plain python-telegram-bot echo bot by webhook.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_BASE_URL=… .venv/bin/python bench/ptb_echo.py PORT

PTB's own "custom webhook" way, as its documentation shows it: an `Application` with no
Updater, a Starlette route that hands each posted update to `process_update`, on uvicorn,
and one handler that sends the text back with PTB's defaults (httpx, no rate limiter, no
storage). What our bot does per update beyond this is validation, storage and the engine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def build(token: str, base_url: str) -> Starlette:
    application: Application[Any, Any, Any, Any, Any, Any] = (
        Application.builder().token(token).base_url(base_url).updater(None).build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def webhook(request: Request) -> Response:
        await application.process_update(Update.de_json(json.loads(await request.body()), application.bot))
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return Response("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with application:
            yield

    routes = [Route("/telegram/webhook", webhook, methods=["POST"]), Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    app = build(os.environ["TELEGRAM_BOT_TOKEN"], os.environ["TELEGRAM_BASE_URL"])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)


if __name__ == "__main__":
    main()
