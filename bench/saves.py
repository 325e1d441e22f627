"""A turn's save on SQLite: CPU per save, one turn at a time and eight at once, next to the same
rows saved one statement each (the base store's `save_user`, each its own commit) in the same run.

Concurrent turns' saves share one commit (storage/sqlite.py); this shows what that is worth,
and what a lone save pays for waiting one pass of the loop. It runs on uvloop, as `serve` does;
the two paths alternate, so a busy machine weighs on both alike.

    .venv/bin/python bench/saves.py [--rounds 5] [--saves 2400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from messenger_bot.storage.base import SQLStore, UserState  # noqa: E402
from messenger_bot.storage.sqlite import SQLiteStorage  # noqa: E402

USERS = 2000


async def per_save(store: SQLiteStorage, alone: bool, width: int, saves: int) -> float:
    """CPU seconds per save, `width` turns saving at once; `alone`: each its own commit."""
    now = datetime.now(UTC)
    users = [UserState("web", f"bench-user-{i:05d}", now, now, last_menu=["causes", "menu"],
                       history=["root", "causes"], language="en") for i in range(USERS)]

    async def save(user: UserState) -> None:
        await (SQLStore.save_user(store, user) if alone else store.save_user(user))

    started = time.process_time()
    for n in range(saves // width):
        await asyncio.gather(*(save(users[(n * width + k) % USERS]) for k in range(width)))
    return (time.process_time() - started) / saves


async def run(args: argparse.Namespace, tmp: Path) -> None:
    store = SQLiteStorage(tmp / "bench.sqlite3")
    await store.open()
    try:
        await per_save(store, True, 1, USERS)  # every user's row exists, as for returning users
        for width in (1, 8):
            alone, shared = [], []
            for _ in range(args.rounds):
                alone.append(await per_save(store, True, width, args.saves))
                shared.append(await per_save(store, False, width, args.saves))
            a, s = statistics.median(alone), statistics.median(shared)
            print(f"{width} at once: {1e6 * s:6.1f} us of CPU per save, each its own commit"
                  f" {1e6 * a:6.1f} us;"
                  f" ratio {s / a:.2f}")
    finally:
        await store.close()
    print(f"reproduce: .venv/bin/python bench/saves.py --rounds {args.rounds} --saves {args.saves}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--saves", type=int, default=2400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        uvloop.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
