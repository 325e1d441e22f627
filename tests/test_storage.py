"""The storage interface, the same on SQLite and PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import pytest

from messenger_bot import cli
from messenger_bot.channels.telegram import UpdateLog
from messenger_bot.storage import base
from messenger_bot.storage.base import BLOCKED, STOPPED, Storage, UserState
from messenger_bot.storage.migrations import migrations
from messenger_bot.storage.postgres import PostgresStorage, affected_rows, redacted, to_dollar_params
from messenger_bot.storage.sqlite import SQLiteStorage
from tests.support.postgres import TcpRelay, create_schema, drop_schema, fresh_schema, with_search_path

NASTY_KEYS = ["'; DROP TABLE users; --", 'quote " and ? and $1 and %s', "Zoë 👄 ℌ", "a" * 300]


def user(key: str, channel: str = "telegram", **changes: object) -> UserState:
    now = datetime(2025, 3, 30, 1, 30, 15, 250000, tzinfo=UTC)
    state = UserState(channel=channel, user_key=key, first_seen=now, last_seen=now)
    for name, value in changes.items():
        setattr(state, name, value)
    return state


def twin(store: Storage) -> Storage:
    """A second store on the same database, as another process would open it."""
    if isinstance(store, SQLiteStorage):
        return SQLiteStorage(store.path)
    assert isinstance(store, PostgresStorage)
    return PostgresStorage(store.url, schema=store.schema)


async def applied_versions(store: Storage) -> list[int]:
    return [row[0] for row in await store.fetch("SELECT version FROM schema_migrations ORDER BY version")]


async def test_migrations_are_applied_once_and_again_is_a_no_op(store: Storage) -> None:
    shipped = [m.version for m in migrations(store.backend)]
    assert shipped and await applied_versions(store) == shipped
    assert await store.migrate() == []  # type: ignore[attr-defined]
    again = twin(store)
    await again.open()
    try:
        assert await applied_versions(again) == shipped
    finally:
        await again.close()
    assert await store.fetch("SELECT count(*) FROM users") == [(0,)]


async def test_telegram_update_ids_from_before_the_shared_table_still_count_as_seen(store: Storage) -> None:
    """Migration 0011 moves `telegram_updates` into `inbound_messages`: an update delivered again
    across the upgrade is still answered once, and a new one is answered."""
    await store.execute("CREATE TABLE telegram_updates (update_id BIGINT NOT NULL PRIMARY KEY, "
                        "received_at DOUBLE PRECISION NOT NULL)")
    await store.execute("INSERT INTO telegram_updates VALUES (?, ?)", 981, 1_700_000_000.0)
    await store.execute("DELETE FROM schema_migrations WHERE version >= 11")
    assert "0011_telegram_inbound.sql" in await store.migrate()  # type: ignore[attr-defined]
    assert await store.fetch("SELECT channel, message_id FROM inbound_messages") == [("telegram", "981")]
    assert "telegram_updates" not in await _tables(store)
    updates = UpdateLog(store)
    assert await updates.first_time(981) is False
    assert await updates.first_time(982) is True


async def _tables(store: Storage) -> set[str]:
    if isinstance(store, SQLiteStorage):
        rows = await store.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await store.fetch("SELECT table_name FROM information_schema.tables "
                                 "WHERE table_schema = current_schema()")
    return {row[0] for row in rows}


@pytest.mark.parametrize("key", NASTY_KEYS)
async def test_a_user_round_trips_with_unicode_and_sql_metacharacters(store: Storage, key: str) -> None:
    state = user(
        key, last_menu=["causes", "o'brien"], history=["menu", "\"quoted\""], country="GB",
        pending={"step": "time", "text": "10:00; DELETE FROM users", "emoji": "💧"},
        timezone="Europe/London", paused_reason="blocked ?", notice_seen=True,
        last_inbound_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    await store.save_user(state)
    assert await store.load_user("telegram", key) == state
    assert await store.load_user("whatsapp", key) is None
    state.last_menu, state.pending = [], None
    await store.save_user(state)
    assert await store.load_user("telegram", key) == state
    assert await store.delete_user("telegram", key) is True
    assert await store.load_user("telegram", key) is None
    assert await store.delete_user("telegram", key) is False
    assert await store.fetch("SELECT count(*) FROM users") == [(0,)], "the table itself is still there"


async def test_execute_counts_rows_and_fetch_rows_index_like_tuples(store: Storage) -> None:
    for key in ("a", "b", "c"):
        await store.save_user(user(key))
    await store.save_user(user("d", channel="whatsapp"))
    assert await store.execute("UPDATE users SET country = ? WHERE channel = ?", "NL", "telegram") == 3
    assert await store.execute("DELETE FROM users WHERE user_key = ?", "nobody") == 0
    rows = await store.fetch(
        "SELECT user_key, country FROM users WHERE channel = ? ORDER BY user_key", "telegram"
    )
    assert rows == [("a", "NL"), ("b", "NL"), ("c", "NL")]
    assert rows[1][0] == "b" and tuple(rows[2]) == ("c", "NL")
    await store.executemany(
        "UPDATE users SET timezone = ? WHERE user_key = ?", [("Asia/Tokyo", "a"), ("UTC", "d")]
    )
    assert await store.fetch("SELECT timezone FROM users WHERE user_key IN (?, ?) ORDER BY 1", "a", "d") == [
        ("Asia/Tokyo",), ("UTC",),
    ]


async def test_a_failed_transaction_leaves_nothing_and_a_good_one_commits(store: Storage) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.save_user(user("t1"))
            await store.execute("UPDATE users SET country = ? WHERE user_key = ?", "FR", "t1")
            assert (await store.load_user("telegram", "t1")) is not None, "visible inside"
            raise RuntimeError("half-way")
    assert await store.load_user("telegram", "t1") is None
    async with store.transaction():
        await store.save_user(user("t2"))
        await store.save_user(user("t3"))
    assert await store.fetch("SELECT count(*) FROM users") == [(2,)]


async def test_another_task_is_not_caught_in_a_transaction_that_rolls_back(store: Storage) -> None:
    """A task started inside a transaction writes on its own; the rollback does not take its row."""
    other: asyncio.Task[None] | None = None
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.save_user(user("inside"))
            other = asyncio.create_task(store.save_user(user("outside")))
            if store.backend == "postgres":  # its own connection: it does not wait for us
                await asyncio.wait_for(asyncio.shield(other), 30)
            raise RuntimeError("roll back")
    assert other is not None
    await other  # on SQLite it waited for the transaction to end
    assert await store.load_user("telegram", "inside") is None
    assert await store.load_user("telegram", "outside") is not None


async def test_concurrent_saves_of_different_users_all_land(store: Storage) -> None:
    keys = [f"user-{n}" for n in range(60)]
    await asyncio.gather(*(store.save_user(user(k, country=k[-2:])) for k in keys))

    async def in_transaction(n: int) -> None:
        async with store.transaction():
            await store.save_user(user(f"tx-{n}-a"))
            await store.save_user(user(f"tx-{n}-b"))

    await asyncio.gather(*(in_transaction(n) for n in range(10)))
    loaded = await asyncio.gather(*(store.load_user("telegram", k) for k in keys))
    assert [s.country for s in loaded if s] == [k[-2:] for k in keys]
    assert await store.fetch("SELECT count(*) FROM users") == [(80,)]


async def test_sqlite_concurrent_saves_share_a_commit_and_each_is_stored_when_it_returns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Turns that save in the same moment commit together; no save returns before its row can be
    read by another process (a turn answers only once its state is stored)."""
    store = SQLiteStorage(tmp_path / "bot.sqlite3")
    await store.open()
    other = sqlite3.connect(store.path)
    statements: list[str] = []
    assert store._fast is not None
    store._fast.set_trace_callback(statements.append)

    async def save_then_look(key: str) -> bool:
        await store.save_user(user(key, country="NL"))
        rows = other.execute("SELECT country FROM users WHERE user_key = ?", (key,)).fetchall()
        return rows == [("NL",)]

    try:
        seen = await asyncio.gather(*(save_then_look(f"k{n}") for n in range(20)))
        assert seen == [True] * 20
        assert statements.count("COMMIT") == 1
        assert await save_then_look("alone")  # a save with no company commits by itself
    finally:
        other.close()
        await store.close()


