"""Telegram webhook throughput against a bare endpoint on the same server, in the same run.

    .venv/bin/python bench/telegram_webhook.py [--requests 2000] [--concurrency 40] [--rounds 3]

The server is the real app (create_app, SQLite, content, engine, PTB) in its own
process, with one extra route, POST /bench/bare, that only parses the same JSON.
Each webhook update is a typed question from a new chat, so the full path runs:
secret check, update log insert, engine turn (FAQ match, user saved), rendering, and
the reply sent to a fake Bot API server (its own process) before the 200.
TELEGRAM_MPS is raised for the run: Telegram's ~30 messages/s is the provider's limit,
not our code's cost, and the per-chat pace never applies (every chat is new).
The target (DESIGN.md): the webhook keeps at least half the bare rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import TELEGRAM_SECRET_HEADER, raw_load, raw_post  # noqa: E402  (bench/ is on sys.path)

SECRET = "bench-secret"
QUESTIONS = [
    "can coffee make my lip twitch?", "why is my lip twitching", "is it serious?", "what helps at home",
]


def run_fake() -> None:
    """Child process: the fake Bot API, until stdin closes."""
    from tests.fakes.telegram_api import FakeTelegram

    with FakeTelegram() as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()


def run_server(port: int) -> None:
    """Child process: the app with one bare route added, on uvicorn as `serve` runs it."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from messenger_bot.settings import load_settings
    from messenger_bot.web.app import create_app

    async def bare(request: Request) -> Response:
        json.loads(await request.body())
        return Response(status_code=200)

    app = create_app(load_settings(), scheduler=False)
    app.router.routes.insert(0, Route("/bench/bare", bare, methods=["POST"]))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    uvicorn.Server(config).run()


def update(update_id: int) -> dict[str, object]:
    chat = 10_000_000 + update_id
    text = QUESTIONS[update_id % len(QUESTIONS)]
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1, "date": int(time.time()), "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "Bench"},
            "from": {"id": chat, "is_bot": False, "first_name": "Bench"},
        },
    }


def requests_for(path: str, first_id: int, count: int) -> list[bytes]:
    headers = {"Content-Type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}
    return [raw_post(path, json.dumps(update(first_id + i)).encode(), headers) for i in range(count)]


async def measure(port: int, path: str, first_id: int, count: int, concurrency: int) -> float:
    """Requests per second for `count` posts with `concurrency` in flight; every answer must be 200."""
    rate, _, other = await raw_load(port, requests_for(path, first_id, count), 600, concurrency)
    if other:
        raise SystemExit(f"{path}: {other} answers were not 200")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=40, help="Telegram's max_connections default")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_fake()
        return 0
    if args.serve:
        run_server(args.serve)
        return 0

    from tests.support.server import free_port

    script = str(Path(__file__).resolve())
    fake = subprocess.Popen(
        [sys.executable, script, "--fake"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    base_url = fake.stdout.readline().strip()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
        env.update(
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3", TELEGRAM_BOT_TOKEN="123456:TEST-token",
            TELEGRAM_BASE_URL=base_url, TELEGRAM_WEBHOOK_URL="https://bench.example.org/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_MPS="100000", LOG_LEVEL="WARNING",
        )
        server = subprocess.Popen([sys.executable, script, "--serve", str(port)], env=env)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz")
            rates = asyncio.run(_rounds(port, args))
        finally:
            server.terminate()
            server.wait(30)
            fake.communicate("")
    bare, webhook = statistics.median(rates["bare"]), statistics.median(rates["webhook"])
    print(f"command: {sys.executable} bench/telegram_webhook.py --requests {args.requests} "
          f"--concurrency {args.concurrency} --rounds {args.rounds}")
    print(f"bare endpoint (parse JSON only):   {bare:8.0f} requests/s  rounds {_fmt(rates['bare'])}")
    print(f"telegram webhook (full, replies):  {webhook:8.0f} updates/s   rounds {_fmt(rates['webhook'])}")
    print(f"ratio webhook/bare: {webhook / bare:.2f} (target >= 0.50)")
    return 0


async def _rounds(port: int, args: argparse.Namespace) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {"bare": [], "webhook": []}
    next_id = 1
    await measure(port, "/bench/bare", next_id, 200, args.concurrency)  # warm-up
    await measure(port, "/telegram/webhook", next_id, 200, args.concurrency)
    next_id += 200
    for _ in range(args.rounds):
        for name, path in (("bare", "/bench/bare"), ("webhook", "/telegram/webhook")):
            rates[name].append(await measure(port, path, next_id, args.requests, args.concurrency))
        next_id += args.requests
    return rates


def _wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become healthy")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
