"""Where a Telegram webhook update's CPU goes: the app called as ASGI in this process, no sockets in.

bench/telegram_webhook.py gives the rates a client sees, next to the PTB echo bot, but on a
shared machine those move from run to run; this one gives the CPU time per update of the app
itself (middleware, secret, update log, PTB, engine, SQLite, the reply's call to the Bot API),
which moves far less, and with --profile where it goes (cProfile). The fake Bot API runs in its
own process (as in bench/telegram_webhook.py), so its CPU is not counted here.

Each update is a typed question from a new chat, as in bench/telegram_webhook.py; with --answer
the server runs with TELEGRAM_WEBHOOK_ANSWER on.

    .venv/bin/python bench/profile_telegram.py [--requests 1000] [--rounds 3] [--answer] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram_webhook import SECRET, WEBHOOK, update  # noqa: E402  (bench/ is on sys.path)

App = Callable[..., Any]


async def call(app: App, body: bytes) -> int:
    """One POST of an update through the whole ASGI app, as uvicorn hands it over; its status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": WEBHOOK, "raw_path": WEBHOOK.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-telegram-bot-api-secret-token", SECRET.encode())],
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(app: App, first_id: int, count: int, profile: cProfile.Profile | None) -> float:
    """CPU seconds per update for `count` updates, one at a time; every answer must be 200."""
    bodies = [json.dumps(update(first_id + i)).encode() for i in range(count)]
    if profile is not None:
        profile.enable()
    started = time.process_time()
    for body in bodies:
        status = await call(app, body)
        if status != 200:
            raise SystemExit(f"the webhook answered {status}")
    spent = time.process_time() - started
    if profile is not None:
        profile.disable()
    return spent / count


async def run(args: argparse.Namespace, base_url: str, tmp: Path) -> None:
    from messenger_bot import logs
    from messenger_bot.settings import load_settings
    from messenger_bot.wiring import create_app

    logs.configure("WARNING")
    settings = load_settings(
        database_url=f"sqlite:///{tmp}/bench.sqlite3", telegram_bot_token="123456:TEST-token",
        telegram_base_url=base_url, telegram_webhook_url="https://bench.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET, telegram_mps=100000, telegram_webhook_answer=args.answer,
    )
    app = create_app(settings, scheduler=False)
    profile = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall time
    costs: list[float] = []
    async with app.router.lifespan_context(app):
        await _started(app)
        next_id = 1
        await measure(app, next_id, min(args.requests, 300), None)  # warm up
        next_id += args.requests
        for _ in range(args.rounds):
            costs.append(await measure(app, next_id, args.requests, profile))
            next_id += args.requests
    rounds = ", ".join(f"{1e3 * c:.3f}" for c in costs)
    print(f"telegram webhook{' (answer)' if args.answer else ''}: {1e3 * statistics.median(costs):.3f} ms "
          f"of CPU per update (rounds {rounds})")
    flags = f"--requests {args.requests} --rounds {args.rounds}" + (" --answer" if args.answer else "")
    flags += " --profile" if profile else ""
    print(f"reproduce: .venv/bin/python bench/profile_telegram.py {flags}")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


async def _started(app: App, timeout: float = 30.0) -> None:
    """Until the channel has started (the app starts it in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await call(app, json.dumps(update(0)).encode()) == 200:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the Telegram channel did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--answer", action="store_true", help="TELEGRAM_WEBHOOK_ANSWER on")
    parser.add_argument("--profile", action="store_true", help="cProfile the updates")
    parser.add_argument("--top", type=int, default=45, help="functions listed with --profile")
    args = parser.parse_args()
    script = str(ROOT / "bench" / "telegram_webhook.py")
    fake = subprocess.Popen([sys.executable, script, "--fake"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args, fake.stdout.readline().strip(), Path(tmp)))
    finally:
        fake.communicate("")


if __name__ == "__main__":
    main()
