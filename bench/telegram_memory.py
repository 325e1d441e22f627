"""How much python-telegram-bot keeps per chat, and what is left after its periodic run.

    .venv/bin/python bench/telegram_memory.py [--chats 10000]

Feeds that many distinct group chats (each message from a distinct person, not addressed to
the bot, so only PTB's bookkeeping is at work) through the real app's Telegram webhook, in
process, against the fake Bot API, then prints the bytes PTB holds for them:

- the two "to be updated" id sets: all PTB 22.8 keeps without a persistence, for good (they
  are only ever emptied by a persistence run), so they grow with every new chat;
- everything per chat and per user (those sets, the "to be deleted" ones, and the empty
  `chat_data`/`user_data` entries PTB makes when a persistence is set), between two runs;
- the same after `update_persistence`, the run PTB makes every minute with `KeepNothing`.
  Python dicts keep their grown capacity, so a few hundred KB of empty slots stay: bounded by
  the busiest minute, not growing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.settings import load_settings
from messenger_bot.wiring import create_app
from tests.fakes.telegram_api import FakeTelegram, text_update

SECRET = "bench-secret"
NAMES = [f"_{kind}_ids_to_be_{what}_in_persistence"
         for what in ("updated", "deleted") for kind in ("chat", "user")]


def held(ptb: Any) -> tuple[int, int]:
    """(entries, bytes) of PTB's per-chat and per-user bookkeeping, containers and keys."""
    entries = size = 0
    for container in [*(getattr(ptb, n) for n in NAMES), ptb._chat_data, ptb._user_data]:
        size += sys.getsizeof(container)
        for key in container:
            entries += 1
            size += sys.getsizeof(key)
            if isinstance(container, dict):
                size += sys.getsizeof(container[key])
    return entries, size


async def run(chats: int) -> None:
    with FakeTelegram() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            database_url=f"sqlite:///{tmp}/bench.sqlite3", telegram_bot_token=fake.token,
            telegram_base_url=fake.base_url, telegram_webhook_url="https://bot.example.org/telegram/webhook",
            telegram_webhook_secret=SECRET, log_level="WARNING",
        )
        app = create_app(settings, scheduler=False)
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bot.test") as client,
        ):
            ptb = app.state.channels["telegram"].app
            started = time.perf_counter()
            for n in range(chats):
                update = text_update(n + 1, -(10**12 + n), "my lip twitches", from_id=10**9 + n)
                response = await client.post("/telegram/webhook", json=update, headers=headers)
                assert response.status_code == 200, response.text
            fed = time.perf_counter() - started
            sets = sum(sys.getsizeof(getattr(ptb, n)) + sum(sys.getsizeof(i) for i in getattr(ptb, n))
                       for n in NAMES[:2])
            entries, size = held(ptb)
            await ptb.update_persistence()
            await ptb.update_persistence()
            left, left_size = held(ptb)
    print(f"{chats:,} distinct chats fed in {fed:.1f} s")
    print(f"the id sets PTB keeps for good without a persistence: {sets:,} bytes = "
          f"{sets / chats:.0f} bytes a chat")
    print(f"all per-chat bookkeeping between two runs: {entries:,} entries, {size:,} bytes = "
          f"{size / chats:.0f} bytes a chat")
    print(f"after PTB's periodic run with KeepNothing: {left:,} entries, {left_size:,} bytes")
    print(f"command: .venv/bin/python bench/telegram_memory.py --chats {chats}")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--chats", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().chats))


if __name__ == "__main__":
    main()
