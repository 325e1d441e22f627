"""The ASGI app: health, the web chat, and each configured channel's webhooks.

Channels plug in through one small protocol: they name their routes, and are started
with the runtime once the store is open and stopped before it closes. With no
settings at all only the web chat (and the reminder scheduler) run. A channel that
cannot start does not stop the others (web/supervise.py): /healthz names it.
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
from messenger_bot.web.supervise import ChannelGateMiddleware, DeadlineMiddleware, Supervisor

log = logging.getLogger("messenger_bot.web")
#: What a store raises when its database is gone or busy (OSError covers refused and reset connections).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OSError, sqlite3.OperationalError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
)


class Channel(Protocol):
    """A mouth of the bot: it translates, and the engine decides what to say.

    A channel may also name `deadlines` ({path: seconds}): a request there that has not
    answered in time gets 503, so its provider delivers it again instead of timing out."""

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
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sms_from:
        from messenger_bot.channels.sms import SmsChannel

        found.append(SmsChannel(settings))
    return found


def background_for(settings: Settings, scheduler: bool) -> list[Background]:
    """The periodic jobs: reminders and retention; none under `serve --no-scheduler` (a cron runs
    `reminders send-due` and `prune` instead)."""
    if not scheduler:
        return []
    from messenger_bot.retention import RetentionJob

    jobs: list[Background] = [RetentionJob(settings)]
    try:
        from messenger_bot.reminders.scheduler import ReminderScheduler
    except ImportError:
        return jobs
    return [ReminderScheduler(settings), *jobs]


def create_app(settings: Settings, scheduler: bool = True) -> Starlette:
    from messenger_bot.admin import Operators  # /admin, /metrics, counters, reload on SIGHUP
    from messenger_bot.diary.web import DiaryFiles

    channels = channels_for(settings)
    operators = Operators(settings)
    files = DiaryFiles()  # the diary's file links: routes and a runtime, not a channel
    workers = [operators, files, *background_for(settings, scheduler)]  # operators stop last: the final pass

    supervisor = Supervisor(list(channels), settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        app.state.runtime = runtime
        app.state.supervisor = supervisor
        app.state.channels = {c.name: c for c in channels}
        started: list[Background] = []
        try:
            await supervisor.start(runtime)
            for worker in workers:
                await worker.start(runtime)
                started.append(worker)
            up = [name for name, state in supervisor.channels().items() if state == "up"]
            down = supervisor.down()
            log.info("serving: channels %s%s", ", ".join(up), f" (down: {', '.join(down)})" if down else "")
            yield
        finally:
            for worker in reversed(started):
                await worker.stop()
            await supervisor.stop()
            await runtime.close()
            log.info("stopped cleanly")

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]), *operators.routes(), *files.routes()
    ]
    limits: dict[str, int] = {}
    deadlines: dict[str, float] = {}
    owners: dict[str, str] = {}
    for channel in channels:
        own = channel.routes()
        routes.extend(own)
        limits.update(channel.body_limits)
        deadlines.update(getattr(channel, "deadlines", {}))
        if channel.name != "web":  # the web chat's page and API never close
            owners.update({r.path: channel.name for r in own if isinstance(r, Route)})
    middleware = [
        *operators.middleware(),
        Middleware(ForwardedMiddleware, trusted=settings.forwarded_allow_ips),
        Middleware(RequestIdMiddleware),
        Middleware(BodyLimitMiddleware, limits=limits),
        Middleware(ChannelGateMiddleware, supervisor=supervisor, paths=owners),
        Middleware(DeadlineMiddleware, deadlines=deadlines),
    ]
    handlers = {HTTPException: _http_error, **dict.fromkeys(DATABASE_ERRORS, _database_error),
                Exception: _server_error}
    return Starlette(
        routes=routes, middleware=middleware, lifespan=lifespan, exception_handlers=handlers  # type: ignore[arg-type]
    )


async def healthz(request: Request) -> Response:
    """200 when content is loaded and the database answers; 503 (and why) when not.

    A channel that is down (e.g. the Telegram Bot API unreachable) makes the status "degraded"
    and is named under "down", but the answer stays 200: a load balancer that took this
    instance out would take the web chat and the working channels with it, and every other
    instance meets the same provider outage. Alert on "degraded", not on the status code."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    supervisor: Supervisor | None = getattr(request.app.state, "supervisor", None)
    content_ok = runtime is not None and bool(runtime.content.nodes)
    database_ok = runtime is not None and await runtime.store.ping()
    down = supervisor.down() if supervisor is not None else {}
    serving = content_ok and database_ok
    body: dict[str, object] = {
        "status": ("degraded" if down else "ok") if serving else "unavailable",
        "content": "loaded" if content_ok else "missing",
        "database": "reachable" if database_ok else "unreachable",
        "channels": supervisor.channels() if supervisor is not None else {},
        "version": __version__,
    }
    if down:
        body["down"] = down
    return JSONResponse(body, status_code=200 if serving else 503)


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
