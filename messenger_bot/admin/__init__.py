"""The operators' side of `serve`: /admin, /metrics, the counters behind them, content reload.

`Operators` is one part of the app (web/app.py mounts it): it always writes the pid
file and reloads content on SIGHUP; with ADMIN_TOKEN set it also serves /admin and
/metrics, observes every turn and every reminder outcome, and flushes the daily
counts and the unanswered questions every FLUSH_SECONDS. Without ADMIN_TOKEN there is
no /admin and no /metrics at all (404), and nothing is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from messenger_bot.admin.auth import AdminAuth
from messenger_bot.admin.counters import DailyCounters
from messenger_bot.admin.inbox import Inbox
from messenger_bot.admin.metrics import DatabaseErrorCounter, Metrics, RequestMetricsMiddleware
from messenger_bot.admin.reload import on_sighup, remove_pid, write_pid
from messenger_bot.admin.routes import AdminSite
from messenger_bot.engine import TurnOutcome
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage

log = logging.getLogger("messenger_bot.admin")

FLUSH_SECONDS = 5.0
PURGE_SECONDS = 3600.0
_WATCHED_LOGGERS = ("messenger_bot.web", "messenger_bot.reminders")


class Operators:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        token = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
        secure = (settings.public_base_url or "").lower().startswith("https://")
        self.auth = AdminAuth(token, secure=secure) if token else None
        self.metrics = Metrics()
        self.counters = DailyCounters()
        self.inbox = Inbox(settings.unanswered_days)
        self.runtime: Runtime | None = None
        self._pid: Path | None = None
        self._task: asyncio.Task[None] | None = None
        self._log_handler = DatabaseErrorCounter(self.metrics)
        self._flushing = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.auth is not None

    @property
    def store(self) -> Storage:
        assert self.runtime is not None
        return self.runtime.store

    def routes(self) -> list[BaseRoute]:
        return AdminSite(self).routes() if self.enabled else []

    def middleware(self) -> list[Middleware]:
        return [Middleware(RequestMetricsMiddleware, metrics=self.metrics)] if self.enabled else []

    # -- lifecycle (a Background of web/app.py) --------------------------------------

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pid = write_pid(self.settings)
        on_sighup(runtime)
        if not self.enabled:
            return
        runtime.engine.observers.append(self.on_turn)
        runtime.dispatch_observers.append(self)
        for name in _WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self._log_handler)
        self._task = asyncio.create_task(self._background())
        log.info("operators: /admin and /metrics on; unanswered questions kept %d days",
                 self.settings.unanswered_days)

    async def stop(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await self.flush()
        for name in _WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(self._log_handler)
        remove_pid(self._pid)

    # -- observers: quick, in memory -------------------------------------------------

    def on_turn(self, outcome: TurnOutcome) -> None:
        self.counters.on_turn(outcome)
        self.metrics.on_turn(outcome)
        self.inbox.add(outcome)

    def reminder(self, channel: str, status: str, reason: str | None, lag_seconds: float) -> None:
        self.counters.on_reminder(datetime.now(UTC), channel, status, reason, lag_seconds)
        self.metrics.on_reminder(channel, status, lag_seconds)

    def batch(self, channel: str, size: int) -> None:
        self.metrics.batch.labels(channel).observe(size)

    # -- writing what was observed ---------------------------------------------------

    async def flush(self) -> None:
        """Write the buffered counts and questions; a failure keeps the counts for the next try."""
        async with self._flushing:
            try:
                await self.counters.flush(self.store)
                await self.inbox.flush(self.store)
            except Exception as error:
                log.warning("operators: could not write the counters (%s); trying again shortly",
                            type(error).__name__)

    async def _background(self) -> None:
        last_purge: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            if last_purge is None or loop.time() - last_purge >= PURGE_SECONDS:
                try:
                    await self.inbox.purge(self.store, datetime.now(UTC))
                except Exception as error:
                    log.warning("operators: inbox retention failed (%s)", type(error).__name__)
                last_purge = loop.time()
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()
