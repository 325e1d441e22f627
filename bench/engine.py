"""Engine benchmark: CPU per turn for taps and for typed questions apart, and a whole turn.

    .venv/bin/python bench/engine.py [--turns 5000] [--seed 14] [--memory]
    .venv/bin/python bench/engine.py --long [--repeat 3]

Each figure is measured twice: with English alone (flows/ without its language folders), and
with three languages (flows/ with flows/es and flows/pt; where those are not there yet, copies
of the English folder stand in for them, each with its own triage, FAQ and small talk built).
`--memory` also starts `messenger-bot serve` on each and prints its resident memory.

Typed questions are fresh: the questions of the development sets (tests/eval/*.tsv, typed
questions and red-flag lines alike), each turn one of them with a typo or two of its own
(a letter dropped, doubled or swapped), never the same string twice, so no cache of the
matcher's answers for a word or a message sees it before. Printed, in the same run:
  * taps     - a tapped button, no database;
  * typed    - triage + FAQ + reply building for a fresh typed question, no database;
  * first    - the same for a user's first message (their language is told from it);
  * turn     - a whole engine.turn() on a real SQLite file (load + decide + save), half taps;
  * baseline - the same load + save of user state with no deciding, so the ratio
               turn/baseline shows what the engine adds on top of storage.

`--long` measures instead the CPU of one whole turn (no database) for a very long message,
three languages loaded: 4k, 16k and 50k characters of made-up words, of one language's real
words, and of real words ending in a red flag, for a new user (whose language is told from the
message) and a known one (who chose that language). Each is measured --repeat times with the
caches of the spellers and the FAQ emptied first (the worst case), after one untimed turn of
the same kind (so a phrase's regex compiled on first use is not counted), and printed beside a
typical typed question's whole turn from the same run, as a ratio. A red flag that does not
alert is printed as MISSED. The target: no turn over 5 ms of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messenger_bot.content import Content
from messenger_bot.content.languages import language_folders, start_language
from messenger_bot.conversation import ACTION_PREFIX, Incoming
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
    """No database: isolates the engine's own work. `forget`: every message is a first one."""

    backend = "null"

    def __init__(self, forget: bool = False) -> None:
        self.forget = forget
        self.users: dict[tuple[str, str], object] = {}

    async def load_user(self, channel, key):  # type: ignore[no-untyped-def]
        return None if self.forget else self.users.get((channel, key))

    async def save_user(self, state) -> None:  # type: ignore[no-untyped-def]
        self.users[(state.channel, state.user_key)] = state


def english_alone(tmp: Path) -> Path:
    """flows/ without its language folders."""
    target = tmp / "en"
    skip = {p.name for p in language_folders(FLOWS)}
    shutil.copytree(FLOWS, target, ignore=lambda d, names: skip if Path(d) == FLOWS else ())
    return target


def three_languages(tmp: Path) -> Path:
    """flows/ with es and pt: the real folders where they exist, else copies of English."""
    target = tmp / "three"
    shutil.copytree(FLOWS, target)
    for code in ("es", "pt"):
        if not (target / code).is_dir():
            start_language(target, code)
    return target


