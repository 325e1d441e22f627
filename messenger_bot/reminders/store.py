"""The reminders' tables, through the store's portable SQL (`?` placeholders, both backends).

Subscriptions (one per user and kind), the outbox of sends, glasses of water and caffeine
drinks logged. The dispatcher's claim lives in dispatcher.py, beside the code that needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from messenger_bot.reminders.schedule import Schedule, local_day, next_due, schedule_of
from messenger_bot.reminders.texts import kind_of
from messenger_bot.storage import Storage
from messenger_bot.storage.base import dt, ts

_COLUMNS = "id, channel, user_key, kind, spec, timezone, active, paused_reason, next_due_at"


@dataclass
class Subscription:
    id: int
    channel: str
    user_key: str
    kind: str
    schedule: Schedule
    timezone: str
    active: bool
    paused_reason: str | None
    next_due_at: datetime | None


def _row(row: Any) -> Subscription:
    return Subscription(
        id=int(row[0]),
        channel=row[1],
        user_key=row[2],
        kind=kind_of(row[3]),  # a row of a kind the code lacks is an error, never another kind
        schedule=schedule_of(row[4]),
        timezone=row[5],
        active=bool(row[6]),
        paused_reason=row[7],
        next_due_at=dt(row[8]),
    )


async def subscriptions(store: Storage, channel: str, user_key: str) -> list[Subscription]:
    rows = await store.fetch(
        f"SELECT {_COLUMNS} FROM reminder_subscriptions WHERE channel = ? AND user_key = ?"
        " ORDER BY kind DESC",
        channel,
        user_key,
    )
    return [_row(r) for r in rows]


async def subscription(store: Storage, channel: str, user_key: str, kind: str) -> Subscription | None:
    found = [s for s in await subscriptions(store, channel, user_key) if s.kind == kind]
    return found[0] if found else None


async def save(
    store: Storage, channel: str, user_key: str, kind: str, schedule: Schedule, zone: str, now: datetime
) -> datetime:
    """Create or replace the user's subscription of this kind; return its first due time."""
    due = next_due(schedule, zone, now)
    spec, stamp = json.dumps(schedule.spec()), ts(now)
    await store.execute(
        "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active, paused_reason,"
        " next_due_at, claimed_until, attempts, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 1, NULL, ?, NULL, 0, ?, ?)"
        " ON CONFLICT (channel, user_key, kind) DO UPDATE SET spec = excluded.spec,"
        " timezone = excluded.timezone, active = 1, paused_reason = NULL, next_due_at = excluded.next_due_at,"
        " claimed_until = NULL, attempts = 0, updated_at = excluded.updated_at",
        channel,
        user_key,
        kind,
        spec,
        zone,
        ts(due),
        stamp,
        stamp,
    )
    return due


async def set_active(
    store: Storage, sub: Subscription, active: bool, reason: str | None, now: datetime
) -> None:
    due = next_due(sub.schedule, sub.timezone, now) if active else sub.next_due_at
    await store.execute(
        "UPDATE reminder_subscriptions SET active = ?, paused_reason = ?, next_due_at = ?, attempts = 0,"
        " updated_at = ? WHERE id = ?",
        int(active),
        None if active else reason,
        ts(due),
        ts(now),
        sub.id,
    )


async def set_due(store: Storage, sub_id: int, due: datetime, now: datetime) -> None:
    await store.execute(
        "UPDATE reminder_subscriptions SET next_due_at = ?, attempts = 0, updated_at = ? WHERE id = ?",
        ts(due),
        ts(now),
        sub_id,
    )


async def delete(store: Storage, channel: str, user_key: str, kind: str | None = None) -> int:
    if kind is None:
        return await store.execute(
            "DELETE FROM reminder_subscriptions WHERE channel = ? AND user_key = ?", channel, user_key
        )
    return await store.execute(
        "DELETE FROM reminder_subscriptions WHERE channel = ? AND user_key = ? AND kind = ?",
        channel,
        user_key,
        kind,
    )


async def add_glass(store: Storage, channel: str, user_key: str, zone: str, now: datetime) -> int:
    day = local_day(now, zone)
    await store.execute(
        "INSERT INTO water_log (channel, user_key, day, glasses) VALUES (?, ?, ?, 1)"
        " ON CONFLICT (channel, user_key, day) DO UPDATE SET glasses = water_log.glasses + 1",
        channel,
        user_key,
        day,
    )
    return await glasses(store, channel, user_key, day)


async def glasses(store: Storage, channel: str, user_key: str, day: str) -> int:
    rows = await store.fetch(
        "SELECT glasses FROM water_log WHERE channel = ? AND user_key = ? AND day = ?", channel, user_key, day
    )
    return int(rows[0][0]) if rows else 0


async def log_drink(
    store: Storage, channel: str, user_key: str, zone: str, drink: str, mg: int, now: datetime
) -> int:
    day = local_day(now, zone)
    await store.execute(
        "INSERT INTO caffeine_log (channel, user_key, day, drink, mg, logged_at) VALUES (?, ?, ?, ?, ?, ?)",
        channel,
        user_key,
        day,
        drink,
        mg,
        ts(now),
    )
    return await caffeine_total(store, channel, user_key, day)


async def caffeine_total(store: Storage, channel: str, user_key: str, day: str) -> int:
    rows = await store.fetch(
        "SELECT COALESCE(SUM(mg), 0) FROM caffeine_log WHERE channel = ? AND user_key = ? AND day = ?",
        channel,
        user_key,
        day,
    )
    return int(rows[0][0])
