"""Retention benchmark: how long one pass takes to forget a day of drive-by web chat keys.

    .venv/bin/python bench/retention.py [--users 432000] [--database postgresql://…]

An anonymous client within WEBCHAT_IP_RATE (300 a minute) can make 432,000 web chat keys a
day, each one message. This seeds that many one-message web chat users (older than
WEBCHAT_ONE_MESSAGE_HOURS), a tenth as many recent ones that must stay, and then runs one
retention pass (`messenger-bot prune` does the same). Printed, from the same run:
  * pass     - the pass: users forgotten per second, in batches, each its own transaction;
  * baseline - one plain `DELETE FROM users` of the same rows (no batches, no other tables),
               on a second copy, so the ratio shows what batching and "every table" cost.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.features import user_tables
from messenger_bot.retention import Limits
from messenger_bot.settings import load_settings
from messenger_bot.storage import Storage, storage_for
from messenger_bot.storage.postgres import PostgresStorage
from messenger_bot.wiring import FEATURES, prune

NOW = datetime(2026, 6, 1, tzinfo=UTC)
INSERT = ("INSERT INTO users (channel, user_key, first_seen, last_seen, notice_seen, last_menu, history) "
          "VALUES ('web', ?, ?, ?, 1, '[]', '[\"menu\"]')")
CHUNK = 20_000


async def seed(store: Storage, users: int) -> None:
    old = (NOW - timedelta(hours=30)).timestamp()
    recent = (NOW - timedelta(hours=1)).timestamp()
    rows = [(f"drive-by-{i:08d}", old, old) for i in range(users)]
    rows += [(f"recent-{i:08d}", recent, recent) for i in range(users // 10)]
    for start in range(0, len(rows), CHUNK):
        async with store.transaction():
            await store.executemany(INSERT, rows[start:start + CHUNK])


async def open_fresh(url: str | None, folder: Path, name: str) -> Storage:
    if url is None:
        store = storage_for(f"sqlite:///{folder / name}", user_tables(FEATURES))
    else:
        store = PostgresStorage(url, schema=f"bench_retention_{name}_{int(time.time())}")
        store.walk(user_tables(FEATURES))
        await _create_schema(url, store.schema or "")
    await store.open()
    return store


async def _create_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()


async def _drop(store: Storage) -> None:
    if isinstance(store, PostgresStorage) and store.schema:
        await store.execute(f'DROP SCHEMA "{store.schema}" CASCADE')
    await store.close()


async def main(users: int, url: str | None) -> None:
    settings = load_settings()
    limits = Limits.of(settings)
    with tempfile.TemporaryDirectory() as folder:
        store = await open_fresh(url, Path(folder), "pass")
        twin = await open_fresh(url, Path(folder), "baseline")
        try:
            await seed(store, users)
            await seed(twin, users)
            started = time.perf_counter()
            removed = await prune(store, settings, NOW)
            took = time.perf_counter() - started
            kept = (await store.fetch("SELECT COUNT(*) FROM users"))[0][0]
            cutoff = (NOW - limits.webchat_one_message).timestamp()
            started = time.perf_counter()
            async with twin.transaction():
                bare_count = await twin.execute(
                    "DELETE FROM users WHERE channel = 'web' AND last_seen = first_seen AND last_seen < ?",
                    cutoff)
            bare = time.perf_counter() - started
        finally:
            await _drop(store)
            await _drop(twin)
    gone = removed["web chat users"]
    backend = "PostgreSQL" if url else "SQLite"
    print(f"{backend}: pass forgot {gone:,} web chat users in {took:.2f} s = {gone / took:,.0f}/s "
          f"(kept {kept:,} recent; must be {users // 10:,})")
    print(f"{backend}: baseline one DELETE of the same {bare_count:,} rows in {bare:.2f} s "
          f"= {gone / bare:,.0f}/s; pass/baseline time x{took / bare:.1f}")
    where = f" --database {url}" if url else ""
    print(f"command: .venv/bin/python bench/retention.py --users {users}{where}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=432_000)
    parser.add_argument("--database", help="a PostgreSQL URL (a fresh schema, dropped after); default SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.users, args.database))
