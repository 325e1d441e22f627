"""Web chat endpoint vs a bare Starlette endpoint on the same server, in the same run.

One uvicorn server (a subprocess, so the load generator does not share its CPU) serves
the real app, and beside it `POST /bench/bare`, which only parses the same JSON body
and answers. The same load (pre-built requests on keep-alive sockets) hits each in turn;
the figures are requests per second and their ratio (issue 3's target: the chat keeps at
least half the bare rate; issue 14's: 0.6). bench/profile_webchat.py shows where the CPU
of a request goes, in-process, next to a bare endpoint that also writes one SQLite row.

The chat requests come from many browser keys, and the server runs with the flood
limits raised (WEBCHAT_RATE, WEBCHAT_IP_RATE), since all load comes from one address.

    .venv/bin/python bench/webchat.py [--seconds 5] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import cpu_seconds, raw_load, raw_post, wait_healthy  # bench/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [
    {"text": "can coffee cause it?"},
    {"button": "causes"},
    {"text": "menu"},
    {"button": "caffeine"},
    {"text": "does stress make my lip twitch?"},
    {"button": "home-remedies"},
]
USERS = 2000


def run_server(port: int, database_url: str) -> None:
    """The server side: the real app plus the bare endpoint, on one uvicorn."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from messenger_bot import logs
    from messenger_bot.settings import load_settings
    from messenger_bot.wiring import create_app

    async def bare(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        return JSONResponse({"replies": [], "user": data.get("user")})

    logs.configure("WARNING")
    settings = load_settings(database_url=database_url, webchat_rate=1e9, webchat_ip_rate=1e9)
    app = create_app(settings, scheduler=False)
    app.add_route("/bench/bare", bare, methods=["POST"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")


def requests_for(path: str, seconds: float) -> list[bytes]:
    """More raw posts than a run of `seconds` can use, each from one of USERS browsers."""
    bodies = itertools.cycle(
        json.dumps({"user": f"bench-user-{n % USERS:05d}", **message}).encode()
        for n, message in enumerate(itertools.islice(itertools.cycle(MESSAGES), USERS * len(MESSAGES)))
    )
    headers = {"Content-Type": "application/json"}
    return [raw_post(path, next(bodies), headers) for _ in range(int(seconds * 6000))]


def measure(port: int, server_pid: int, args: argparse.Namespace) -> None:
    """Rates, and the server's CPU per request, which a busy machine or a slow client skews less."""
    rates: dict[str, list[float]] = {"bare": [], "chat": []}
    costs: dict[str, list[float]] = {"bare": [], "chat": []}
    paths = {"bare": "/bench/bare", "chat": "/api/chat"}
    for path in paths.values():
        asyncio.run(raw_load(port, requests_for(path, 1.0), 1.0, args.concurrency))  # warm up
    for round_no in range(1, args.rounds + 1):
        # Alternate the order, so a machine that speeds up or slows down favours neither.
        order = list(paths.items()) if round_no % 2 else list(paths.items())[::-1]
        for name, path in order:
            requests = requests_for(path, args.seconds)
            cpu_before = cpu_seconds(server_pid)
            rate, ok, errors = asyncio.run(raw_load(port, requests, args.seconds, args.concurrency))
            done = ok + errors
            rates[name].append(rate)
            cpu_after = cpu_seconds(server_pid)
            cost = ""
            if cpu_before is not None and cpu_after is not None and done:
                costs[name].append(1000 * (cpu_after - cpu_before) / done)
                cost = f", server CPU {costs[name][-1]:.2f} ms/request"
            print(f"round {round_no}  {name:4}  {rate:8.0f} req/s  ({done} requests{cost})")
            if errors:
                raise SystemExit(f"{name}: {errors} requests were not 200; the figures would mean nothing")
    bare, chat = statistics.median(rates["bare"]), statistics.median(rates["chat"])
    print(f"\nbare Starlette endpoint : {bare:8.0f} req/s (median of {args.rounds})")
    print(f"web chat  /api/chat     : {chat:8.0f} req/s (median of {args.rounds})")
    print(f"ratio chat / bare       : {chat / bare:8.2f}   (targets: >= 0.50 DESIGN.md, >= 0.60 issue 14)")
    if costs["bare"] and costs["chat"]:
        bare_cost, chat_cost = statistics.median(costs["bare"]), statistics.median(costs["chat"])
        print(
            f"server CPU per request  : bare {bare_cost:.2f} ms, chat {chat_cost:.2f} ms;"
            f" bare / chat = {bare_cost / chat_cost:.2f} (the rate ratio a CPU-bound server would show)"
        )
    print(
        f"\nload: {args.concurrency} keep-alive sockets of pre-built requests, {args.seconds:g} s per run,"
        f" {USERS} browser keys, one uvicorn worker, SQLite; {os.cpu_count()} CPUs"
    )
    print(
        f"reproduce: .venv/bin/python bench/webchat.py --seconds {args.seconds:g}"
        f" --concurrency {args.concurrency} --rounds {args.rounds}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(int(args.serve[0]), args.serve[1])
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.server import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), f"sqlite:///{tmp}/bench.sqlite3"], cwd=ROOT
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc)
            measure(port, proc.pid, args)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
