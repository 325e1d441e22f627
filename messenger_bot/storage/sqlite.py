"""The default store: one SQLite file through aiosqlite, nothing to install.

WAL mode lets readers go on while a write commits; one connection serialises writes
inside the process, which is what SQLite wants anyway. Outside an explicit
transaction every statement commits on its own (autocommit).

A single statement outside a transaction first runs on a second connection right on
the event loop, and is never allowed to wait there (busy_timeout 0): in WAL mode a
reader never waits for a writer, and an uncontended write commits in ~30 µs, while a
trip to aiosqlite's thread costs ~100-200 µs of CPU (bench/engine.py, bench/*_webhook.py
show the difference). When the file is locked (another process writing, or a
transaction open here) the statement goes to aiosqlite's thread instead and waits
there, so the event loop never blocks on a lock. Transactions always run on aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from messenger_bot.storage.base import Row, SQLStore
from messenger_bot.storage.migrations import migrations, split_statements


class SQLiteStorage(SQLStore):
    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._fast: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
            await self._db.execute(f"PRAGMA {pragma}")
        await self.migrate()
        self._fast = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("synchronous=NORMAL", "busy_timeout=0", "foreign_keys=ON"):
            self._fast.execute(f"PRAGMA {pragma}")

    async def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    def _try_fast(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor | None:
        """The statement run at once on the loop, or None when it would have to wait."""
        if self._fast is None or self._owner is not None:
            return None
        try:
            return self._fast.execute(sql, params)
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return None
            raise

    async def execute(self, sql: str, *params: Any) -> int:
        cursor = self._try_fast(sql, params)
        if cursor is not None:
            return cursor.rowcount
        async with self._turn():
            done = await self.db.execute(sql, params)
            return done.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._turn():
            await self.db.executemany(sql, rows)

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        cursor = self._try_fast(sql, params)
        if cursor is not None:
            return cursor.fetchall()
        # One trip to aiosqlite's thread, not three (execute, fetchall, close).
        async with self._turn():
            return list(await self.db.execute_fetchall(sql, params))

    async def table_columns(self, table: str) -> list[str]:
        return [row[1] for row in await self.fetch(f"PRAGMA table_info({table})")]

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One connection is shared: a statement waits while another task's transaction is open,
        so it never slips into (and rolls back with) someone else's transaction."""
        if self._owner is asyncio.current_task():
            yield
            return
        async with self._lock:
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE takes the file's write lock, so other processes wait rather than fail."""
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self.db.execute("ROLLBACK")
                    raise
                await self.db.execute("COMMIT")
            finally:
                self._owner = None

    async def migrate(self) -> list[str]:
        """Apply the migrations this file has not seen; return their names."""
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
        )
        done = {row[0] for row in await self.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations(self.backend):
            if migration.version in done:
                continue
            async with self.transaction():
                for statement in split_statements(migration.sql):
                    await self.execute(statement)
                now = datetime.now(UTC).timestamp()
                await self.execute("INSERT INTO schema_migrations VALUES (?, ?)", migration.version, now)
            applied.append(migration.name)
        return applied
