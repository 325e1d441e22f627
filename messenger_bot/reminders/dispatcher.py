"""One dispatch pass: claim due reminders, write the outbox, send, record, advance.

Delivery is at most once per due time. The outbox row (pending) is committed before the
send, so a process killed mid-send leaves it pending; the next pass finds it, marks it
"interrupted" and lists it (it may or may not have reached the user), and never sends
that due time again. A send whose outcome is unknown (the provider may have created the
message but its answer was lost or garbled) is recorded "unknown" and never sent again
either: a person may get none rather than two. Only a refusal that proves nothing was
created ("failed") is tried again, on a later pass, a bounded number of times.

Rows are claimed in batches with a lease (`claimed_until`, held by the pass's token in
`claimed_by`), atomically: on SQLite one UPDATE … RETURNING inside BEGIN IMMEDIATE; on
PostgreSQL with FOR UPDATE SKIP LOCKED, so several instances share the work. While a batch
is worked on, its lease is extended (a heartbeat), so a slow provider never lets another
dispatcher claim it. Should a lease lapse all the same (a stalled process), a chunk is sent
only by the pass whose INSERT … ON CONFLICT DO NOTHING RETURNING wrote its outbox rows:
whoever comes second sends nothing. Memory is one batch, whatever the table's size.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from messenger_bot.content import Content
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, Sender, SendResult
from messenger_bot.reminders.kinds import UnknownKind
from messenger_bot.reminders.replies import reminder_for, texts_of
from messenger_bot.reminders.schedule import LATE_AFTER, in_window, local_day, next_due, schedule_of
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.storage import Storage
from messenger_bot.storage.base import dt

log = logging.getLogger("messenger_bot.reminders")

BATCH = 500
#: How long a claim holds a row unless renewed; a dispatcher killed mid-batch frees its rows after this.
LEASE = timedelta(minutes=2)
#: The lease is extended this often while a batch is worked on (a fraction of the lease).
RENEWALS_PER_LEASE = 4
#: Sends in the air at once at most; each channel's Sender paces them to its provider's limits.
CONCURRENCY = 200
INTERRUPTED = "in flight when a dispatcher stopped: not sent again (it may or may not have arrived)"
#: A send that failed with nothing created is tried again on later passes, this many times in all.
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=1)

_CLAIM = (
    "UPDATE reminder_subscriptions SET claimed_until = ?, claimed_by = ? WHERE id IN ("
    "SELECT id FROM reminder_subscriptions WHERE channel = ? AND active = 1 AND next_due_at <= ?"
    " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_due_at LIMIT ?{lock})"
    " RETURNING id, user_key, kind, spec, timezone, next_due_at, attempts"
)
_RENEW = "UPDATE reminder_subscriptions SET claimed_until = ? WHERE claimed_by = ? AND id IN ({ids})"
_ADVANCE = (
    "UPDATE reminder_subscriptions SET next_due_at = ?, claimed_until = NULL, claimed_by = NULL,"
    " attempts = 0, updated_at = ? WHERE id = ?"
)
_RETRY = (
    "UPDATE reminder_subscriptions SET claimed_until = ?, claimed_by = NULL, attempts = ?, updated_at = ?"
    " WHERE id = ?"
)
_OUTBOX_COLUMNS = (
    "subscription_id, channel, user_key, kind, due_at, status, attempts, reason, created_at, updated_at"
)
_INSERT_OUTBOX = (
    f"INSERT INTO reminder_outbox ({_OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (subscription_id, due_at) DO NOTHING"
)
#: A failed row taken back for another try, by one pass only: the one whose UPDATE changed it.
_RETAKE_OUTBOX = (
    "UPDATE reminder_outbox SET status = 'pending', reason = NULL, updated_at = ?"
    " WHERE subscription_id = ? AND due_at = ? AND status = 'failed' RETURNING subscription_id, due_at"
)
_UPDATE_OUTBOX = (
    "UPDATE reminder_outbox SET status = ?, attempts = ?, provider_id = ?, reason = ?, updated_at = ?"
    " WHERE subscription_id = ? AND due_at = ?"
)
#: Only a row still pending: its own pass may have recorded the outcome meanwhile.
_MARK_INTERRUPTED = (
    "UPDATE reminder_outbox SET status = 'interrupted', reason = ?, updated_at = ?"
    " WHERE subscription_id = ? AND due_at = ? AND status = 'pending'"
)
_PAUSE_USER = (
    "UPDATE reminder_subscriptions SET active = 0, paused_reason = ?, claimed_until = NULL,"
    " claimed_by = NULL, updated_at = ? WHERE channel = ? AND user_key = ?"
)


class Clock(Protocol):
    """Where a dispatcher reads the time and waits: the system's, or a test's that it moves by hand."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class DispatchObserver(Protocol):
    """Told what became of each due reminder and how big each batch was (operators' counters)."""

    def reminder(self, channel: str, status: str, reason: str | None, lag_seconds: float) -> None: ...

    def batch(self, channel: str, size: int) -> None: ...


