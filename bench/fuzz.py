"""Fuzz every entry point of a real `serve`: N hostile bodies each, counted by the status they got.

Endpoints: the web chat (`POST /api/chat`), the Telegram webhook (with the right secret), the
WhatsApp webhook and status callback (signed with twilio's RequestValidator), and `chat --json`
lines. The bodies come from the hypothesis strategies the suite's fuzz tests use
(tests/support/hostile.py). `serve` runs on SQLite in a temporary folder, against the fake Bot API
and Twilio servers on loopback. The target: no status >= 500, no request left unanswered, no
`chat --json` line without its one JSON answer, no ERROR in serve's log, and serve still running.

    .venv/bin/python bench/fuzz.py              # 2,000 bodies per endpoint
    .venv/bin/python bench/fuzz.py --bodies 500
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the checkout on sys.path)
import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support import hostile
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess

ENDPOINTS: dict[str, Callable[[], st.SearchStrategy[hostile.HostileRequest]]] = {
    "web chat /api/chat": hostile.web_chat,
    "telegram /telegram/webhook": hostile.telegram,
    "whatsapp /whatsapp/webhook": hostile.whatsapp,
    "whatsapp /whatsapp/status": hostile.whatsapp_status,
}


def draw(strategy: st.SearchStrategy[Any], count: int, use: Callable[[Any], None]) -> None:
    """Call `use` on `count` values hypothesis generates (no shrinking: this counts, it does not stop)."""

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def each(value: Any) -> None:
        use(value)

    each()


def fuzz_http(serve: ServeProcess, name: str, count: int) -> Counter[str]:
    statuses: Counter[str] = Counter()
    with httpx.Client(base_url=serve.url, timeout=30) as http:
        def send(call: hostile.HostileRequest) -> None:
            try:
                response = http.post(call.path, content=call.body, headers=call.headers)
                statuses[str(response.status_code)] += 1
                if response.status_code >= 500:
                    print(f"  {response.status_code} for {call.what}: {call.body[:120]!r}", flush=True)
            except httpx.HTTPError as error:
                statuses["no answer"] += 1
                print(f"  no answer for {call.what}: {type(error).__name__}: {call.body[:120]!r}", flush=True)

        draw(ENDPOINTS[name](), count, send)
    return statuses


def fuzz_chat(env: dict[str, str], count: int) -> Counter[str]:
    """Each line must get exactly one JSON line back: replies or an error object."""
    outcomes: Counter[str] = Counter()
    state = {"chat": ChatProcess(env, "--user", "fuzz-console")}

    def send(line: bytes) -> None:
        chat = state["chat"]
        assert chat.proc.stdin and chat.proc.stdout
        try:
            chat.proc.stdin.buffer.write(line + b"\n")  # type: ignore[attr-defined]
            chat.proc.stdin.flush()
            out = chat.proc.stdout.readline()
            answer = json.loads(out)
            outcomes["replies" if "replies" in answer else "error line"] += 1
        except (OSError, ValueError):
            outcomes["crash"] += 1
            print(f"  chat --json crashed on {line[:120]!r}", flush=True)
            chat.proc.kill()
            state["chat"] = ChatProcess(env, "--user", "fuzz-console")

    draw(hostile.chat_lines, count, send)
    state["chat"].close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2000, help="bodies per endpoint (default 2,000)")
    args = parser.parse_args()
    results: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as folder, FakeTelegram() as telegram, FakeTwilio() as twilio:
        env = hostile.serve_env(f"sqlite:///{Path(folder) / 'bot.sqlite3'}", telegram.base_url,
                                telegram.token, twilio.base_url)
        started = time.monotonic()
        with ServeProcess(env, "--no-scheduler") as serve:
            drain = hostile.Drain(serve.proc)
            for name in ENDPOINTS:
                results[name] = fuzz_http(serve, name, args.bodies)
                print(f"{name}: {dict(results[name])}", flush=True)
            alive = serve.proc.poll() is None
        log = drain.text()
        results["chat --json lines"] = fuzz_chat(env, args.bodies)
        seconds = time.monotonic() - started
    return report(results, alive, log, seconds, args.bodies)


def report(results: dict[str, Counter[str]], alive: bool, log: str, seconds: float, bodies: int) -> int:
    bad = 0
    print(f"\n{'endpoint':30} {'sent':>6}  by status")
    for name, counts in results.items():
        failed = sum(n for outcome, n in counts.items() if _failed(outcome))
        bad += failed
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
        print(f"{name:30} {sum(counts.values()):6}  {shown}  (>= 500 or crash: {failed})")
    errors = [line for line in log.splitlines() if '"level": "ERROR"' in line or "Traceback" in line]
    print(f"serve still running at the end: {alive}; ERROR lines in its log: {len(errors)}; {seconds:.0f} s")
    for line in errors[:5]:
        print("  " + line[:200])
    print(f"reproduce: .venv/bin/python bench/fuzz.py --bodies {bodies}")
    return 0 if bad == 0 and alive and not errors else 1


def _failed(outcome: str) -> bool:
    return outcome in {"no answer", "crash"} or (outcome.isdigit() and int(outcome) >= 500)


if __name__ == "__main__":
    sys.exit(main())
