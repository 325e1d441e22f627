"""The PostgreSQL store: asyncpg with a connection pool, for a disk that is not durable
(Procfile platforms wipe local files on every restart) and for several instances on one database.

It supplies the four primitives `SQLStore` builds on. Queries are written once with `?`
placeholders; they are rewritten to PostgreSQL's `$1…$n` (cached per statement). The rewrite
leaves `?` alone inside '…' strings, "…" identifiers and -- comments; it does not know
PostgreSQL's jsonb `?`, `?|`, `?&` operators, so our SQL never uses them.

A transaction binds one pooled connection to the task that opened it (a context variable plus
the task's identity), so every statement that task runs inside `async with store.transaction()`
goes through that connection; other tasks, and statements outside a transaction, each take a
pooled connection of their own and commit on their own.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg

from messenger_bot.redact import redacted_url as redacted
from messenger_bot.storage.base import Row, SQLStore
from messenger_bot.storage.migrations import migrations

#: First key of the two-key advisory lock taken while migrating ("mbot" in ASCII); the second
#: key is the schema's hash, so instances sharing a schema queue up and test schemas do not.
MIGRATION_LOCK = 0x6D626F74
#: A health check must answer quickly when the server is gone: healthz tells the truth.
PING_TIMEOUT = 2.0
#: How long to wait for a new connection before giving up (asyncpg's default is a minute).
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 10.0

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")
_Binding = tuple[asyncio.Task[Any], asyncpg.Connection]


@lru_cache(maxsize=2048)
def to_dollar_params(sql: str) -> str:
    """`?` -> `$1…$n`, outside string literals, quoted identifiers and comments."""
    counter = 0

    def number(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(0) != "?":
            return match.group(0)
        counter += 1
        return f"${counter}"

    return _TOKEN.sub(number, sql)


def affected_rows(status: str) -> int:
    """asyncpg returns the command tag ("UPDATE 3", "INSERT 0 1", "CREATE TABLE"): its count."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else 0


class PostgresStorage(SQLStore):
    backend = "postgres"

    def __init__(
        self, url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 5
    ) -> None:
        """`schema` puts every table in that schema (search_path); tests use a fresh one each.
        Pool: a few connections per instance; several instances share the server's limit
        (small hosted plans allow about 20 in all)."""
        self.url = url
        self.schema = schema
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._bound: ContextVar[_Binding | None] = ContextVar(f"pg-connection-{id(self)}", default=None)

    def __repr__(self) -> str:
        return f"PostgresStorage({redacted(self.url)!r}, schema={self.schema!r})"

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the store is not open")
        return self._pool

    async def open(self) -> None:
        settings = {"application_name": "messenger-bot"}
        if self.schema:
            settings["search_path"] = self.schema
        self._pool = await asyncpg.create_pool(
            self.url, min_size=self.min_size, max_size=self.max_size,
            timeout=CONNECT_TIMEOUT, server_settings=settings,
        )
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            pool.terminate()  # a connection still busy after the grace period: cut it

    async def ping(self) -> bool:
        if self._pool is None:
            return False
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self._pool.fetchval("SELECT 1")
        except Exception:  # refused, reset, timed out: all mean "not healthy"
            return False
        return True

    def _connection(self) -> asyncpg.Connection | None:
        """The connection of the transaction this very task opened, if any (not a parent's)."""
        bound = self._bound.get()
        if bound is not None and bound[0] is asyncio.current_task():
            return bound[1]
        return None

    async def execute(self, sql: str, *params: Any) -> int:
        runner = self._connection() or self.pool
        return affected_rows(await runner.execute(to_dollar_params(sql), *params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        runner = self._connection() or self.pool
        await runner.executemany(to_dollar_params(sql), rows)

    async def fetch(self, sql: str, *params: Any) -> list[Row]:
        """asyncpg Records: indexable by position (and name), equal to tuples, like SQLite rows."""
        runner = self._connection() or self.pool
        return await runner.fetch(to_dollar_params(sql), *params)

    async def table_columns(self, table: str) -> list[str]:
        rows = await self.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", table,
        )
        return [row[0] for row in rows]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Commit on success, roll back on any exception; nested use becomes a savepoint."""
        current = self._connection()
        if current is not None:
            async with current.transaction():
                yield
            return
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a transaction needs a running task")
        async with self.pool.acquire() as connection, connection.transaction():
            token = self._bound.set((task, connection))
            try:
                yield
            finally:
                self._bound.reset(token)

    async def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; return their names.

        Several instances may start at once: an advisory lock lets one migrate while the
        others wait, then find nothing left to do. Each file runs whole, in its own
        transaction, so PostgreSQL's own parser handles it (dollar-quoted bodies too).
        """
        async with self.pool.acquire() as connection:
            await connection.execute(
                "SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '')))", MIGRATION_LOCK
            )
            try:
                return await _apply_missing(connection)
            finally:
                await connection.execute(
                    "SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))", MIGRATION_LOCK
                )


async def _apply_missing(connection: asyncpg.Connection) -> list[str]:
    await connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)"
    )
    done = {row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")}
    applied = []
    for migration in migrations("postgres"):
        if migration.version in done:
            continue
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations VALUES ($1, $2)",
                migration.version, datetime.now(UTC).timestamp(),
            )
        applied.append(migration.name)
    return applied
