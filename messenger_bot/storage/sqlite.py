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

A turn's save (`save_user`) is the one write of every message, and its commit costs about
as much as the upsert itself. Saves that reach the store in the same pass of the event loop
(concurrent turns) are committed together, in one transaction, and each caller returns only
once that transaction has committed: a turn still answers after its state is stored. A
lone save waits one pass of the loop and commits alone, as any statement does.
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

from messenger_bot.storage.base import UPSERT_USER, Row, SQLStore, UserState, user_to_row
from messenger_bot.storage.migrations import migrations, split_statements


class SQLiteStorage(SQLStore):
    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._fast: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        #: Saves waiting for this pass's commit: each row, and the future its turn awaits.
        self._saves: list[tuple[Sequence[Any], asyncio.Future[None]]] = []
        self._committing: set[asyncio.Task[None]] = set()

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

    async def save_user(self, state: UserState) -> None:
        """Committed with the other saves of this pass of the loop (see the module's docstring);
        inside a transaction, or while one is open, it is a statement like any other."""
        if self._owner is not None or self._fast is None:
            await super().save_user(state)
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._saves.append((user_to_row(state), done))
        if len(self._saves) == 1:
            loop.call_soon(self._commit_saves)
        await done

    def _commit_saves(self) -> None:
        """This pass's saves in one transaction on the loop. When the file is locked, or one row
        is refused, each is saved alone instead, as any statement is (waiting off the loop when
        it must), so one bad row never fails the others. Each future then says how its row went."""
        batch, self._saves = self._saves, []
        try:
            committed = self._try_fast_many([row for row, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            committed = False
        if committed:
            for _, done in batch:
                _settle(done, None)
            return
        task = asyncio.get_running_loop().create_task(self._save_each(batch))
        self._committing.add(task)
        task.add_done_callback(self._committing.discard)

    def _try_fast_many(self, rows: list[Sequence[Any]]) -> bool:
        """The rows upserted and committed at once on the loop; False when that would have to wait."""
        if len(rows) == 1:
            return self._try_fast(UPSERT_USER, rows[0]) is not None
        if self._try_fast("BEGIN IMMEDIATE", ()) is None:
            return False
        assert self._fast is not None
        try:
            self._fast.executemany(UPSERT_USER, rows)
            self._fast.execute("COMMIT")
        except BaseException:
            if self._fast.in_transaction:
                self._fast.execute("ROLLBACK")
            raise
        return True

    async def _save_each(self, batch: list[tuple[Sequence[Any], asyncio.Future[None]]]) -> None:
        for row, done in batch:  # in order: two saves of one user land as they were made
            try:
                await self.execute(UPSERT_USER, *row)
            except Exception as error:
                _settle(done, error)
            else:
                _settle(done, None)

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


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    """Wake a waiting save with the outcome of its commit (a cancelled turn is no longer waiting)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