async def test_sqlite_a_refused_row_fails_its_own_save_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteStorage(tmp_path / "bot.sqlite3")
    await store.open()
    await store.execute("CREATE TRIGGER refuse BEFORE INSERT ON users WHEN NEW.user_key = 'bad' "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    try:
        results = await asyncio.gather(*(store.save_user(user(k)) for k in ("a", "bad", "b")),
                                       return_exceptions=True)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert [r[0] for r in await store.fetch("SELECT user_key FROM users ORDER BY 1")] == ["a", "b"]
    finally:
        await store.close()


async def test_sqlite_saves_wait_for_another_process_holding_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteStorage(tmp_path / "bot.sqlite3")
    await store.open()
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        saves = asyncio.gather(*(store.save_user(user(f"w{n}")) for n in range(5)))
        await asyncio.sleep(0.2)
        assert not saves.done(), "no save may return while its row cannot be written"
        holder.execute("COMMIT")
        await asyncio.wait_for(saves, 10)
        assert await store.fetch("SELECT count(*) FROM users") == [(5,)]
    finally:
        holder.close()
        await store.close()


async def test_delete_user_empties_every_user_table(store: Storage) -> None:
    """Including a table a feature adds: it only has to be among the tables the store is given."""
    await store.execute("CREATE TABLE notes (channel TEXT NOT NULL, user_key TEXT NOT NULL, body TEXT)")
    store.walk([*store.user_tables[len(base.OWN_TABLES):], base.UserTable("notes")])
    for key in ("gone", "kept"):
        await store.save_user(user(key))
        await store.executemany(
            "INSERT INTO notes VALUES (?, ?, ?)", [("telegram", key, "one"), ("telegram", key, "two")]
        )
    assert await store.delete_user("telegram", "gone") is True
    for table in (t.name for t in store.user_tables):
        sql = f"SELECT user_key, count(*) FROM {table} GROUP BY user_key ORDER BY user_key"
        rows = await store.fetch(sql)
        assert [row[0] for row in rows] == (["kept"] if table in {"users", "notes"} else []), table
    assert await store.load_user("telegram", "kept") is not None


async def test_a_users_own_stop_outranks_every_pause_a_channel_sets(store: Storage) -> None:
    now = datetime.now(UTC)
    await store.save_user(UserState("telegram", "7", first_seen=now, last_seen=now))
    assert await store.paused_reason("telegram", "7") is None
    assert await store.pause_user("telegram", "7", STOPPED)
    assert not await store.pause_user("telegram", "7", BLOCKED)  # a 403 after their STOP
    assert not await store.resume_user("telegram", "7", BLOCKED)  # unblocking is not START
    assert await store.paused_reason("telegram", "7") == STOPPED
    assert await store.resume_user("telegram", "7", STOPPED)
    assert await store.pause_user("telegram", "7", BLOCKED)
    assert await store.pause_user("telegram", "7", STOPPED)  # their STOP replaces a block
    assert await store.paused_reason("telegram", "7") == STOPPED


async def test_a_pause_or_a_menu_for_a_user_never_met_stores_nothing(store: Storage) -> None:
    assert not await store.pause_user("whatsapp", "+15550001", BLOCKED)
    await store.set_last_menu("whatsapp", "+15550001", ["causes"])
    assert await store.load_user("whatsapp", "+15550001") is None


async def test_a_menu_sent_first_is_the_one_a_number_picks(store: Storage) -> None:
    now = datetime.now(UTC)
    await store.save_user(UserState("whatsapp", "+15550002", first_seen=now, last_seen=now))
    await store.set_last_menu("whatsapp", "+15550002", ["do:reminders:done", "menu"])
    user = await store.load_user("whatsapp", "+15550002")
    assert user is not None and user.last_menu == ["do:reminders:done", "menu"]


async def test_ping_tells_the_truth(store: Storage) -> None:
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    await store.open()  # the fixture closes it again


async def test_ping_is_false_while_the_server_is_gone_and_true_when_it_is_back() -> None:
    async with fresh_schema() as (url, schema):
        parts = urlsplit(url)
        relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 5432)
        await relay.start()
        relayed = parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}").geturl()
        store = PostgresStorage(relayed, schema=schema)
        await store.open()
        try:
            await store.save_user(user("p1"))
            await relay.cut()
            assert await store.ping() is False
            with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
                await store.load_user("telegram", "p1")
            await relay.start()  # same port: the server is back
            assert await store.ping() is True
            assert await store.load_user("telegram", "p1") is not None
        finally:
            await relay.cut()
            await store.close()


