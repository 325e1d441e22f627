"""Benchmark: signed WhatsApp webhook posts answered per second, against a bare endpoint.

One server process runs the real app (`create_app`, SQLite, content, engine) with one
extra route, /bench/bare: what any honest Twilio endpoint does and no more. It parses
the form, checks the X-Twilio-Signature with twilio's RequestValidator (403 if wrong),
and answers a fixed one-message TwiML.
The load comes from another process over keep-alive connections, with requests built
and signed beforehand: each a new MessageSid, from a pool of 5,000 users (conversations,
as on a real number: users come back, and no one user is fast enough to be throttled).
Both are measured in the same run, in alternating rounds (the median of each is reported,
so a busy neighbour on the machine hurts both alike); the target is a ratio of 0.5 or more.

    .venv/bin/python bench/whatsapp_webhook.py [--seconds 3] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import raw_load  # noqa: E402  (bench/ is the script's own folder on sys.path)

TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "0" * 32
USERS = 5_000
BODIES = ["menu", "2", "can coffee make my lip twitch?", "what helps at home?", "is it serious?"]


def serve(port: int) -> None:
    """The server side: the real app plus the bare endpoint, on one uvicorn server."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator

    from messenger_bot.channels.twilio.form import parse_form
    from messenger_bot.channels.twilio.parts import twiml
    from messenger_bot.settings import load_settings
    from messenger_bot.wiring import create_app

    settings = load_settings()
    validator = RequestValidator(TOKEN)
    signed = f"{settings.public_base_url}/whatsapp/webhook"  # the requests are signed for the webhook's URL
    answer = twiml(["Thanks, we got your message."])

    async def bare(request: Request) -> Response:
        form = parse_form(await request.body())
        if not validator.validate(signed, form, request.headers.get("x-twilio-signature", "")):
            return Response("forbidden", status_code=403)
        return Response(answer, media_type="application/xml")

    app = create_app(settings, scheduler=False)
    app.router.routes.append(Route("/bench/bare", bare, methods=["POST"]))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")


def requests_for(path: str, base: str, count: int, offset: int) -> list[bytes]:
    """Signed raw HTTP requests, each from one of many senders, each with its own MessageSid."""
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
        body = urlencode(fields).encode()
        signature = validator.compute_signature(base + "/whatsapp/webhook", fields)
        head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n")
        out.append(head.encode() + body)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measured phase")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/webhook rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    from tests.support.server import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
        env.update({
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "PUBLIC_BASE_URL": base, "LOG_LEVEL": "WARNING",
        })
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)
        try:
            _wait_healthy(base)
            bare, hook = measure(port, base, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"bare endpoint (form, signature check, TwiML):        {_line(bare)}")
    print(f"signed webhook (verify, dedupe, engine turn, TwiML): {_line(hook)}")
    if any(r[2] for r in bare):
        raise SystemExit("the bare endpoint refused requests: its figure would not be a fair one")
    ratio = statistics.median(r[0] for r in hook) / statistics.median(r[0] for r in bare)
    print(f"ratio webhook/bare (medians): {ratio:.2f}  (targets >= 0.50, and >= 0.60 for the webhook work)")


Result = tuple[float, int, int]


def measure(port: int, base: str, args: argparse.Namespace) -> tuple[list[Result], list[Result]]:
    budget = int(args.seconds * 6000)  # more requests than any phase can use
    warm_up = requests_for("/whatsapp/webhook", base, 500, 10_000_000)
    asyncio.run(raw_load(port, warm_up, 1.0, args.connections))
    bare: list[Result] = []
    hook: list[Result] = []
    for round_ in range(args.rounds):
        offset = round_ * budget
        for results, path in ((bare, "/bench/bare"), (hook, "/whatsapp/webhook")):
            requests = requests_for(path, base, budget, offset)
            results.append(asyncio.run(raw_load(port, requests, args.seconds, args.connections)))
    return bare, hook


def _line(results: list[Result]) -> str:
    rates = ", ".join(f"{r[0]:.0f}" for r in results)
    failed = sum(r[2] for r in results)
    median = statistics.median(r[0] for r in results)
    return f"median {median:7.0f} req/s  (rounds: {rates}; non-200: {failed})"


def _wait_healthy(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


if __name__ == "__main__":
    main()
