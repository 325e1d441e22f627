"""The one small interface every store implements, and the state it keeps per user.

The engine asks for a user's state at the start of a turn and saves it at the end;
everything a conversation needs between two messages lives here, so any process
(or any of several instances) can answer any message.

Queries are written once, in the SQL that SQLite and PostgreSQL share, with `?`
placeholders; each backend supplies four primitives (execute, executemany, fetch,
transaction) and translates placeholders. Features (reminders, channels) keep their
own tables and queries the same way, through `SQLStore`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

Row = Sequence[Any]

#: Why nothing is sent first to a user (`users.paused_reason`). The user's own STOP outranks
#: everything a delivery failure says: `pause_user` never overwrites it, and only the user's own
#: START (`resume_user(..., STOPPED)`) lifts it.
STOPPED = "stopped by user"
#: A channel learned that the user blocked the bot or opted out; lifted when they write again.
BLOCKED = "blocked the bot"


def ts(value: datetime | None) -> float | None:
    """Times are stored as UTC epoch seconds: the same type on both backends, and indexable."""
    return value.timestamp() if value is not None else None


def dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass
class UserState:
    """What the bot keeps about one user of one channel: no more than it needs."""

    channel: str
    user_key: str
    first_seen: datetime
    last_seen: datetime
    last_inbound_at: datetime | None = None
    notice_seen: bool = False
    last_menu: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    pending: dict[str, Any] | None = None
    country: str | None = None
    timezone: str | None = None
    paused_reason: str | None = None
    #: The language the bot answers in (content's code: "en", "es"); None until settled.
    language: str | None = None

    def describe(self) -> dict[str, Any]:
        """Everything stored, field by field ("my data" names and shows each): a field added
        later is described too (tests/test_privacy.py checks this against the table)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Storage(Protocol):
    """A store of user state. Implementations: SQLite (default) and PostgreSQL."""

    backend: str
    user_tables: tuple[UserTable, ...]

    def walk(self, tables: Sequence[UserTable]) -> None: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def execute(self, sql: str, *params: Any) -> int: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *params: Any) -> list[Row]: ...

    def transaction(self) -> AbstractAsyncContextManager[None]: ...

    async def load_user(self, channel: str, user_key: str) -> UserState | None: ...

    async def paused_reason(self, channel: str, user_key: str) -> str | None: ...

    async def paused_users(self, channel: str, user_keys: Sequence[str]) -> set[str]: ...

    async def pause_user(self, channel: str, user_key: str, reason: str) -> bool: ...

    async def resume_user(self, channel: str, user_key: str, reason: str) -> bool: ...

    async def set_last_menu(self, channel: str, user_key: str, payloads: Sequence[str]) -> None: ...

    async def set_pending(self, channel: str, user_key: str, pending: dict[str, Any] | None) -> None: ...

    async def user_languages(self, channel: str, user_keys: Sequence[str]) -> dict[str, str | None]: ...

    async def save_user(self, state: UserState) -> None: ...

    async def delete_user(self, channel: str, user_key: str) -> bool: ...

    async def user_row_counts(self, channel: str, user_key: str) -> dict[str, int]: ...

    async def user_records(self, channel: str, user_key: str) -> dict[str, tuple[int, dict[str, Any]]]: ...

    async def forget_users_where(self, condition: str, *params: Any, batch: int = ...) -> int: ...

    async def forget_rows_where(self, table: str, key: str, condition: str, *params: Any,
                                batch: int = ...) -> int: ...


USER_COLUMNS = (
    "channel", "user_key", "first_seen", "last_seen", "last_inbound_at", "notice_seen", "last_menu",
    "history", "pending", "country", "timezone", "paused_reason", "language",
)
#: A turn saves its user with this: the whole row, inserted or replaced.
UPSERT_USER = (
    f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES ({', '.join('?' * len(USER_COLUMNS))}) "
    "ON CONFLICT (channel, user_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in USER_COLUMNS[2:])
)

#: Written once: every turn reads its user with it.
_SELECT_USER = f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE channel = ? AND user_key = ?"


@dataclass(frozen=True)
class UserTable:
    """A table that holds a user's rows (its `channel` and `user_key` say whose): "my data" counts
    them and shows the newest in full (by the `newest` column), "delete my data" empties it."""

    name: str
    newest: str = "1"


#: The user tables storage knows itself: the engine's `users` first, then the channels' own. A
#: feature declares its tables in its FeatureSpec, and the composition root (wiring.py) gives the
#: whole list to the store it opens (`storage_for(url, tables)`), in the order deletes need:
#: "delete my data" walks it backwards, so a table whose rows point at another's comes after it.
OWN_TABLES: tuple[UserTable, ...] = (UserTable("users"), UserTable("whatsapp_outbound", "updated_at"))