async def test_an_unreachable_server_fails_open_quickly_and_pings_false() -> None:
    store = PostgresStorage("postgresql://postgres:hunter2@127.0.0.1:1/test")
    with pytest.raises(OSError):
        await store.open()
    assert await store.ping() is False
    assert "hunter2" not in repr(store)


async def test_instances_starting_together_migrate_once() -> None:
    """The advisory lock: concurrent opens on a fresh schema all succeed, each migration runs once."""
    async with fresh_schema() as (url, schema):
        stores = [PostgresStorage(url, schema=schema) for _ in range(4)]
        await asyncio.gather(*(s.open() for s in stores))
        try:
            shipped = [m.version for m in migrations("postgres")]
            for store in stores:
                assert await applied_versions(store) == shipped
                assert await store.ping()
        finally:
            await asyncio.gather(*(s.close() for s in stores))


async def test_migration_waits_for_the_instance_holding_the_lock() -> None:
    async with fresh_schema() as (url, schema):
        holder = await asyncpg.connect(url, server_settings={"search_path": schema})
        try:
            await holder.execute("SELECT pg_advisory_lock($1, hashtext($2))", 0x6D626F74, schema)
            store = PostgresStorage(url, schema=schema)
            opening = asyncio.create_task(store.open())
            while not await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ):
                assert not opening.done(), "open() finished while another instance held the lock"
                await asyncio.sleep(0.01)
            assert await holder.fetchval("SELECT to_regclass('users')") is None, "nothing ran yet"
            await holder.execute("SELECT pg_advisory_unlock($1, hashtext($2))", 0x6D626F74, schema)
            await asyncio.wait_for(opening, 30)
            assert await applied_versions(store) == [m.version for m in migrations("postgres")]
            await store.close()
        finally:
            await holder.close()


