"""The follow-up dispatch step, run after the reminders by the scheduler and by `reminders send-due`.

The same rules as reminders: the database is the source of truth; rows are claimed under
a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, so instances share the work); each row is
marked `sending` and committed before its send, so a process killed mid-send leaves it
`sending`, and the next pass marks it `interrupted` instead of sending it again: at most
once. Nothing goes out outside the user's waking hours in their own zone: such a row
moves to the next follow-up hour. The channel's Sender keeps the rate limits, STOP and
WhatsApp's 24-hour window (outside it, the WHATSAPP_TEMPLATE_FOLLOWUP template or a skip).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from messenger_bot.content import Content
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, Sender, SendResult
from messenger_bot.diary import files
from messenger_bot.diary.question import followup_question, texts_of
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.reminders.dispatcher import LEASE, MAX_ATTEMPTS, RETRY_AFTER, PassReport
from messenger_bot.storage import Storage
from messenger_bot.storage.base import dt

log = logging.getLogger("messenger_bot.diary")

BATCH = 200
IN_FLIGHT = 50
INTERRUPTED = "in flight when a dispatcher stopped: not sent again (it may or may not have arrived)"

_CLAIM = (
    "UPDATE diary_followups SET claimed_until = ? WHERE id IN ("
    "SELECT id FROM diary_followups WHERE channel = ? AND status = 'scheduled' AND due_at <= ?"
    " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at LIMIT ?{lock})"
    " RETURNING id, user_key, timezone, due_at, attempts"
)
_STALE = (
    "UPDATE diary_followups SET status = 'interrupted', reason = ?, updated_at = ?"
    " WHERE channel = ? AND status = 'sending' AND claimed_until <= ? RETURNING id, due_at"
)
_SET = (
    "UPDATE diary_followups SET status = ?, due_at = ?, claimed_until = ?, attempts = ?, provider_id = ?,"
    " reason = ?, updated_at = ? WHERE id = ?"
)


@dataclass
class Claimed:
    id: int
    user_key: str
    zone: str
    due_at: float
    attempts: int
    #: The user's language (None: the default), so the check-in is asked in it.
    language: str | None = None


class FollowupDispatcher:
    def __init__(
        self,
        store: Storage,
        content: Content,
        senders: Mapping[str, Sender],
        rates: Mapping[str, float] | None = None,
    ) -> None:
        self.store = store
        self.content = content
        #: The default language's: the waking hours and the follow-up hour are the same in every one.
        self.texts: DiaryTexts = texts_of(content)
        self.senders = senders
        #: Each channel's messages per second: a chunk is about two seconds' worth, like the reminders'.
        self.rates = dict(rates or {})

    def in_flight(self, channel: str) -> int:
        """Rows marked `sending` at once: what a kill can leave in doubt is at most this many."""
        rate = self.rates.get(channel)
        return IN_FLIGHT if rate is None else max(1, min(IN_FLIGHT, math.ceil(rate * 2)))

    async def run_pass(self, now: datetime | None = None) -> PassReport:
        """Every follow-up due at `now` (default: the clock), channel by channel."""
        now = now or datetime.now(UTC)
        report = PassReport()
        await files.purge(self.store, now)
        for channel, sender in self.senders.items():
            await self._interrupted(channel, now, report)
            while True:
                claimed = await self._claim(channel, now)
                size = self.in_flight(channel)
                for start in range(0, len(claimed), size):
                    await self._dispatch(claimed[start : start + size], sender, now, report)
                if len(claimed) < BATCH:
                    break
        return report

    async def _claim(self, channel: str, now: datetime) -> list[Claimed]:
        lock = " FOR UPDATE SKIP LOCKED" if self.store.backend.startswith("postgres") else ""
        stamp = now.timestamp()
        async with self.store.transaction():
            rows = await self.store.fetch(
                _CLAIM.format(lock=lock), stamp + LEASE.total_seconds(), channel, stamp, stamp, BATCH
            )
        claimed = [Claimed(int(r[0]), r[1], r[2], float(r[3]), int(r[4])) for r in rows]
        languages = await self.store.user_languages(channel, sorted({c.user_key for c in claimed}))
        for c in claimed:
            c.language = languages.get(c.user_key)
        return claimed

    def question(self, due: Claimed) -> Reply:
        """The check-in in the user's own language."""
        return followup_question(texts_of(self.content.in_language(due.language)))

    async def _interrupted(self, channel: str, now: datetime, report: PassReport) -> None:
        stamp = now.timestamp()
        rows = await self.store.fetch(_STALE, INTERRUPTED, stamp, channel, stamp)
        report.interrupted.extend((int(r[0]), dt(float(r[1]))) for r in rows)  # type: ignore[misc]

    def waking_or_next(self, due: Claimed, now: datetime) -> datetime | None:
        """None when `now` is inside the user's waking hours; else when to try instead."""
        tz = ZoneInfo(due.zone)
        local = now.astimezone(tz)
        waking = self.texts.waking
        if waking.start <= local.hour < waking.end:
            return None
        day = local.date() + timedelta(days=1 if local.hour >= waking.end else 0)
        return datetime.combine(day, time(self.texts.followup_hour), tzinfo=tz).astimezone(UTC)

    async def _dispatch(
        self, batch: list[Claimed], sender: Sender, now: datetime, report: PassReport
    ) -> None:
        stamp = now.timestamp()
        later = {c.id: self.waking_or_next(c, now) for c in batch}
        to_send = [c for c in batch if later[c.id] is None]
        async with self.store.transaction():
            for c in batch:
                moved = later[c.id]
                if moved is not None:  # quiet hours: the same row, due at the next follow-up hour
                    await self.store.execute(
                        _SET,
                        "scheduled",
                        moved.timestamp(),
                        None,
                        c.attempts,
                        None,
                        "quiet hours: moved to the next morning",
                        stamp,
                        c.id,
                    )
                else:  # committed before the send: a kill from here on never sends it twice
                    await self.store.execute(
                        _SET,
                        "sending",
                        c.due_at,
                        stamp + LEASE.total_seconds(),
                        c.attempts + 1,
                        None,
                        None,
                        stamp,
                        c.id,
                    )
        results = await asyncio.gather(*(self._send(sender, c) for c in to_send))
        await self._record(sender.channel, to_send, results, now, report)

    async def _send(self, sender: Sender, due: Claimed) -> SendResult:
        try:
            return await sender.send(due.user_key, self.question(due), template="followup")
        except Exception as error:  # a sender bug must not lose the batch's records
            log.warning("follow-up send raised %s for follow-up %s", type(error).__name__, due.id)
            return SendResult(Outcome.FAILED, detail=f"error: {type(error).__name__}")

    async def _record(
        self, channel: str, sent: list[Claimed], results: list[SendResult], now: datetime, report: PassReport
    ) -> None:
        stamp = now.timestamp()
        answer = {"feature": "diary", "step": "answer"}
        async with self.store.transaction():
            for due, result in zip(sent, results, strict=True):
                attempts = due.attempts + 1
                status, due_at = result.outcome.value, due.due_at
                if result.outcome is Outcome.SENT:
                    report.sent += 1
                    await self.store.set_pending(channel, due.user_key, answer)  # a typed answer works
                elif result.outcome in (Outcome.SKIPPED, Outcome.BLOCKED):
                    report.skipped += 1
                    report.blocked += result.outcome is Outcome.BLOCKED
                    status = "skipped"
                else:
                    report.failed += 1
                    if attempts < MAX_ATTEMPTS:
                        status, due_at = "scheduled", stamp + RETRY_AFTER.total_seconds() * attempts
                reason = None if result.outcome is Outcome.SENT else result.detail
                await self.store.execute(
                    _SET, status, due_at, None, attempts, result.provider_id, reason, stamp, due.id
                )


def followups_for(
    store: Storage, content: Content, senders: Mapping[str, Sender], rates: Mapping[str, float] | None = None
) -> FollowupDispatcher:
    """The step the reminder scheduler and `reminders send-due` run after the reminders."""
    return FollowupDispatcher(store, content, senders, rates)