class SQLStore:
    """The queries both backends share; subclasses supply the primitives."""

    backend = "sql"
    #: What "my data" and "delete my data" walk: OWN_TABLES, then what the store was given.
    user_tables: tuple[UserTable, ...] = OWN_TABLES

    def walk(self, tables: Sequence[UserTable]) -> None:
        """Walk these tables too (the features'), after the store's own."""
        self.user_tables = (*OWN_TABLES, *tables)

    async def execute(self, sql: str, *params: Any) -> int:
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def ping(self) -> bool:
        try:
            await self.fetch("SELECT 1")
        except Exception:
            return False
        return True

    async def load_user(self, channel: str, user_key: str) -> UserState | None:
        rows = await self.fetch(_SELECT_USER, channel, user_key)
        return user_from_row(rows[0]) if rows else None

    async def save_user(self, state: UserState) -> None:
        await self.execute(UPSERT_USER, *user_to_row(state))

    # -- a user's state as channels and senders change it, outside a turn ---------------------

    async def paused_reason(self, channel: str, user_key: str) -> str | None:
        """Why nothing goes first to this user (STOPPED, BLOCKED, …), or None: a known user who may
        be written to, or one the bot has never met."""
        rows = await self.fetch(
            "SELECT paused_reason FROM users WHERE channel = ? AND user_key = ?", channel, user_key
        )
        return rows[0][0] if rows else None

    async def paused_users(self, channel: str, user_keys: Sequence[str]) -> set[str]:
        """Which of these users of one channel are paused (for any reason): nothing goes first
        to them. One query for a whole batch of the dispatcher's."""
        if not user_keys:
            return set()
        rows = await self.fetch(
            "SELECT user_key FROM users WHERE channel = ? AND paused_reason IS NOT NULL"
            f" AND user_key IN ({', '.join('?' * len(user_keys))})",
            channel, *user_keys,
        )
        return {r[0] for r in rows}

    async def pause_user(self, channel: str, user_key: str, reason: str) -> bool:
        """Pause a known user for `reason`; True when it changed something. One rule for every
        channel: a pause already in place stays (above all the user's own STOP), except that the
        user's STOP replaces a delivery failure's pause."""
        sql = "UPDATE users SET paused_reason = ? WHERE channel = ? AND user_key = ? AND "
        if reason == STOPPED:
            count = await self.execute(sql + "(paused_reason IS NULL OR paused_reason <> ?)",
                                       reason, channel, user_key, reason)
        else:
            count = await self.execute(sql + "paused_reason IS NULL", reason, channel, user_key)
        return count > 0

    async def resume_user(self, channel: str, user_key: str, reason: str) -> bool:
        """Lift a pause, but only the one named: a channel's "unblocked" never lifts a STOP."""
        count = await self.execute(
            "UPDATE users SET paused_reason = NULL WHERE channel = ? AND user_key = ? AND paused_reason = ?",
            channel, user_key, reason,
        )
        return count > 0

    async def set_last_menu(self, channel: str, user_key: str, payloads: Sequence[str]) -> None:
        """The numbered menu a user saw last, when the bot sent it first (a reminder's buttons):
        a typed number then picks from it."""
        await self.execute(
            "UPDATE users SET last_menu = ? WHERE channel = ? AND user_key = ?",
            json.dumps(list(payloads)), channel, user_key,
        )

    async def set_pending(self, channel: str, user_key: str, pending: dict[str, Any] | None) -> None:
        """The question a feature asked when it wrote first (a check-in), so a typed answer is read
        as its answer."""
        await self.execute(
            "UPDATE users SET pending = ? WHERE channel = ? AND user_key = ?",
            None if pending is None else json.dumps(pending), channel, user_key,
        )

    async def user_languages(self, channel: str, user_keys: Sequence[str]) -> dict[str, str | None]:
        """The language each of these users of one channel is answered in (None: not settled),
        in one query, for a job that writes first in it."""
        if not user_keys:
            return {}
        rows = await self.fetch(
            "SELECT user_key, language FROM users WHERE channel = ?"
            f" AND user_key IN ({', '.join('?' * len(user_keys))})",
            channel, *user_keys,
        )
        return {r[0]: r[1] for r in rows}

    async def delete_user(self, channel: str, user_key: str) -> bool:
        """Everything about the user goes, in one transaction, from every table that holds it."""
        async with self.transaction():
            for table in reversed([t.name for t in self.user_tables]):
                count = await self.execute(
                    f"DELETE FROM {table} WHERE channel = ? AND user_key = ?", channel, user_key
                )
        return count > 0

    async def user_row_counts(self, channel: str, user_key: str) -> dict[str, int]:
        """How many rows each table besides `users` holds for a user, so "my data" hides nothing."""
        counts = {}
        for table in self._feature_tables():
            rows = await self.fetch(
                f"SELECT COUNT(*) FROM {table} WHERE channel = ? AND user_key = ?", channel, user_key
            )
            counts[table] = int(rows[0][0])
        return counts

    # -- retention (messenger_bot/retention.py says which rows, and why) ----------------------

    @property
    def _skip_locked(self) -> str:
        """On PostgreSQL, passes on several instances at once take different rows instead of
        waiting on (or deadlocking with) each other; SQLite has one writer anyway."""
        return " FOR UPDATE SKIP LOCKED" if self.backend == "postgres" else ""

    async def forget_users_where(self, condition: str, *params: Any, batch: int = 500) -> int:
        """Delete the users matching an SQL condition on `users` (the code's own, never input),
        with all their rows in every user table, as "delete my data" would; in batches, each its
        own transaction, so a large backlog never holds the database for long. Returns how many."""
        total = 0
        while True:
            async with self.transaction():
                gone = await self.fetch(
                    "DELETE FROM users WHERE (channel, user_key) IN (SELECT channel, user_key FROM users "
                    f"WHERE {condition} LIMIT {int(batch)}{self._skip_locked}) RETURNING channel, user_key",
                    *params,
                )
                if gone:
                    pairs = ", ".join(["(?, ?)"] * len(gone))
                    keys = [value for row in gone for value in (row[0], row[1])]
                    for table in self._feature_tables():
                        await self.execute(
                            f"DELETE FROM {table} WHERE (channel, user_key) IN (VALUES {pairs})", *keys)
            total += len(gone)
            if len(gone) < batch:
                return total

    async def forget_rows_where(self, table: str, key: str, condition: str, *params: Any,
                                batch: int = 5000) -> int:
        """Delete a table's rows matching a condition, `batch` at a time by their key columns
        (always in a transaction: on SQLite that runs off the event loop, however long it takes)."""
        total = 0
        while True:
            async with self.transaction():
                count = await self.execute(
                    f"DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {condition} "
                    f"LIMIT {int(batch)}{self._skip_locked})", *params,
                )
            total += count
            if count < batch:
                return total

    def _feature_tables(self) -> list[str]:
        """Every user table but `users` itself."""
        return [table.name for table in self.user_tables[1:]]

    async def table_columns(self, table: str) -> list[str]:
        raise NotImplementedError

    async def user_records(self, channel: str, user_key: str) -> dict[str, tuple[int, dict[str, Any]]]:
        """For "my data": per table besides `users` where the user has rows, how many, and the
        newest in full (every column but the two that say whose it is; times as datetimes), so
        nothing is hidden however many rows there are."""
        records = {}
        for table in self.user_tables[1:]:
            columns = [c for c in await self.table_columns(table.name) if c not in ("channel", "user_key")]
            count = await self.fetch(
                f"SELECT COUNT(*) FROM {table.name} WHERE channel = ? AND user_key = ?", channel, user_key)
            if not count[0][0]:
                continue
            newest = await self.fetch(
                f"SELECT {', '.join(columns)} FROM {table.name} WHERE channel = ? AND user_key = ? "
                f"ORDER BY {table.newest} DESC LIMIT 1", channel, user_key,
            )
            values = {c: _as_time(c, v) for c, v in zip(columns, newest[0], strict=True)}
            records[table.name] = (int(count[0][0]), values)
        return records

    async def users(self) -> AsyncIterator[UserState]:
        for row in await self.fetch(f"SELECT {', '.join(USER_COLUMNS)} FROM users"):
            yield user_from_row(row)


def user_to_row(s: UserState) -> tuple[Any, ...]:
    return (
        s.channel, s.user_key, ts(s.first_seen), ts(s.last_seen), ts(s.last_inbound_at),
        int(s.notice_seen), json.dumps(s.last_menu), json.dumps(s.history),
        json.dumps(s.pending) if s.pending is not None else None, s.country, s.timezone, s.paused_reason,
        s.language,
    )


def user_from_row(row: Row) -> UserState:
    return UserState(
        channel=row[0], user_key=row[1], first_seen=dt(row[2]), last_seen=dt(row[3]),  # type: ignore[arg-type]
        last_inbound_at=dt(row[4]), notice_seen=bool(row[5]), last_menu=json.loads(row[6]),
        history=json.loads(row[7]), pending=json.loads(row[8]) if row[8] else None,
        country=row[9], timezone=row[10], paused_reason=row[11], language=row[12],
    )


def _as_time(column: str, value: Any) -> Any:
    """Epoch seconds in a time column (…_at) as the time they are."""
    return dt(float(value)) if isinstance(value, int | float) and column.endswith("_at") else value
