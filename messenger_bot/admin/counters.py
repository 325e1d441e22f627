"""Daily aggregates: counts per UTC day, channel, metric and item, kept in `admin_daily`.

A turn only bumps a dict in memory (the webhook path pays a few dict operations);
`flush` upserts the sums every few seconds, adding to what other instances wrote. The
dashboard then reads a few hundred rows, however many messages there were. A process
that dies loses at most the counts of its last few seconds.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from messenger_bot.engine import TurnOutcome
from messenger_bot.storage import Storage

log = logging.getLogger("messenger_bot.admin")

Key = tuple[str, str, str, str]
_UPSERT = (
    "INSERT INTO admin_daily (day, channel, metric, item, n) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (day, channel, metric, item) DO UPDATE SET n = admin_daily.n + excluded.n"
)
REASON_LENGTH = 40


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def short_reason(reason: str | None) -> str:
    """A reason as a bounded label: the part before any ':' detail, cut short (no ids, no numbers)."""
    if not reason:
        return ""
    return reason.partition(":")[0].strip()[:REASON_LENGTH]


class DailyCounters:
    """In-memory counts since the last flush; `add` is all a turn or a send costs."""

    def __init__(self) -> None:
        self._pending: Counter[Key] = Counter()

    def add(self, day: str, channel: str, metric: str, item: str = "", n: int = 1) -> None:
        self._pending[(day, channel, metric, item)] += n

    def on_turn(self, outcome: TurnOutcome) -> None:
        day, channel = day_of(outcome.at), outcome.channel
        add = self._pending
        add[(day, channel, "messages", "tapped" if outcome.tapped else "typed")] += 1
        previous = outcome.previous_seen
        if previous is None:
            add[(day, channel, "users", "new")] += 1
        if previous is None or day_of(previous) != day:
            add[(day, channel, "users", "active")] += 1
        for topic in outcome.topics:
            add[(day, channel, "topic", topic)] += 1
        if "alert" in outcome.kinds:
            add[(day, channel, "alert", "")] += 1
        if outcome.faq:
            add[(day, channel, "faq", outcome.faq)] += 1

    def on_reminder(self, at: datetime, channel: str, status: str, reason: str | None, lag: float) -> None:
        day = day_of(at)
        self._pending[(day, channel, "reminder", f"{status}|{short_reason(reason)}")] += 1
        if status == "sent":
            self._pending[(day, channel, "lag", "ms")] += int(lag * 1000)
            self._pending[(day, channel, "lag", "count")] += 1

    async def flush(self, store: Storage) -> int:
        """Upsert the counts gathered since the last flush; on failure they wait for the next one."""
        pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        rows = [(*key, n) for key, n in pending.items()]
        try:
            async with store.transaction():
                await store.executemany(_UPSERT, rows)
        except Exception:
            pending.update(self._pending)
            self._pending = pending
            raise
        return len(rows)


class ReminderCounts(DailyCounters):
    """The dispatcher's observer in `reminders send-due` (a cron job has no serve to count for it)."""

    def reminder(self, channel: str, status: str, reason: str | None, lag_seconds: float) -> None:
        self.on_reminder(datetime.now(UTC), channel, status, reason, lag_seconds)

    def batch(self, channel: str, size: int) -> None:
        """Batch sizes are a metric of a running serve; a one-off pass has nothing to report them to."""
