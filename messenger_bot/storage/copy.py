"""Moving up: copy a SQLite database into PostgreSQL (`messenger-bot copy-data`).

Every table both databases have is copied (users and whatever later migrations add: the
tables are discovered, not listed here), parents before children, in batches that each commit.
Rows go in with `ON CONFLICT DO NOTHING`, so a second run, or a run after an interruption,
adds only what is missing. The SQLite file is opened read-only and never changed. Counts are
printed for both ends; they must match.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from messenger_bot.storage import storage_for
from messenger_bot.storage.postgres import PostgresStorage, redacted
from messenger_bot.storage.sqlite import SQLiteStorage

BATCH_SIZE = 1000
SKIPPED_TABLES = {"schema_migrations"}  # each database keeps its own record of migrations


class CopyError(Exception):
    """The copy cannot start; the message says why."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class TargetColumn:
    name: str
    data_type: str
    generated: bool  # identity or serial: its sequence must be moved past the copied ids


async def copy_data(
    source_url: str, target_url: str, *, batch_size: int = BATCH_SIZE, say: Callable[[str], None] = print
) -> list[TableCount]:
    """Copy, then count both ends of every table copied."""
    path = _sqlite_path(source_url)
    target = storage_for(target_url)
    if not isinstance(target, PostgresStorage):
        raise CopyError("--to must be a postgresql:// URL")
    source = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
    try:
        await target.open()  # applies the migrations, so the target has every table
        try:
            say(f"copying {path} -> {redacted(target_url)}")
            return await _copy_tables(source, target, batch_size, say)
        finally:
            await target.close()
    finally:
        await source.close()


def _sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise CopyError("--from must be a sqlite:/// URL")
    store = storage_for(url)
    assert isinstance(store, SQLiteStorage)
    if not store.path.is_file():
        raise CopyError(f"no SQLite database at {store.path}")
    return store.path


async def _copy_tables(
    source: aiosqlite.Connection, target: PostgresStorage, batch_size: int, say: Callable[[str], None]
) -> list[TableCount]:
    target_columns = await _target_columns(target)
    counts = []
    for table in await _source_tables(source):
        if table not in target_columns:
            say(f"{table}: not in the PostgreSQL schema, skipped")
            continue
        columns = await _copy_table(source, target, table, target_columns[table], batch_size, say)
        if columns:
            count = TableCount(table, await _count_source(source, table), await _count_target(target, table))
            counts.append(count)
            state = "same" if count.matches else "DIFFERENT"
            say(f"{table}: {count.source} rows in SQLite, {count.target} in PostgreSQL ({state})")
    return counts


async def _source_tables(source: aiosqlite.Connection) -> list[str]:
    """The SQLite tables, parents (referenced by foreign keys) before their children."""
    async with source.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ) as cursor:
        names = [row[0] for row in await cursor.fetchall() if row[0] not in SKIPPED_TABLES]
    order: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in names:
        async with source.execute(f'PRAGMA foreign_key_list("{name}")') as cursor:
            parents = {row[2] for row in await cursor.fetchall()} & set(names) - {name}
        order.add(name, *sorted(parents))
    return list(order.static_order())


async def _target_columns(target: PostgresStorage) -> dict[str, dict[str, TargetColumn]]:
    rows = await target.fetch(
        "SELECT table_name, column_name, data_type, is_identity = 'YES' OR column_default LIKE 'nextval(%' "
        "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY ordinal_position"
    )
    tables: dict[str, dict[str, TargetColumn]] = {}
    for table, column, data_type, generated in rows:
        tables.setdefault(table, {})[column] = TargetColumn(column, data_type, bool(generated))
    return tables


async def _copy_table(
    source: aiosqlite.Connection, target: PostgresStorage, table: str,
    target_columns: dict[str, TargetColumn], batch_size: int, say: Callable[[str], None],
) -> list[str]:
    """Copy one table's rows; return the columns copied (none: the table was left alone)."""
    async with source.execute(f'PRAGMA table_info("{table}")') as cursor:
        source_columns = [row[1] for row in await cursor.fetchall()]
    columns = [c for c in source_columns if c in target_columns]
    dropped = [c for c in source_columns if c not in target_columns]
    if dropped:
        say(f"{table}: columns not in PostgreSQL, not copied: {', '.join(dropped)}")
    if not columns:
        return []
    if not await _has_unique_key(target, table) and await _count_target(target, table):
        say(f"{table}: no unique key in PostgreSQL and rows already there: not copied again")
        return columns
    insert = _insert_sql(table, columns, any(target_columns[c].generated for c in columns))
    convert = [_converter(target_columns[c].data_type) for c in columns]
    async with source.execute(f"SELECT {_names(columns)} FROM \"{table}\"") as cursor:
        while batch := await cursor.fetchmany(batch_size):
            rows = [[None if v is None else f(v) for f, v in zip(convert, row, strict=True)] for row in batch]
            async with target.transaction():
                await target.executemany(insert, rows)
    for column in (c for c in columns if target_columns[c].generated):
        await target.fetch(
            f"SELECT setval(pg_get_serial_sequence(?, ?), max_id) FROM "
            f'(SELECT max("{column}") AS max_id FROM "{table}") AS m WHERE max_id IS NOT NULL',
            f'"{table}"', column,
        )
    return columns


def _insert_sql(table: str, columns: Sequence[str], generated: bool) -> str:
    overriding = " OVERRIDING SYSTEM VALUE" if generated else ""
    marks = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({_names(columns)}){overriding} VALUES ({marks}) ON CONFLICT DO NOTHING'


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _converter(data_type: str) -> Callable[[Any], Any]:
    """SQLite's loose types, made what the PostgreSQL column expects (asyncpg is strict)."""
    if data_type == "boolean":
        return bool
    if data_type in {"double precision", "real"}:
        return float
    if data_type in {"integer", "bigint", "smallint"}:
        return int
    if data_type in {"text", "character varying", "character"}:
        return lambda v: v if isinstance(v, str) else str(v)
    return lambda v: v


async def _has_unique_key(target: PostgresStorage, table: str) -> bool:
    rows = await target.fetch(
        "SELECT 1 FROM pg_index WHERE indrelid = to_regclass(?) AND indisunique LIMIT 1", f'"{table}"'
    )
    return bool(rows)


async def _count_source(source: aiosqlite.Connection, table: str) -> int:
    async with source.execute(f'SELECT count(*) FROM "{table}"') as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _count_target(target: PostgresStorage, table: str) -> int:
    return int((await target.fetch(f'SELECT count(*) FROM "{table}"'))[0][0])
