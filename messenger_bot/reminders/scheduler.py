"""The reminder tick inside `serve`: one APScheduler interval job, no per-user jobs.

The schedule of every reminder lives in the database; this job only runs a dispatch
pass every few seconds. `max_instances=1` and `coalesce=True` mean a slow pass is never
overlapped by the next tick, and ticks missed meanwhile collapse into one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from messenger_bot.delivery import Sender
from messenger_bot.diary.followup import FollowupDispatcher, followups_for
from messenger_bot.reminders.dispatcher import Dispatcher, rates_for
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.reminders")

TICK_SECONDS = 5
#: How long stop() waits for a pass in progress to record its outcomes.
STOP_GRACE = 30.0


class ReminderScheduler:
    """A `Background` of web/app.py: started inside the running loop, stopped before the store closes."""

    def __init__(
        self,
        settings: Settings,
        senders_for: Callable[[Settings], Mapping[str, Sender]],
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.settings = settings
        #: How the settings become senders (wiring.py knows which channels exist).
        self.senders_for = senders_for
        self.tick_seconds = tick_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self.senders: dict[str, Sender] = {}
        self.dispatcher: Dispatcher | None = None
        self.followups: FollowupDispatcher | None = None
        self._pass: asyncio.Lock = asyncio.Lock()

    async def start(self, runtime: Runtime) -> None:
        self.senders = dict(self.senders_for(self.settings))
        for sender in self.senders.values():
            await sender.start(runtime.store)
        self.dispatcher = Dispatcher(
            runtime.store, runtime.content, self.senders, rates=rates_for(self.settings),
            observers=runtime.dispatch_observers, templates=self.settings.whatsapp_template,
        )
        self.followups = followups_for(runtime.store, runtime.content, self.senders, rates_for(self.settings))
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            id="reminders-dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=60,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        log.info("reminder scheduler started: channels %s", ", ".join(self.senders) or "none")

    async def tick(self) -> None:
        if self.dispatcher is None or self.followups is None or not self.senders:
            return
        async with self._pass:
            try:
                report = await self.dispatcher.run_pass()
                report.add(await self.followups.run_pass())  # the diary's check-ins, same rules
            except Exception:
                log.exception("reminder dispatch pass failed; the next tick tries again")
                return
        if report.sent or report.skipped or report.failed or report.interrupted:
            log.info("reminders: %s", report.summary())

    async def stop(self) -> None:
        scheduler = self.scheduler
        running = scheduler is not None and scheduler.running
        if scheduler is not None and running:
            scheduler.pause()  # no new tick; shutting down now would cancel the pass in progress
        try:
            async with asyncio.timeout(STOP_GRACE), self._pass:
                pass  # a pass in progress finishes recording before the store closes
        except TimeoutError:
            log.warning("reminder pass still running at shutdown; its in-flight rows are listed next time")
        if scheduler is not None and running:
            scheduler.shutdown(wait=False)
        for sender in self.senders.values():
            await sender.close()
        self.senders = {}
