"""The default store: one SQLite file through aiosqlite, nothing to install.

WAL mode lets readers go on while a write commits; one connection serialises writes
inside the process, which is what SQLite wants anyway.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from messenger_bot.storage.base import UserState
from messenger_bot.storage.migrations import migrations, split_statements

_USER_COLUMNS = (
    "channel, user_key, first_seen, last_seen, last_inbound_at, notice_seen, last_menu, history, "
    "pending, country, timezone, paused_reason"
)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class SQLiteStorage:
    """User state (and, as features arrive, their tables) in one SQLite file."""

    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA busy_timeout=5000")
        await self._db.execute("PRAGMA foreign_keys=ON")
        await self.migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def migrate(self) -> list[str]:
        """Apply the migrations this file has not seen; return their names."""
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
        )
        async with self.db.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for migration in migrations(self.backend):
            if migration.version in done:
                continue
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_statements(migration.sql):
                    await self.db.execute(statement)
                await self.db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?)",
                    (migration.version, datetime.now(UTC).timestamp()),
                )
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            applied.append(migration.name)
        return applied

    async def ping(self) -> bool:
        try:
            async with self.db.execute("SELECT 1") as cursor:
                return (await cursor.fetchone()) == (1,)
        except Exception:
            return False

    async def load_user(self, channel: str, user_key: str) -> UserState | None:
        async with self.db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE channel = ? AND user_key = ?", (channel, user_key)
        ) as cursor:
            row = await cursor.fetchone()
        return _user_from_row(row) if row else None

    async def save_user(self, state: UserState) -> None:
        await self.db.execute(
            f"INSERT OR REPLACE INTO users ({_USER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            _user_to_row(state),
        )

    async def delete_user(self, channel: str, user_key: str) -> bool:
        cursor = await self.db.execute(
            "DELETE FROM users WHERE channel = ? AND user_key = ?", (channel, user_key)
        )
        return cursor.rowcount > 0


def _user_to_row(s: UserState) -> tuple[Any, ...]:
    return (
        s.channel, s.user_key, _ts(s.first_seen), _ts(s.last_seen), _ts(s.last_inbound_at),
        int(s.notice_seen), json.dumps(s.last_menu), json.dumps(s.history),
        json.dumps(s.pending) if s.pending is not None else None, s.country, s.timezone, s.paused_reason,
    )


def _user_from_row(row: Any) -> UserState:
    return UserState(
        channel=row[0], user_key=row[1], first_seen=_dt(row[2]), last_seen=_dt(row[3]),  # type: ignore[arg-type]
        last_inbound_at=_dt(row[4]), notice_seen=bool(row[5]), last_menu=json.loads(row[6]),
        history=json.loads(row[7]), pending=json.loads(row[8]) if row[8] else None,
        country=row[9], timezone=row[10], paused_reason=row[11],
    )
