"""The PostgreSQL server the tests use, and a fresh schema per test on it.

TEST_DATABASE_URL names the server (default: the machine's, postgres@127.0.0.1:5432/test,
which `scripts/ensure-postgres.sh` provides). When it cannot be reached the PostgreSQL variants
are skipped with the reason, except under CI=true, where they fail: CI never skips them silently.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from messenger_bot.storage.postgres import redacted

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
_unreachable: dict[str, str] = {}


def database_url_for_tests() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


async def require_postgres() -> str:
    """The server's URL, or skip (fail under CI=true) when no server answers."""
    url = database_url_for_tests()
    if url not in _unreachable:
        try:
            connection = await asyncpg.connect(url, timeout=5)
            await connection.close()
            _unreachable[url] = ""
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            _unreachable[url] = f"{type(error).__name__}: {error}"
    reason = _unreachable[url]
    if reason:
        message = f"PostgreSQL at {redacted(url)} is unreachable ({reason}); set TEST_DATABASE_URL"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}. CI must run the PostgreSQL tests (.ci/run starts a server).")
        pytest.skip(message)
    return url


async def create_schema() -> tuple[str, str]:
    """(url, schema): a new, empty schema on the test server."""
    url = await require_postgres()
    schema = f"test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
    finally:
        await connection.close()
    return url, schema


async def drop_schema(url: str, schema: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema): an empty schema that exists for the duration, dropped afterwards."""
    url, schema = await create_schema()
    try:
        yield url, schema
    finally:
        await drop_schema(url, schema)


def with_search_path(url: str, schema: str) -> str:
    """The URL with the schema as its search_path (asyncpg sends unknown query keys as settings),
    for code that only takes a URL, such as the command line."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


class TcpRelay:
    """A loopback relay to the server that the test can cut, to see the store when the server is gone."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and drop every relayed connection, as a dead server would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()
