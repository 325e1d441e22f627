"""Engine benchmark: turns per second and CPU per turn, for a mix of taps and typed questions.

    .venv/bin/python bench/engine.py [--turns 5000]

Prints three figures measured in the same run:
  * decide   - triage + FAQ + reply building with no database (the engine's own CPU);
  * turn     - a whole engine.turn() on a real SQLite file (load + decide + save);
  * baseline - the same load + save of user state with no deciding, so the ratio
               turn/baseline shows what the engine adds on top of storage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.content import load_content
from messenger_bot.conversation import Incoming
from messenger_bot.engine import Engine
from messenger_bot.storage import SQLiteStorage

FLOWS = Path(__file__).resolve().parents[1] / "flows"
TYPED = [
    "why is my lip twitching", "can too much coffee cause this", "am I low on potassium",
    "is it serious", "what can I try at home", "does anxiety cause twitching", "caffiene",
    "should I see a doctor", "my face is drooping and I cant talk", "no headache, just a twitch",
    "what are electrolytes", "how do doctors treat it", "remind me to drink water", "2", "back",
]
TAPS = ["menu", "causes", "common-causes", "caffeine", "dehydration", "home-remedies", "emergency"]


def workload(n: int) -> list[Incoming]:
    items = []
    for i in range(n):
        user = f"u{i % 200}"
        if i % 2:
            items.append(Incoming("console", user, button=TAPS[i % len(TAPS)]))
        else:
            items.append(Incoming("console", user, text=TYPED[i % len(TYPED)]))
    return items


async def measure(label: str, n: int, step) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        await step(i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rate, cpu_us, wall_us = n / wall, cpu / n * 1e6, wall / n * 1e6
    print(f"{label:<9} {rate:>9,.0f} turns/s   {cpu_us:>8.1f} µs CPU/turn   {wall_us:>8.1f} µs wall/turn")
    return n / wall, cpu / n


class NullStore:
    """No database: isolates the engine's own work."""

    backend = "null"

    async def load_user(self, channel, key):  # type: ignore[no-untyped-def]
        return None

    async def save_user(self, state) -> None:  # type: ignore[no-untyped-def]
        return None


async def main(turns: int) -> None:
    content = load_content(FLOWS)
    items = workload(turns)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStorage(Path(tmp) / "bench.sqlite3")
        await store.open()
        engine = Engine(content, store)
        bare = Engine(content, NullStore())  # type: ignore[arg-type]
        for item in items[:200]:  # warm caches and create the users
            await engine.turn(item)
            await bare.turn(item)

        async def decide(i: int) -> None:
            await bare.turn(items[i])

        async def turn(i: int) -> None:
            await engine.turn(items[i])

        async def baseline(i: int) -> None:
            item = items[i]
            state = await store.load_user(item.channel, item.user_key)
            await store.save_user(state)  # type: ignore[arg-type]

        _, decide_cpu = await measure("decide", turns, decide)
        turn_rate, _ = await measure("turn", turns, turn)
        base_rate, _ = await measure("baseline", turns, baseline)
        await store.close()
    print(f"\nengine CPU per turn without storage: {decide_cpu * 1e6:.1f} µs (target: well under 1000 µs)")
    print(f"whole turn vs storage-only baseline: {turn_rate / base_rate:.2f}x the baseline rate")
    print(f"reproduce: .venv/bin/python bench/engine.py --turns {turns}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5000)
    asyncio.run(main(parser.parse_args().turns))
