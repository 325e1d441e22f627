"""Engine benchmark: CPU per turn for taps and for typed questions apart, and a whole turn.

    .venv/bin/python bench/engine.py [--turns 5000] [--seed 14]

Typed questions are fresh: the questions of the development sets (tests/eval/*.tsv, typed
questions and red-flag lines alike), each turn one of them with a typo or two of its own
(a letter dropped, doubled or swapped), never the same string twice, so no cache of the
matcher's answers for a word or a message sees it before. Printed, in the same run:
  * taps     - a tapped button, no database;
  * typed    - triage + FAQ + reply building for a fresh typed question, no database;
  * turn     - a whole engine.turn() on a real SQLite file (load + decide + save), half taps;
  * baseline - the same load + save of user state with no deciding, so the ratio
               turn/baseline shows what the engine adds on top of storage.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.conversation import Incoming
from messenger_bot.engine import Engine
from messenger_bot.storage import SQLiteStorage
from messenger_bot.wiring import load_content

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
EVAL = ROOT / "tests" / "eval"
TAPS = ["menu", "causes", "common-causes", "caffeine", "dehydration", "home-remedies", "emergency"]


def questions() -> list[str]:
    """The messages of every development set (second column), in file order."""
    found = []
    for path in sorted(EVAL.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and "\t" in line:
                found.append(line.split("\t", 1)[1].strip())
    return found


def typo(text: str, rng: random.Random) -> str:
    """One or two slips of the thumb in words of four letters or more."""
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        long = [i for i, w in enumerate(words) if len(w) >= 4]
        if not long:
            break
        i = rng.choice(long)
        word, at = words[i], rng.randrange(1, len(words[i]) - 1)
        slip = rng.choice(("drop", "double", "swap"))
        if slip == "drop":
            words[i] = word[:at] + word[at + 1:]
        elif slip == "double":
            words[i] = word[:at] + word[at] + word[at:]
        else:
            words[i] = word[:at - 1] + word[at] + word[at - 1] + word[at + 1:]
    return " ".join(words)


def fresh_questions(n: int, seed: int) -> list[str]:
    """`n` typed questions, no two the same."""
    rng, pool, seen = random.Random(seed), questions(), set()
    out: list[str] = []
    while len(out) < n:
        text = typo(rng.choice(pool), rng)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def workload(n: int, typed: list[str]) -> list[Incoming]:
    """Half taps, half fresh typed questions, from 200 users."""
    items = []
    for i in range(n):
        user = f"u{i % 200}"
        if i % 2:
            items.append(Incoming("console", user, button=TAPS[i % len(TAPS)]))
        else:
            items.append(Incoming("console", user, text=typed[i // 2]))
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


async def main(turns: int, seed: int) -> None:
    content = load_content(FLOWS)
    typed = fresh_questions(turns * 2 + 200, seed)  # the mixed workload's half, then the typed run's own
    items = workload(turns, typed)
    own = typed[turns // 2 + 100:]
    tap_items = [Incoming("console", f"u{i % 200}", button=TAPS[i % len(TAPS)]) for i in range(turns)]
    typed_items = [Incoming("console", f"u{i % 200}", text=own[i]) for i in range(turns)]
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStorage(Path(tmp) / "bench.sqlite3")
        await store.open()
        engine = Engine(content, store)
        bare = Engine(content, NullStore())  # type: ignore[arg-type]
        for item in items[:200]:  # warm caches and create the users
            await engine.turn(item)
            await bare.turn(item)

        async def taps(i: int) -> None:
            await bare.turn(tap_items[i])

        async def questions(i: int) -> None:
            await bare.turn(typed_items[i])

        async def turn(i: int) -> None:
            await engine.turn(items[i])

        async def baseline(i: int) -> None:
            item = items[i]
            state = await store.load_user(item.channel, item.user_key)
            await store.save_user(state)  # type: ignore[arg-type]

        _, tap_cpu = await measure("taps", turns, taps)
        _, typed_cpu = await measure("typed", turns, questions)
        turn_rate, _ = await measure("turn", turns, turn)
        base_rate, _ = await measure("baseline", turns, baseline)
        await store.close()
    print(f"\nengine CPU per turn without storage: taps {tap_cpu * 1e6:.1f} µs, fresh typed questions"
          f" {typed_cpu * 1e6:.1f} µs (target: well under 1000 µs)")
    print(f"whole turn vs storage-only baseline: {turn_rate / base_rate:.2f}x the baseline rate")
    print(f"reproduce: .venv/bin/python bench/engine.py --turns {turns} --seed {seed}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=14)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns, arguments.seed))
