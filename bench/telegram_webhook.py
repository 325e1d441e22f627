"""Telegram webhook throughput and CPU per update, next to a bare endpoint and a plain PTB echo bot.

    .venv/bin/python bench/telegram_webhook.py [--requests 1000] [--concurrency 40] [--rounds 3]

The server is the real app (create_app, SQLite, content, engine, PTB) in its own
process, with one extra route, POST /bench/bare, that only parses the same JSON.
Each webhook update is a typed question from a new chat, so the full path runs:
secret check, update log insert, engine turn (FAQ match, user saved), rendering, and
the reply sent to a fake Bot API server (its own process) before the 200.
TELEGRAM_MPS is raised for the run: Telegram's ~30 messages/s is the provider's limit,
not our code's cost, and the per-chat pace never applies (every chat is new).
The peer, in its own process on the same fake: `bench/ptb_echo.py`, python-telegram-bot's
plain echo bot by webhook (PTB's defaults). Rounds alternate bare, webhook, echo; CPU per
update is the server process's user + system time over the updates it answered.
A second server runs with TELEGRAM_WEBHOOK_ANSWER=true (a one-message reply goes back in
the webhook's HTTP answer). Targets: the webhook keeps at least half the bare rate
(the README's target), and at least twice the echo bot's (issue 14).
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

from _common import (  # noqa: E402  (bench/ is on sys.path)
    TELEGRAM_SECRET_HEADER,
    cpu_seconds,
    raw_load,
    raw_post,
)

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
    from messenger_bot.wiring import create_app

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


async def measure(port: int, path: str, first_id: int, count: int, concurrency: int,
                  pid: int | None = None) -> tuple[float, float]:
    """(requests per second, CPU seconds per request of process `pid`) for `count` posts with
    `concurrency` in flight; every answer must be 200."""
    cpu_before = cpu_seconds(pid) if pid else None
    rate, _, other = await raw_load(port, requests_for(path, first_id, count), 600, concurrency)
    if other:
        raise SystemExit(f"{path}: {other} answers were not 200")
    cpu_after = cpu_seconds(pid) if pid else None
    known = cpu_before is not None and cpu_after is not None
    cpu = (cpu_after - cpu_before) / count if known else float("nan")  # type: ignore[operator]
    return rate, cpu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
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
        answer_port = free_port()
        answering = subprocess.Popen([sys.executable, script, "--serve", str(answer_port)],
                                     env={**env, "TELEGRAM_WEBHOOK_ANSWER": "true",
                                          "DATABASE_URL": f"sqlite:///{tmp}/answer.sqlite3"})
        echo_port = free_port()
        peer = [sys.executable, str(ROOT / "bench" / "ptb_echo.py"), str(echo_port)]
        echo = subprocess.Popen(peer, env=env)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz")
            _wait_healthy(f"http://127.0.0.1:{echo_port}/healthz")
            _wait_healthy(f"http://127.0.0.1:{answer_port}/healthz")
            targets = {
                "bare": (port, "/bench/bare", server.pid), "webhook": (port, WEBHOOK, server.pid),
                "answer": (answer_port, WEBHOOK, answering.pid), "echo": (echo_port, WEBHOOK, echo.pid),
            }
            figures = asyncio.run(_rounds(targets, args))
        finally:
            for child in (server, answering, echo):
                child.terminate()
                child.wait(30)
            fake.communicate("")
    _report(figures, args)
    return 0


WEBHOOK = "/telegram/webhook"
NAMES = {"bare": "bare endpoint (parse JSON only)", "webhook": "telegram webhook (full, replies)",
         "answer": "  the same, reply in the HTTP answer", "echo": "plain PTB echo bot (peer)"}


def _report(figures: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    rate = {name: statistics.median(r for r, _ in runs) for name, runs in figures.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in figures.items()}
    print(f"command: .venv/bin/python bench/telegram_webhook.py --requests {args.requests} "
          f"--concurrency {args.concurrency} --rounds {args.rounds}")
    for name, runs in figures.items():
        rounds = ", ".join(f"{r:.0f}" for r, _ in runs)
        print(f"{NAMES[name]:34} {rate[name]:7.0f}/s  CPU {cpu[name] * 1000:5.2f} ms per request"
              f"  (rounds {rounds})")
    print(f"ratio webhook/bare: {rate['webhook'] / rate['bare']:.2f} (target >= 0.50);"
          f" webhook/echo bot: {rate['webhook'] / rate['echo']:.2f} (target >= 2);"
          f" CPU per update webhook/echo bot: {cpu['webhook'] / cpu['echo']:.2f};"
          f" with TELEGRAM_WEBHOOK_ANSWER: {rate['answer'] / rate['echo']:.2f}"
          f" and {cpu['answer'] / cpu['echo']:.2f}")


async def _rounds(
    targets: dict[str, tuple[int, str, int]], args: argparse.Namespace
) -> dict[str, list[tuple[float, float]]]:
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    next_id = 1
    for port, path, _ in targets.values():  # warm-up
        await measure(port, path, next_id, 200, args.concurrency)
        next_id += 200
    for _ in range(args.rounds):
        for name, (port, path, pid) in targets.items():
            figures[name].append(await measure(port, path, next_id, args.requests, args.concurrency, pid))
            next_id += args.requests
    return figures


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


if __name__ == "__main__":
    raise SystemExit(main())
