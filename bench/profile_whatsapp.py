"""Where a WhatsApp webhook's CPU goes: the app called as ASGI in this process, no sockets.

The in-process twin of bench/whatsapp_webhook.py, as bench/profile_webchat.py is of
bench/webchat.py: CPU time per request of the app itself (middleware, routing, signature,
dedup, engine, SQLite, TwiML), which a shared machine moves far less than a rate, and with
--profile where it goes. Beside `/whatsapp/webhook` it times that bench's bare endpoint
(parse the form, check the signature, answer a fixed TwiML) and the same with one SQLite
write per request: what a turn that stores its state costs at the least.

    .venv/bin/python bench/profile_whatsapp.py [--requests 2000] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whatsapp_webhook import ACCOUNT, BODIES, TOKEN, USERS  # noqa: E402  (bench/ is on sys.path)

BASE = "http://bench.example"
App = Any


def settings_env() -> dict[str, str]:
    """The WhatsApp channel switched on, with nothing reachable behind it (no REST call is made)."""
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "PUBLIC_BASE_URL": BASE, "LOG_LEVEL": "WARNING",
    }


def signed_forms(count: int, offset: int) -> list[tuple[bytes, str]]:
    """Bodies and signatures as bench/whatsapp_webhook.py builds them: a new MessageSid each."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    out = []
    for i in range(offset, offset + count):
        number = f"+4477009{i % USERS:05d}"
        fields = {
            "MessageSid": f"SM{i:032d}", "AccountSid": ACCOUNT, "From": f"whatsapp:{number}",
            "To": "whatsapp:+14155238886", "Body": BODIES[i % len(BODIES)], "NumMedia": "0",
            "ProfileName": "Bench", "WaId": number[1:],
        }
        signature = validator.compute_signature(BASE + "/whatsapp/webhook", fields)
        out.append((urlencode(fields).encode(), signature))
    return out


async def call(app: App, path: str, body: bytes, signature: str) -> int:
    """One signed form POST through the whole ASGI app; the status it answered."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"bench"), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"x-twilio-signature", signature.encode()),
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


def add_bare_routes(app: App, database: Path) -> None:
    """bench/whatsapp_webhook.py's bare endpoint, and the same with one SQLite write."""
    import sqlite3

    from starlette.requests import Request
    from starlette.responses import Response
    from twilio.request_validator import RequestValidator

    from messenger_bot.channels.twilio.form import parse_form
    from messenger_bot.channels.twilio.parts import twiml

    validator = RequestValidator(TOKEN)
    signed = BASE + "/whatsapp/webhook"
    answer = twiml(["Thanks, we got your message."])
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS seen (user TEXT PRIMARY KEY, n INTEGER, at REAL)")
    upsert = "INSERT INTO seen VALUES (?, 1, ?) ON CONFLICT (user) DO UPDATE SET n = n + 1, at = excluded.at"

    async def bare(request: Request) -> Response:
        form = parse_form(await request.body())
        if not validator.validate(signed, form, request.headers.get("x-twilio-signature", "")):
            return Response("forbidden", status_code=403)
        return Response(answer, media_type="application/xml")

    async def bare_write(request: Request) -> Response:
        form = parse_form(await request.body())
        if not validator.validate(signed, form, request.headers.get("x-twilio-signature", "")):
            return Response("forbidden", status_code=403)
        db.execute(upsert, (form.get("From"), time.time()))
        return Response(answer, media_type="application/xml")

    app.add_route("/bench/bare", bare, methods=["POST"])
    app.add_route("/bench/bare-write", bare_write, methods=["POST"])


async def measure(app: App, path: str, forms: list[tuple[bytes, str]],
                  profile: cProfile.Profile | None) -> float:
    """CPU seconds per request, one at a time; every answer must be 200."""
    if profile is not None:
        profile.enable()
    started = time.process_time()
    for body, signature in forms:
        status = await call(app, path, body, signature)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
    spent = time.process_time() - started
    if profile is not None:
        profile.disable()
    return spent / len(forms)


async def run(args: argparse.Namespace, tmp: Path) -> None:
    from messenger_bot import logs
    from messenger_bot.settings import load_settings
    from messenger_bot.wiring import create_app

    logs.configure("WARNING")
    os.environ.update(settings_env())
    settings = load_settings(database_url=f"sqlite:///{tmp}/bench.sqlite3")
    app = create_app(settings, scheduler=False)
    add_bare_routes(app, tmp / "bare.sqlite3")
    paths = {"bare": "/bench/bare", "bare+write": "/bench/bare-write", "webhook": "/whatsapp/webhook"}
    costs: dict[str, list[float]] = {name: [] for name in paths}
    profile = cProfile.Profile(time.process_time) if args.profile else None
    offset = 0
    async with app.router.lifespan_context(app):
        for path in paths.values():  # warm up: caches, new users' rows
            await measure(app, path, signed_forms(min(args.requests, 500), 10_000_000 + offset), None)
            offset += 500
        for _ in range(args.rounds):
            for name, path in paths.items():
                forms = signed_forms(args.requests, offset)
                offset += args.requests
                costs[name].append(await measure(app, path, forms, profile if name == "webhook" else None))
    report(costs, args, profile)


def report(costs: dict[str, list[float]], args: argparse.Namespace, profile: cProfile.Profile | None) -> None:
    median = {name: statistics.median(values) for name, values in costs.items()}
    for name, values in costs.items():
        rounds = ", ".join(f"{1e3 * v:.3f}" for v in values)
        print(f"{name:11} {1e3 * median[name]:.3f} ms of CPU per request (rounds {rounds})")
    for name in ("bare", "bare+write"):
        ratio = median[name] / median["webhook"]
        print(f"rate ratio a CPU-bound server would show, webhook / {name}: {ratio:.2f}")
    flags = f"--requests {args.requests} --rounds {args.rounds}" + (" --profile" if args.profile else "")
    print(f"reproduce: .venv/bin/python bench/profile_whatsapp.py {flags}")
    if profile is not None:
        print("\nwebhook requests, by own CPU time:")
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the webhook requests")
    parser.add_argument("--top", type=int, default=40, help="functions listed with --profile")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_", "WHATSAPP_"))]:
        del os.environ[name]  # the caller's own settings would change what is measured
    with tempfile.TemporaryDirectory() as tmp:
        uvloop.run(run(args, Path(tmp)))  # serve's loop (uvicorn picks uvloop), not asyncio's


if __name__ == "__main__":
    main()
