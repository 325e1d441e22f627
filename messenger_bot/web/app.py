"""The ASGI app: health, the web chat, and each configured channel's webhooks.

Channels plug in through one small protocol: they name their routes, and are started
with the runtime once the store is open and stopped before it closes. With no
settings at all only the web chat (and the reminder scheduler) run.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from messenger_bot import __version__
from messenger_bot.runtime import Runtime, open_runtime
from messenger_bot.settings import Settings
from messenger_bot.web.middleware import BodyLimitMiddleware, ForwardedMiddleware, RequestIdMiddleware

log = logging.getLogger("messenger_bot.web")
#: What a store raises when its database is gone or busy (OSError covers refused and reset connections).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OSError, sqlite3.OperationalError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
)


class Channel(Protocol):
    """A mouth of the bot: it translates, and the engine decides what to say."""

    name: str
    body_limits: dict[str, int]

    def routes(self) -> list[BaseRoute]: ...

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


class Background(Protocol):
    """Work that runs beside the requests (the reminder scheduler)."""

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


def channels_for(settings: Settings) -> list[Channel]:
    """The channels the settings switch on; the web chat is always there."""
    from messenger_bot.web.webchat import WebChat

    found: list[Channel] = [WebChat(settings)]
    if settings.telegram_bot_token is not None:
        from messenger_bot.channels.telegram import TelegramChannel

        found.append(TelegramChannel(settings))
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from:
        from messenger_bot.channels.whatsapp import WhatsAppChannel

        found.append(WhatsAppChannel(settings))
    return found


def background_for(settings: Settings, scheduler: bool) -> list[Background]:
    if not scheduler:
        return []
    try:
        from messenger_bot.reminders.scheduler import ReminderScheduler
    except ImportError:
        return []
    return [ReminderScheduler(settings)]


def create_app(settings: Settings, scheduler: bool = True) -> Starlette:
    channels = channels_for(settings)
    workers = background_for(settings, scheduler)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        app.state.runtime = runtime
        started: list[Channel | Background] = []
        try:
            for part in (*channels, *workers):
                await part.start(runtime)
                started.append(part)
            log.info("serving: channels %s", ", ".join(c.name for c in channels))
            yield
        finally:
            for part in reversed(started):
                await part.stop()
            await runtime.close()
            log.info("stopped cleanly")

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    limits: dict[str, int] = {}
    for channel in channels:
        routes.extend(channel.routes())
        limits.update(channel.body_limits)
    middleware = [
        Middleware(ForwardedMiddleware, trusted=settings.forwarded_allow_ips),
        Middleware(RequestIdMiddleware),
        Middleware(BodyLimitMiddleware, limits=limits),
    ]
    handlers = {HTTPException: _http_error, **dict.fromkeys(DATABASE_ERRORS, _database_error),
                Exception: _server_error}
    return Starlette(
        routes=routes, middleware=middleware, lifespan=lifespan, exception_handlers=handlers  # type: ignore[arg-type]
    )


async def healthz(request: Request) -> Response:
    """200 when content is loaded and the database answers; 503 (and why) when not."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    content_ok = runtime is not None and bool(runtime.content.nodes)
    database_ok = runtime is not None and await runtime.store.ping()
    body = {
        "status": "ok" if content_ok and database_ok else "unavailable",
        "content": "loaded" if content_ok else "missing",
        "database": "reachable" if database_ok else "unreachable",
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if content_ok and database_ok else 503)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _database_error(request: Request, exc: Exception) -> Response:
    """503 while the database is unreachable or busy (Twilio and Telegram retry later); else a 500."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    busy = isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))
    if busy or runtime is None or not await runtime.store.ping():
        log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        return JSONResponse({"error": "temporarily unavailable; please try again shortly"}, status_code=503,
                            headers={"retry-after": "5"})
    return await _server_error(request, exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return JSONResponse({"error": "something went wrong on our side; please try again"}, status_code=500)
