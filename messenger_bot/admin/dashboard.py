"""The dashboard's figures, read from the daily aggregates (and two indexed look-ups).

One range query on `admin_daily`'s primary key gives every figure per day and channel;
WhatsApp delivery errors come from a partial index that holds error rows only, and the
dispatcher's lag from the due-reminder index. Nothing here scans the traffic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from messenger_bot.storage import Storage

#: Columns of the per-day table: (key, heading).
COLUMNS = (
    ("active", "Active users"), ("new", "New users"), ("messages", "Messages"), ("tapped", "Buttons"),
    ("typed", "Typed"), ("topics", "Topics read"), ("alerts", "Emergency alerts"),
    ("unanswered", "Not answered"), ("sent", "Reminders sent"), ("skipped", "Skipped"), ("failed", "Failed"),
)


def _counts() -> dict[str, int]:
    return defaultdict(int)


@dataclass
class Dashboard:
    days: list[str]
    channels: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_channel: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_counts))
    topics: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_counts))
    reminders: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    lag: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    whatsapp_errors: list[tuple[int, int]] = field(default_factory=list)
    waiting: dict[str, float] = field(default_factory=dict)

    def messages_per_day(self) -> list[tuple[str, dict[str, int]]]:
        """Oldest first, for the chart: each day's messages by channel."""
        return [(d, {c: self.cells.get((d, c), {}).get("messages", 0) for c in self.channels})
                for d in reversed(self.days)]

    def average_lag(self) -> float | None:
        ms = sum(v[0] for v in self.lag.values())
        count = sum(v[1] for v in self.lag.values())
        return ms / count / 1000 if count else None


def _columns(metric: str, item: str) -> list[str]:
    """Which per-day columns a counter adds to."""
    if metric == "users":
        return [item]
    if metric == "messages":
        return ["messages", item]
    if metric == "topic":
        return ["topics"]
    if metric == "alert":
        return ["alerts"]
    if metric == "faq" and item in ("not_sure", "fallback"):
        return ["unanswered"]
    if metric == "reminder":
        status = item.partition("|")[0]
        return ["failed" if status == "failed" else "sent" if status == "sent" else "skipped"]
    return []


async def load_dashboard(
    store: Storage, now: datetime, days: int, senders: Iterable[str] = ()
) -> Dashboard:
    """The last `days` of counters; `senders`: the channels that deliver reminders (the wiring's
    `sender_channels`), whose oldest due reminder is shown waiting."""
    first = (now - timedelta(days=days - 1)).date()
    board = Dashboard(days=[(now.date() - timedelta(days=i)).isoformat() for i in range(days)])
    rows = await store.fetch(
        "SELECT day, channel, metric, item, n FROM admin_daily WHERE day >= ?", first.isoformat()
    )
    channels: set[str] = set()
    for day, channel, metric, item, n in rows:
        n = int(n)
        channels.add(channel)
        cell = board.cells.setdefault((day, channel), defaultdict(int))
        for column in _columns(metric, item):
            cell[column] += n
            board.totals[column] += n
            board.per_channel[channel][column] += n
        _detail(board, channel, metric, item, n)
    board.channels = sorted(channels)
    board.whatsapp_errors = await _whatsapp_errors(store, now, days)
    board.waiting = await _waiting(store, now, sorted(senders))
    return board


def _detail(board: Dashboard, channel: str, metric: str, item: str, n: int) -> None:
    if metric == "topic":
        board.topics[item]["reads"] += n
    elif metric == "feedback":
        vote, _, topic = item.partition("|")
        board.topics[topic][vote] += n
    elif metric == "reminder":
        status, _, reason = item.partition("|")
        board.reminders[(channel, status, reason)] += n
    elif metric == "lag":
        board.lag[channel][0 if item == "ms" else 1] += n


async def _whatsapp_errors(store: Storage, now: datetime, days: int) -> list[tuple[int, int]]:
    since = (now - timedelta(days=days)).timestamp()
    rows = await store.fetch(
        "SELECT error_code, COUNT(*) FROM whatsapp_outbound WHERE error_code IS NOT NULL AND updated_at >= ?"
        " GROUP BY error_code ORDER BY COUNT(*) DESC",
        since,
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def _waiting(store: Storage, now: datetime, senders: list[str]) -> dict[str, float]:
    """Per channel, how long the oldest due reminder has waited (0 when none is overdue)."""
    waiting = {}
    for channel in senders:
        rows = await store.fetch(
            "SELECT MIN(next_due_at) FROM reminder_subscriptions WHERE channel = ? AND active = 1", channel
        )
        if rows and rows[0][0] is not None:
            waiting[channel] = max(0.0, now.timestamp() - float(rows[0][0]))
    return waiting