def serve_memory(content_dir: Path, tmp: Path) -> int:
    """Resident memory (kB) of `messenger-bot serve` on this content, once it answers /healthz."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env.update(CONTENT_DIR=str(content_dir), DATABASE_URL=f"sqlite:///{tmp / 'mem.sqlite3'}",
               PID_DIR=str(tmp / "run"), PORT=str(port), HOST="127.0.0.1")
    proc = subprocess.Popen([sys.executable, "-m", "messenger_bot", "serve", "--no-scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def main(turns: int, seed: int, memory: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, folder in (("English alone", english_alone(Path(tmp))),
                              ("three languages", three_languages(Path(tmp)))):
            content = load_content(folder)
            print(f"\n== {label}: {', '.join(content.languages) or content.code}")
            await run(content, turns, seed)
            if memory:
                print(f"serve resident memory: {serve_memory(folder, Path(tmp)) / 1024:.0f} MB")
    print(f"reproduce: .venv/bin/python bench/engine.py --turns {turns} --seed {seed}"
          f"{' --memory' if memory else ''}")


async def run(content: Content, turns: int, seed: int) -> None:
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
        newcomer = Engine(content, NullStore(forget=True))  # type: ignore[arg-type]
        for item in items[:200]:  # warm caches and create the users
            await engine.turn(item)
            await bare.turn(item)

        async def taps(i: int) -> None:
            await bare.turn(tap_items[i])

        async def questions(i: int) -> None:
            await bare.turn(typed_items[i])

        async def first(i: int) -> None:
            await newcomer.turn(typed_items[i])

        async def turn(i: int) -> None:
            await engine.turn(items[i])

        async def baseline(i: int) -> None:
            item = items[i]
            state = await store.load_user(item.channel, item.user_key)
            await store.save_user(state)  # type: ignore[arg-type]

        _, tap_cpu = await measure("taps", turns, taps)
        _, typed_cpu = await measure("typed", turns, questions)
        _, first_cpu = await measure("first", turns, first)
        turn_rate, _ = await measure("turn", turns, turn)
        base_rate, _ = await measure("baseline", turns, baseline)
        await store.close()
    print(f"engine CPU per turn without storage: taps {tap_cpu * 1e6:.1f} µs, fresh typed questions"
          f" {typed_cpu * 1e6:.1f} µs, a first message {first_cpu * 1e6:.1f} µs (target: well under 1000 µs)")
    print(f"whole turn vs storage-only baseline: {turn_rate / base_rate:.2f}x the baseline rate")


SIZES = (4_000, 16_000, 50_000)
#: Per language: an ordinary sentence about the subject, and a red flag to end a message with.
LONG_TEXTS = {
    "en": ("my lip twitches a bit when i drink coffee and i feel tired at work most days ",
           " my face is drooping"),
    "es": ("me tiembla el labio cuando tomo café y me siento cansada en el trabajo casi todos los días ",
           " tengo la cara caída de un lado"),
    "pt": ("meu lábio treme quando tomo café e fico cansado no trabalho quase todos os dias ",
           " o rosto da minha avó está caído de um lado"),
}


def made_up(size: int, rng: random.Random) -> str:
    """`size` characters of words nobody writes: every one new to every cache."""
    found, total = [], 0
    while total < size:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 11)))
        found.append(word)
        total += len(word) + 1
    return " ".join(found)[:size]


def long_cases(code: str, size: int, rng: random.Random) -> dict[str, Callable[[], str]]:
    """The kinds of long message, each built anew per turn (made-up words differ every time)."""
    sentence, flag = LONG_TEXTS[code]
    real = (sentence * (size // len(sentence) + 1))[:size]
    return {
        "made-up words": lambda: made_up(size, rng),
        "real words": lambda: real,
        "real + red flag": lambda: real[: size - len(flag)] + flag,
    }


def cold(engine: Engine) -> None:
    """Empty what the spellers and FAQ matchers remember of words seen before: the worst case."""
    for speech in engine.languages:
        speech.triage.speller._cache.clear()
        speech.faq._similar.clear()


async def cpu_ms(engine: Engine, incoming: Incoming) -> tuple[float, list[str]]:
    start = time.process_time_ns()
    replies = await engine.turn(incoming)
    return (time.process_time_ns() - start) / 1e6, [reply.kind for reply in replies]


async def typical_turns(newcomer: Engine, known: Engine, seed: int) -> dict[str, float]:
    """The baseline: a typical typed question's whole turn, new user and known user (median ms)."""
    texts = fresh_questions(1200, seed)
    for text in texts[:200]:
        await newcomer.turn(Incoming("console", "warm", text=text))
    medians = {}
    for label, engine, user in (("new user", newcomer, "fresh"), ("known user", known, "known-en")):
        times = sorted([(await cpu_ms(engine, Incoming("console", user, text=t)))[0] for t in texts[200:]])
        medians[label] = statistics.median(times)
        print(f"typical   {label:<10} {len(times)} turns: median {medians[label] * 1000:6.0f} µs, "
              f"p99 {times[int(len(times) * 0.99)] * 1000:6.0f} µs, max {times[-1] * 1000:6.0f} µs CPU")
    return medians


async def long_turns(repeat: int, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        content = load_content(three_languages(Path(tmp)))
    newcomer = Engine(content, NullStore(forget=True))  # type: ignore[arg-type]
    known = Engine(content, NullStore())  # type: ignore[arg-type]
    for code in LONG_TEXTS:
        await known.turn(Incoming("console", f"known-{code}", button=f"{ACTION_PREFIX}language:{code}"))
    print(f"== three languages: {', '.join(content.languages)}; CPU of one whole turn, no database")
    typical = await typical_turns(newcomer, known, seed)
    worst = 0.0
    for code in LONG_TEXTS:
        users = (("new user", newcomer, "fresh"), ("known user", known, f"known-{code}"))
        for size in SIZES:
            for kind, build in long_cases(code, size, rng).items():
                for label, engine, user in users:
                    times, alerted = await long_case(engine, user, build, repeat)
                    verdict = "alert" if alerted else ("MISSED" if "flag" in kind else "calm")
                    median, worst = statistics.median(times), max(worst, *times)
                    print(f"{code}  {size:>6,} chars  {kind:<16} {label:<10} median {median:6.2f} ms, "
                          f"worst {max(times):6.2f} ms CPU = {median / typical[label]:5.1f}x typical"
                          f"   {verdict}")
    print(f"worst turn: {worst:.2f} ms CPU (target: 5 ms)")
    print(f"reproduce: .venv/bin/python bench/engine.py --long --repeat {repeat} --seed {seed}")


async def long_case(
    engine: Engine, user: str, build: Callable[[], str], repeat: int
) -> tuple[list[float], bool]:
    """CPU (ms) of `repeat` cold turns of one kind of long message, and whether every one alerted."""
    await engine.turn(Incoming("console", user, text=build()))  # compiles the regexes it reaches
    times, alerted = [], True
    for _ in range(repeat):
        cold(engine)
        spent, kinds = await cpu_ms(engine, Incoming("console", user, text=build()))
        times.append(spent)
        alerted = alerted and "alert" in kinds
    return times, alerted


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--memory", action="store_true", help="also measure serve's resident memory")
    parser.add_argument("--long", action="store_true", help="whole turns of 4k-50k characters instead")
    parser.add_argument("--repeat", type=int, default=3, help="turns per long case (with --long)")
    arguments = parser.parse_args()
    if arguments.long:
        asyncio.run(long_turns(arguments.repeat, arguments.seed))
    else:
        asyncio.run(main(arguments.turns, arguments.seed, arguments.memory))
