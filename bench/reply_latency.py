"""Reply latency on Telegram with reminders going out, next to none, at the production limit.

    .venv/bin/python bench/reply_latency.py [--people 10] [--seconds 12] [--due 600]

One real `serve` (Telegram by webhook, the scheduler on, TELEGRAM_MPS at its default of 30)
against the fake Bot API in its own process. `--people` people write typed questions,
each waiting for the answer and then a little over a second (Telegram's per-chat pace)
before the next. A webhook request returns once its reply has been sent, so its latency
is what the person waits. First `--seconds` with no reminder due; then `--due` reminders
fall due at once and the same people write for as long again while they go out (600 take
about 21 s at 30/s). Printed: p50/p95/p99/max of both phases, their p99 ratio (target
<= 2), and how many reminders the fake took during the second phase.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import TELEGRAM_SECRET_HEADER, clean_env, percentile, wait_healthy
from load import QUESTIONS, REMINDER_CHATS, SPEC, Fakes, stop_serve

from tests.fakes.telegram_api import text_update
from tests.support.server import free_port

SECRET = "latency-webhook-secret"
PEOPLE_FROM = 100_000_000
#: A little over Telegram's one message a second per chat, so the per-chat pace never waits.
THINK = 1.1


def start_serve(folder: Path, port: int, fakes: Fakes) -> subprocess.Popen[bytes]:
    """serve at the production limits (TELEGRAM_MPS unset), quiet, in the temporary folder."""
    env = clean_env(
        database_url=f"sqlite:///{folder / 'latency.sqlite3'}", port=str(port), host="127.0.0.1",
        log_level="WARNING", telegram_bot_token=fakes.urls["token"],
        telegram_base_url=fakes.urls["telegram"],
        telegram_webhook_url="https://latency.example.org/telegram/webhook", telegram_webhook_secret=SECRET,
    )
    return subprocess.Popen([sys.executable, "-m", "messenger_bot", "serve"], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed_due(database: Path, count: int) -> None:
    now = time.time()
    rows = [("telegram", str(REMINDER_CHATS + i), "water", SPEC, "Etc/UTC", 1, now - 1, now, now)
            for i in range(count)]
    with sqlite3.connect(database, timeout=30) as con:
        con.executemany(
            "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active,"
            " next_due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
        )


async def people(base: str, count: int, seconds: float, ids: itertools.count[int]) -> list[float]:
    """Each person: a question, wait for the answer, think, again; latencies in seconds."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}

    async def person(chat: int, rng: random.Random) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            await asyncio.sleep(rng.uniform(0, THINK))
            while time.monotonic() < deadline:
                update = text_update(next(ids), chat, rng.choice(QUESTIONS))
                started = time.perf_counter()
                response = await client.post("/telegram/webhook", content=json.dumps(update), headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"webhook answered {response.status_code}: {response.text[:200]}")
                await asyncio.sleep(THINK)

    chats = [PEOPLE_FROM + next(ids) for _ in range(count)]
    await asyncio.gather(*(person(chat, random.Random(chat)) for chat in chats))
    return sorted(latencies)


def line(name: str, values: list[float]) -> str:
    cells = " ".join(f"{percentile(values, q) * 1000:7.1f}" for q in (50, 95, 99, 100))
    return f"{name:22} {len(values):6} {cells}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds of each phase (default 12)")
    parser.add_argument("--due", type=int, default=600, help="reminders due at once (default 600)")
    args = parser.parse_args()
    print(f"$ .venv/bin/python bench/reply_latency.py --people {args.people} --seconds {args.seconds:g}"
          f" --due {args.due}", flush=True)
    fakes = Fakes()
    ids = itertools.count(1)
    try:
        with tempfile.TemporaryDirectory(prefix="messenger-bot-latency-") as tmp:
            folder, port = Path(tmp), free_port()
            base = f"http://127.0.0.1:{port}"
            proc = start_serve(folder, port, fakes)
            try:
                wait_healthy(base, proc)
                asyncio.run(people(base, args.people, 2.0, ids))  # warm-up: imports, caches, connections
                idle = asyncio.run(people(base, args.people, args.seconds, ids))
                before = fakes.counts()["telegram_reminders"]
                seed_due(folder / "latency.sqlite3", args.due)
                while fakes.counts()["telegram_reminders"] == before:  # the scheduler's next tick (<= 5 s)
                    time.sleep(0.05)
                busy = asyncio.run(people(base, args.people, args.seconds, ids))
                during = fakes.counts()["telegram_reminders"] - before
            finally:
                stop_serve(proc)
    finally:
        fakes.stop()
    print(f"{'Telegram replies':22} {'count':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    print(line("no reminder due", idle))
    print(line(f"{args.due} reminders due", busy))
    ratio = percentile(busy, 99) / percentile(idle, 99)
    print(f"p99 with reminders due / p99 with none: {ratio:.2f} (target <= 2);"
          f" reminders the fake took meanwhile: {during} of {args.due}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
