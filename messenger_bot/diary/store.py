"""The diary's tables, through the store's portable SQL (`?` placeholders, both backends).

Entries (twitches, things tried, follow-up answers), follow-ups to send, and rendered
files. No free text a user typed is ever stored: only the options they picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from messenger_bot.reminders.schedule import local_day
from messenger_bot.storage import Storage
from messenger_bot.storage.base import dt, ts

TWITCH, TRIED, ANSWER = "twitch", "tried", "followup"
_ENTRY = "id, kind, logged_at, day, count, lip, side, duration, tags"


@dataclass
class Entry:
    id: int
    kind: str
    logged_at: datetime
    day: str
    count: int
    lip: str | None
    side: str | None
    duration: str | None
    tags: tuple[str, ...]


def _entry(row: Any) -> Entry:
    return Entry(
        int(row[0]),
        row[1],
        datetime.fromtimestamp(row[2], UTC),
        row[3],
        int(row[4]),
        row[5],
        row[6],
        row[7],
        tuple(t for t in (row[8] or "").split(",") if t),
    )


async def add(
    store: Storage,
    channel: str,
    user_key: str,
    kind: str,
    now: datetime,
    zone: str,
    count: int = 1,
    tags: tuple[str, ...] = (),
) -> int:
    """A new entry; returns its id (the payloads of the following questions carry it)."""
    rows = await store.fetch(
        "INSERT INTO diary_entries (channel, user_key, kind, logged_at, day, count, tags)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        channel,
        user_key,
        kind,
        ts(now),
        local_day(now, zone),
        count,
        ",".join(tags),
    )
    return int(rows[0][0])


async def entry(store: Storage, channel: str, user_key: str, entry_id: int) -> Entry | None:
    """The user's own entry, or None: an id in a payload is never trusted on its own."""
    rows = await store.fetch(
        f"SELECT {_ENTRY} FROM diary_entries WHERE id = ? AND channel = ? AND user_key = ?",
        entry_id,
        channel,
        user_key,
    )
    return _entry(rows[0]) if rows else None


async def set_field(store: Storage, found: Entry, column: str, value: str | None) -> None:
    if column not in {"lip", "side", "duration"}:
        raise ValueError(column)
    await store.execute(f"UPDATE diary_entries SET {column} = ? WHERE id = ?", value, found.id)


async def add_tag(store: Storage, found: Entry, tag: str) -> tuple[str, ...]:
    tags = found.tags if tag in found.tags else (*found.tags, tag)
    await store.execute("UPDATE diary_entries SET tags = ? WHERE id = ?", ",".join(tags), found.id)
    return tags


async def entries(store: Storage, channel: str, user_key: str, since_day: str | None = None) -> list[Entry]:
    rows = await store.fetch(
        f"SELECT {_ENTRY} FROM diary_entries WHERE channel = ? AND user_key = ? AND day >= ?"
        " ORDER BY logged_at, id",
        channel,
        user_key,
        since_day or "",
    )
    return [_entry(r) for r in rows]


async def twitches_since(store: Storage, channel: str, user_key: str, since_day: str) -> int:
    rows = await store.fetch(
        "SELECT COALESCE(SUM(count), 0) FROM diary_entries WHERE channel = ? AND user_key = ?"
        " AND kind = ? AND day >= ?",
        channel,
        user_key,
        TWITCH,
        since_day,
    )
    return int(rows[0][0])


async def caffeine_by_day(store: Storage, channel: str, user_key: str, since_day: str) -> dict[str, int]:
    """From the reminders' caffeine log: milligrams per local day."""
    rows = await store.fetch(
        "SELECT day, SUM(mg) FROM caffeine_log WHERE channel = ? AND user_key = ? AND day >= ? GROUP BY day",
        channel,
        user_key,
        since_day,
    )
    return {r[0]: int(r[1]) for r in rows}


async def water_by_day(store: Storage, channel: str, user_key: str, since_day: str) -> dict[str, int]:
    """From the reminders' water log: glasses marked Done per local day."""
    rows = await store.fetch(
        "SELECT day, glasses FROM water_log WHERE channel = ? AND user_key = ? AND day >= ?",
        channel,
        user_key,
        since_day,
    )
    return {r[0]: int(r[1]) for r in rows}


# -- follow-ups ----------------------------------------------------------------------------


async def schedule_followup(
    store: Storage, channel: str, user_key: str, zone: str, due: datetime, now: datetime
) -> None:
    """One follow-up at a time per user: a new one replaces any still waiting."""
    async with store.transaction():
        await cancel_followups(store, channel, user_key, now)
        await store.execute(
            "INSERT INTO diary_followups (channel, user_key, timezone, due_at, status, attempts,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, 'scheduled', 0, ?, ?)",
            channel,
            user_key,
            zone,
            ts(due),
            ts(now),
            ts(now),
        )


async def cancel_followups(store: Storage, channel: str, user_key: str, now: datetime) -> int:
    return await store.execute(
        "UPDATE diary_followups SET status = 'cancelled', updated_at = ?"
        " WHERE channel = ? AND user_key = ? AND status = 'scheduled'",
        ts(now),
        channel,
        user_key,
    )


async def waiting_followup(store: Storage, channel: str, user_key: str) -> datetime | None:
    rows = await store.fetch(
        "SELECT due_at FROM diary_followups WHERE channel = ? AND user_key = ? AND status = 'scheduled'"
        " ORDER BY due_at LIMIT 1",
        channel,
        user_key,
    )
    return dt(rows[0][0]) if rows else None