@dataclass
class Due:
    """A claimed subscription at one due time."""

    id: int
    channel: str
    user_key: str
    kind: str
    spec: str
    zone: str
    due_at: float
    attempts: int

    @property
    def key(self) -> tuple[int, float]:
        return self.id, self.due_at


@dataclass
class PassReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    blocked: int = 0
    #: Due while the user had paused everything (STOP): moved on, nothing sent or recorded.
    paused: int = 0
    #: The provider may have created the message but its answer was lost or garbled: not sent again.
    unknown: int = 0
    #: (subscription id, due time) pending when an earlier process stopped: not sent again.
    interrupted: list[tuple[int, datetime]] = field(default_factory=list)

    def add(self, other: PassReport) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.failed += other.failed
        self.blocked += other.blocked
        self.paused += other.paused
        self.unknown += other.unknown
        self.interrupted.extend(other.interrupted)

    def summary(self) -> str:
        return (
            f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}"
            f" (blocked {self.blocked}, paused users {self.paused},"
            f" in flight at an earlier stop {len(self.interrupted)}),"
            f" unknown {self.unknown} (may have arrived: never resent)"
        )


class Dispatcher:
    def __init__(
        self,
        store: Storage,
        texts: ReminderTexts | Content,
        senders: Mapping[str, Sender],
        batch: int = BATCH,
        rates: Mapping[str, float] | None = None,
        lease: timedelta = LEASE,
        clock: Clock | None = None,
        observers: list[DispatchObserver] | None = None,
        templates: Callable[[str, str | None], str] | None = None,
    ) -> None:
        """`texts`: the content, whose languages each user's reminders are written in (or one
        language's texts for everyone). `templates(kind, language)`: the template name a sender
        is given (settings.whatsapp_template); the kind itself without it."""
        self.store = store
        #: Shared with whoever adds to it later (the operators' counters start after the scheduler).
        self.observers = observers if observers is not None else []
        self.by_language = _texts_by_language(texts)
        self.texts = next(iter(self.by_language.values()))
        self.templates = templates
        self.senders = senders
        self.batch = batch
        #: Each channel's messages per second (its Sender enforces it); None: no limit known.
        self.rates = dict(rates or {})
        self.lease = lease
        self.clock: Clock = clock or SystemClock()

    async def run_pass(self, now: datetime | None = None, max_batches: int | None = None) -> PassReport:
        """Everything due at `now` (default: the clock), batch by batch, channel by channel."""
        offset = (now - self.clock.now()) if now is not None else timedelta(0)
        token = uuid.uuid4().hex  # this pass's name on the leases it holds
        report = PassReport()
        batches = 0

        def current() -> datetime:  # a simulated `now` moves on with the clock
            return self.clock.now() + offset

        for channel, sender in self.senders.items():
            size = self.batch_size(channel)
            while True:
                claimed = await self.claim(channel, current(), size, token)
                for observer in self.observers:
                    observer.batch(channel, len(claimed))
                if claimed:
                    async with self._leased(claimed, token, current):
                        report.add(await self._dispatch(claimed, sender, current))
                    batches += 1
                if len(claimed) < size or (max_batches is not None and batches >= max_batches):
                    break
        return report

    async def claim(
        self, channel: str, now: datetime, size: int | None = None, token: str | None = None
    ) -> list[Due]:
        lock = " FOR UPDATE SKIP LOCKED" if self.store.backend.startswith("postgres") else ""
        stamp = now.timestamp()
        async with self.store.transaction():
            rows = await self.store.fetch(
                _CLAIM.format(lock=lock),
                stamp + self.lease.total_seconds(),
                token or uuid.uuid4().hex,
                channel,
                stamp,
                stamp,
                size or self.batch,
            )
        return [Due(int(r[0]), channel, r[1], r[2], r[3], r[4], float(r[5]), int(r[6])) for r in rows]

    # -- the lease, kept while a batch is worked on ------------------------------------

    @asynccontextmanager
    async def _leased(
        self, batch: list[Due], token: str, current: Callable[[], datetime]
    ) -> AsyncIterator[None]:
        """Extend the batch's leases every so often until the batch is done (a heartbeat)."""
        heartbeat = asyncio.create_task(self._renew(batch, token, current))
        try:
            yield
        finally:
            heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, batch: list[Due], token: str, current: Callable[[], datetime]) -> None:
        """Only rows this pass still holds: a recorded row has given its lease up (claimed_by NULL)."""
        ids = [d.id for d in batch]
        sql = _RENEW.format(ids=", ".join("?" * len(ids)))
        while True:
            await self.clock.sleep(self.lease.total_seconds() / RENEWALS_PER_LEASE)
            try:
                until = current().timestamp() + self.lease.total_seconds()
                await self.store.execute(sql, until, token, *ids)
            except Exception as error:  # the outbox guard still holds; try again at the next beat
                log.warning("could not extend the lease of %d reminders: %s", len(ids), type(error).__name__)

    # -- one batch -------------------------------------------------------------

    async def _dispatch(self, batch: list[Due], sender: Sender, current: Any) -> PassReport:
        report = PassReport()
        now = current()
        paused = await self._paused_users(batch)
        earlier = await self._outbox_rows(batch)
        to_send: list[tuple[Due, str | None]] = []
        outbox: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        interrupted: list[tuple[Any, ...]] = []
        advances: list[tuple[Any, ...]] = []
        stamp = now.timestamp()
        for due in batch:
            status = earlier.get(due.key)
            if due.user_key in paused:
                report.paused += 1
            elif status == "pending":
                report.interrupted.append((due.id, dt(due.due_at)))  # type: ignore[arg-type]
                interrupted.append((INTERRUPTED, stamp, *due.key))
                self._observe(due, "interrupted", "in flight at an earlier stop", stamp)
            elif status is not None and status != "failed":
                pass  # recorded (sent, unknown, …) before the process stopped; only the advance was lost
            elif (reason := self._skip_reason(due, now)) is not None:
                report.skipped += 1
                outbox.append(_outbox(due, "skipped", reason, stamp))
                updates.append(("skipped", due.attempts, None, reason, stamp, *due.key))
                self._observe(due, "skipped", reason, stamp)
            else:
                to_send.append((due, status))
                continue
            advances.append(self._advance(due, now))
        if outbox or updates or interrupted or advances:
            async with self.store.transaction():
                if outbox:
                    await self.store.executemany(_INSERT_OUTBOX, outbox)
                if updates:
                    await self.store.executemany(_UPDATE_OUTBOX, updates)
                if interrupted:
                    await self.store.executemany(_MARK_INTERRUPTED, interrupted)
                if advances:
                    await self.store.executemany(_ADVANCE, advances)
        size = self.in_flight(sender.channel)
        for start in range(0, len(to_send), size):
            await self._send_chunk(to_send[start : start + size], sender, current, report)
        return report

    async def _send_chunk(
        self, chunk: list[tuple[Due, str | None]], sender: Sender, current: Any, report: PassReport
    ) -> None:
        """Pending rows are written just before their sends: a kill leaves at most one chunk in flight.
        Only the rows this pass wrote (or took back from "failed") are sent: another pass that
        claimed the same rows after a lapsed lease finds them written and sends nothing."""
        now = current()
        stamp = now.timestamp()
        async with self.store.transaction():
            mine = await self._write_pending([d for d, status in chunk if status is None], stamp)
            for due, status in chunk:
                if status is not None and await self.store.fetch(_RETAKE_OUTBOX, stamp, *due.key):
                    mine.add(due.key)
        dues = [d for d, _ in chunk if d.key in mine]
        if len(dues) < len(chunk):
            taken = len(chunk) - len(dues)
            log.info("reminders: %d of %d were already taken by another dispatcher", taken, len(chunk))
        if not dues:
            return
        totals = await self._caffeine_totals(dues, now)
        languages = await self._languages(dues)
        sends = (self._send(sender, d, totals, languages.get(d.user_key)) for d in dues)
        results = await asyncio.gather(*sends)
        await self._record(dues, results, current(), report)

    async def _write_pending(self, dues: list[Due], stamp: float) -> set[tuple[int, float]]:
        """One INSERT … ON CONFLICT DO NOTHING RETURNING: the keys of the rows this statement inserted."""
        if not dues:
            return set()
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(dues))
        rows = await self.store.fetch(
            f"INSERT INTO reminder_outbox ({_OUTBOX_COLUMNS}) VALUES {marks}"
            " ON CONFLICT (subscription_id, due_at) DO NOTHING RETURNING subscription_id, due_at",
            *(value for due in dues for value in _outbox(due, "pending", None, stamp)),
        )
        return {(int(r[0]), float(r[1])) for r in rows}

    def in_flight(self, channel: str) -> int:
        """Sends in the air at once: about two seconds' worth at the channel's rate."""
        rate = self.rates.get(channel)
        return CONCURRENCY if rate is None else max(1, min(CONCURRENCY, math.ceil(rate * 2)))

    def batch_size(self, channel: str) -> int:
        """About half a lease's worth of sends: the heartbeat keeps the lease, and should it stall,
        little of the batch is left for another instance to take over (the outbox guard stops doubles)."""
        rate = self.rates.get(channel)
        if rate is None:
            return self.batch
        return max(1, min(self.batch, int(rate * LEASE.total_seconds() / 2)))

    def _skip_reason(self, due: Due, now: datetime) -> str | None:
        """Quiet hours hold for late sends too; over an hour late is skipped, not sent stale."""
        if now.timestamp() - due.due_at > LATE_AFTER.total_seconds():
            return "late: more than an hour past its time"
        if not in_window(schedule_of(due.spec), due.zone, now):
            return "quiet hours: outside the waking window"
        return None

    def _advance(self, due: Due, now: datetime) -> tuple[Any, ...]:
        after = max(now, datetime.fromtimestamp(due.due_at, UTC))
        following = next_due(schedule_of(due.spec), due.zone, after)
        return following.timestamp(), now.timestamp(), due.id

    async def _send(
        self, sender: Sender, due: Due, totals: dict[tuple[str, str], int], language: str | None
    ) -> SendResult:
        """One reminder in its user's language (the default's when theirs is not in the content)."""
        variant = due.id + int(due.due_at) // 60
        total = totals.get((due.user_key, local_day(dt(due.due_at), due.zone)), 0)  # type: ignore[arg-type]
        texts = self.by_language.get(language or "", self.texts)
        try:
            reply: Reply = reminder_for(texts, due.kind, variant, total)
        except UnknownKind as error:  # nothing is sent in its place; the log and the outbox say why
            log.error("subscription %s: %s", due.id, error)
            return SendResult(Outcome.FAILED, detail=str(error))
        template = self.templates(due.kind, language) if self.templates is not None else due.kind
        try:
            return await sender.send(due.user_key, reply, template=template)
        except Exception as error:  # a sender bug must not lose the batch's records; it may have sent
            log.warning("reminder send raised %s for subscription %s", type(error).__name__, due.id)
            return SendResult(Outcome.UNKNOWN, detail=f"outcome unknown: {type(error).__name__}")

    async def _record(
        self, sent: list[Due], results: list[SendResult], now: datetime, report: PassReport
    ) -> None:
        stamp = now.timestamp()
        updates, advances, retries, pauses = [], [], [], []
        for due, result in zip(sent, results, strict=True):
            attempts = due.attempts + 1
            status = result.outcome.value
            if result.outcome is Outcome.SENT:
                report.sent += 1
            elif result.outcome is Outcome.SKIPPED:
                report.skipped += 1
            elif result.outcome is Outcome.BLOCKED:
                report.blocked += 1
                report.skipped += 1
                status = "skipped"
                pauses.append((result.detail or "blocked", stamp, due.channel, due.user_key))
            elif result.outcome is Outcome.UNKNOWN:
                report.unknown += 1
            elif attempts < MAX_ATTEMPTS:
                report.failed += 1
                retry_at = stamp + RETRY_AFTER.total_seconds() * attempts
                retries.append((retry_at, attempts, stamp, due.id))
            else:
                report.failed += 1
            reason = result.detail if result.outcome is not Outcome.SENT else None
            updates.append((status, attempts, result.provider_id, reason, stamp, *due.key))
            if result.outcome is not Outcome.FAILED or attempts >= MAX_ATTEMPTS:  # final: no retry left
                self._observe(due, status, reason, stamp)
                advances.append(self._advance(due, now))
        async with self.store.transaction():
            await self.store.executemany(_UPDATE_OUTBOX, updates)
            if advances:
                await self.store.executemany(_ADVANCE, advances)
            if retries:
                await self.store.executemany(_RETRY, retries)
            if pauses:
                await self.store.executemany(_PAUSE_USER, pauses)

    def _observe(self, due: Due, status: str, reason: str | None, stamp: float) -> None:
        """A final outcome (not a failure that will be retried), with how late it came."""
        for observer in self.observers:
            observer.reminder(due.channel, status, reason, max(0.0, stamp - due.due_at))

    # -- batch look-ups ----------------------------------------------------------

    async def _paused_users(self, batch: list[Due]) -> set[str]:
        """Users who said STOP (or were paused by the engine) get nothing."""
        return await self.store.paused_users(batch[0].channel, sorted({d.user_key for d in batch}))

    async def _outbox_rows(self, batch: list[Due]) -> dict[tuple[int, float], str]:
        """Outbox rows already written for these due times: a retry, or a process that stopped."""
        ids = [d.id for d in batch]
        rows = await self.store.fetch(
            f"SELECT subscription_id, due_at, status FROM reminder_outbox WHERE due_at >= ?"
            f" AND subscription_id IN ({', '.join('?' * len(ids))})",
            min(d.due_at for d in batch),
            *ids,
        )
        return {(int(r[0]), float(r[1])): r[2] for r in rows}

    async def _languages(self, batch: list[Due]) -> dict[str, str]:
        """Each user's language (`users.language`), for the words of their reminder."""
        if len(self.by_language) < 2:
            return {}
        keys = sorted({d.user_key for d in batch})
        rows = await self.store.fetch(
            f"SELECT user_key, language FROM users WHERE channel = ? AND language IS NOT NULL"
            f" AND user_key IN ({', '.join('?' * len(keys))})",
            batch[0].channel,
            *keys,
        )
        return {r[0]: r[1] for r in rows}

    async def _caffeine_totals(self, batch: list[Due], now: datetime) -> dict[tuple[str, str], int]:
        """Today's caffeine per user, for the check-in's running total."""
        keys = sorted({d.user_key for d in batch if d.kind == "caffeine"})
        if not keys:
            return {}
        since = (now - timedelta(days=2)).timestamp()
        rows = await self.store.fetch(
            f"SELECT user_key, day, SUM(mg) FROM caffeine_log WHERE channel = ? AND logged_at >= ?"
            f" AND user_key IN ({', '.join('?' * len(keys))}) GROUP BY user_key, day",
            batch[0].channel,
            since,
            *keys,
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


def _texts_by_language(texts: ReminderTexts | Content) -> dict[str, ReminderTexts]:
    """The reminders' texts by language code, the default first."""
    if isinstance(texts, ReminderTexts):
        return {"": texts}
    languages = texts.languages or {texts.code: texts}
    return {code: texts_of(content) for code, content in languages.items()}


def _outbox(due: Due, status: str, reason: str | None, stamp: float) -> tuple[Any, ...]:
    return (
        due.id,
        due.channel,
        due.user_key,
        due.kind,
        due.due_at,
        status,
        due.attempts,
        reason,
        stamp,
        stamp,
    )


def rates_for(settings: Any) -> dict[str, float]:
    """Each channel's send rate in this process (its share of the bot's), as its Sender enforces it."""
    return {
        "telegram": settings.share(float(getattr(settings, "telegram_mps", 30.0))),
        "whatsapp": settings.share(float(settings.whatsapp_mps)),
    }
