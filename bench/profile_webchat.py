"""Where a web chat request's CPU goes: the app called as ASGI in this process, no sockets.

The network benches (bench/webchat.py, bench/whatsapp_webhook.py) give the rates a client
sees, but on a shared machine they move from run to run; this one gives CPU time per
request of the app itself (middleware, routing, handler, engine, SQLite), which moves
far less, and with --profile where it goes (cProfile, sorted by own time).

Beside `/api/chat` it times the bare endpoint of bench/webchat.py (parse the JSON,
answer) and a bare endpoint that also does one SQLite write per request (an upsert of
one small row, as a turn must store its state before it answers): what a turn costs
at the least, through the same middleware.

    .venv/bin/python bench/profile_webchat.py [--requests 2000] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from webchat import MESSAGES, USERS  # noqa: E402  (bench/ is the script's own folder on sys.path)

App = Callable[..., Any]
UPSERT = "INSERT INTO seen VALUES (?, 1, ?) ON CONFLICT (user) DO UPDATE SET n = n + 1, at = excluded.at"


def bodies() -> Iterator[bytes]:
    """The web chat bench's load: its messages in turn, from USERS browser keys."""
    for n, message in enumerate(itertools.cycle(MESSAGES)):
        yield json.dumps({"user": f"bench-user-{n % USERS:05d}", **message}).encode()


async def call(app: App, path: str, body: bytes) -> int:
    """One POST through the whole ASGI app, as uvicorn hands it over; the status it answered."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
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


def add_bare_routes(app: Any, database: Path) -> None:
    """The bare endpoint of bench/webchat.py, and one that also writes a row to SQLite."""
    import sqlite3

    from starlette.requests import Request
    from starlette.responses import JSONResponse

    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS seen (user TEXT PRIMARY KEY, n INTEGER, at REAL)")

    async def bare(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        return JSONResponse({"replies": [], "user": data.get("user")})

    async def bare_write(request: Request) -> JSONResponse:
        data = json.loads(await request.body())
        db.execute(UPSERT, (data.get("user"), time.time()))
        return JSONResponse({"replies": [], "user": data.get("user")})

    app.add_route("/bench/bare", bare, methods=["POST"])
    app.add_route("/bench/bare-write", bare_write, methods=["POST"])


async def measure(app: App, path: str, count: int, profile: cProfile.Profile | None) -> float:
    """CPU seconds per request for `count` requests, one at a time; every answer must be 200."""
    feed = bodies()
    if profile is not None:
        profile.enable()
    started = time.process_time()
    for _ in range(count):
        status = await call(app, path, next(feed))
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
    spent = time.process_time() - started
    if profile is not None:
        profile.disable()
    return spent / count


async def run(args: argparse.Namespace, tmp: Path) -> None:
    from messenger_bot import logs
    from messenger_bot.settings import load_settings
    from messenger_bot.wiring import create_app

    logs.configure("WARNING")
    database = f"sqlite:///{tmp}/bench.sqlite3"
    settings = load_settings(database_url=database, webchat_rate=1e9, webchat_ip_rate=1e9)
    app = create_app(settings, scheduler=False)
    add_bare_routes(app, tmp / "bare.sqlite3")
    paths = {"bare": "/bench/bare", "bare+write": "/bench/bare-write", "chat": "/api/chat"}
    costs: dict[str, list[float]] = {name: [] for name in paths}
    profile = cProfile.Profile() if args.profile else None
    async with app.router.lifespan_context(app):
        for path in paths.values():
            await measure(app, path, min(args.requests, 500), None)  # warm up: caches, new users' rows
        for _ in range(args.rounds):
            for name, path in paths.items():
                watched = profile if name == "chat" else None
                costs[name].append(await measure(app, path, args.requests, watched))
    median = {name: statistics.median(values) for name, values in costs.items()}
    for name, values in costs.items():
        rounds = ", ".join(f"{1e3 * v:.3f}" for v in values)
        print(f"{name:11} {1e3 * median[name]:.3f} ms of CPU per request (rounds {rounds})")
    for name in ("bare", "bare+write"):
        print(f"rate ratio a CPU-bound server would show, chat / {name}: {median[name] / median['chat']:.2f}")
    flags = f"--requests {args.requests} --rounds {args.rounds}" + (" --profile" if args.profile else "")
    print(f"reproduce: .venv/bin/python bench/profile_webchat.py {flags}")
    if profile is not None:
        print("\nchat requests, by own time:")
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the chat requests")
    parser.add_argument("--top", type=int, default=40, help="functions listed with --profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        uvloop.run(run(args, Path(tmp)))  # serve's loop (uvicorn picks uvloop), not asyncio's


if __name__ == "__main__":
    main()