def test_placeholders_become_numbered_outside_literals_and_comments() -> None:
    sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b = 'it''s ?' AND c IN (?, ?) -- why?\nAND d = ?"
    assert to_dollar_params(sql) == (
        "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = 'it''s ?' AND c IN ($2, $3) -- why?\nAND d = $4"
    )
    assert to_dollar_params("SELECT 1") == "SELECT 1"


def test_status_strings_give_row_counts_and_urls_hide_passwords() -> None:
    assert [affected_rows(s) for s in ("UPDATE 3", "INSERT 0 1", "DELETE 0", "CREATE TABLE", "")] == [
        3, 1, 0, 0, 0,
    ]
    assert redacted("postgresql://bot:s3cret@db.example:5432/bot?sslmode=require") == (
        "postgresql://bot:***@db.example:5432/bot?sslmode=require"
    )
    assert redacted("postgresql://postgres@127.0.0.1/test") == "postgresql://postgres@127.0.0.1/test"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """DATABASE_URL for the command line: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        monkeypatch.setenv("DATABASE_URL", url)
        yield url
        return
    server, schema = asyncio.run(create_schema())
    url = with_search_path(server, schema)
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield url
    finally:
        asyncio.run(drop_schema(server, schema))


def test_migrate_command_applies_then_has_nothing_to_do(database_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    latest = f"{migrations('sqlite')[-1].version:04d}"
    assert cli.main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert f"schema at migration {latest}" in first and "applied now: 0001" in first
    assert cli.main(["migrate"]) == 0
    assert "applied now: none" in capsys.readouterr().out


def test_migrate_command_says_when_the_server_is_unreachable(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@127.0.0.1:1/bot")
    assert cli.main(["migrate"]) == 1
    captured = capsys.readouterr()
    assert "cannot migrate postgresql://bot:***@127.0.0.1:1/bot" in captured.err
    assert "hunter2" not in captured.err + captured.out and "Traceback" not in captured.err
