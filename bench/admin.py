"""The operators' dashboard with a million messages behind it: first load and later loads.

    .venv/bin/python bench/admin.py [--messages 1000000] [--loads 20]

Seeds a SQLite database the way a running bot fills it (the real observers and their
flush: a million turns over 90 days on four channels, 5% unanswered, plus 200k users and
250k WhatsApp outbound rows), starts the real `serve` with ADMIN_TOKEN, and times
GET /admin with the bearer token: the very first load, then `--loads` more. Next to it,
in the same run: GET /healthz (one database ping: the floor of any request) and what a
scan of the WhatsApp outbound table costs, the kind of query the daily aggregates avoid.
It also prints what the counting adds to one turn on the webhook path (the observer the
engine calls, timed in this process). The target (issue 16): a first-page load under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import clean_env, wait_healthy  # noqa: E402
from messenger_bot.storage import SQLiteStorage  # noqa: E402
from tests.support.admin_seed import seed_million  # noqa: E402
from tests.support.server import free_port  # noqa: E402

TOKEN = "bench-admin-token-0123456789"


async def seed(path: Path, messages: int) -> tuple[dict[str, int], float, int]:
    store = SQLiteStorage(path)
    await store.open()
    try:
        counts = await seed_million(store, datetime.now(UTC), messages=messages)
        started = time.perf_counter()
        await store.fetch("SELECT substr(datetime(updated_at, 'unixepoch'), 1, 10), COUNT(*)"
                          " FROM whatsapp_outbound GROUP BY 1")
        scan = time.perf_counter() - started
        rows = (await store.fetch("SELECT COUNT(*) FROM admin_daily"))[0][0]
    finally:
        await store.close()
    return counts, scan, int(rows)


def observer_cost(turns: int = 200_000) -> float:
    """Seconds per turn of what ADMIN_TOKEN adds to a turn: counters, metrics, the inbox check."""
    from messenger_bot.admin import Operators
    from messenger_bot.settings import load_settings
    from tests.support.admin_seed import outcome

    operators = Operators(load_settings(admin_token=TOKEN))
    turn = outcome("telegram", datetime.now(UTC), tapped=False, topic="caffeine", faq="answered",
                   earlier_today=True)
    return timeit.timeit(lambda: operators.on_turn(turn), number=turns) / turns


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    per_turn = observer_cost()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        counts, scan, rows = asyncio.run(seed(db, args.messages))
        seeded = time.perf_counter() - started
        port = free_port()
        env = clean_env(database_url=f"sqlite:///{db}", admin_token=TOKEN, port=str(port),
                        host="127.0.0.1", pid_dir=str(Path(tmp) / "run"), log_level="WARNING")
        server = subprocess.Popen([sys.executable, "-m", "messenger_bot", "serve", "--no-scheduler"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, server)
            with httpx.Client(base_url=base, headers={"authorization": f"Bearer {TOKEN}"}) as client:
                first = timed(client, "/admin")
                pages = sorted(timed(client, "/admin") for _ in range(args.loads))
                health = sorted(timed(client, "/healthz") for _ in range(args.loads))
                quarter = sorted(timed(client, "/admin?days=90") for _ in range(args.loads))
                inbox = timed(client, "/admin/inbox")
        finally:
            server.terminate()
            server.wait(30)
    print(f"command: {sys.executable} bench/admin.py --messages {args.messages} --loads {args.loads}")
    print(f"seeded in {seeded:.1f} s: {counts['messages']:,} messages ({counts['unanswered']:,} unanswered),"
          f" {counts['users']:,} users, {counts['whatsapp_outbound']:,} WhatsApp outbound rows;"
          f" the aggregates hold {rows:,} rows")
    print(f"GET /admin first load:     {first * 1000:7.1f} ms (target < 200 ms)")
    print(f"GET /admin next {args.loads} loads:  median {statistics.median(pages) * 1000:6.1f} ms,"
          f" max {pages[-1] * 1000:6.1f} ms")
    print(f"GET /admin?days=90:        median {statistics.median(quarter) * 1000:6.1f} ms")
    print(f"GET /healthz (baseline):   median {statistics.median(health) * 1000:6.1f} ms")
    print(f"GET /admin/inbox:          {inbox * 1000:7.1f} ms")
    print(f"for comparison, one scan of WhatsApp outbound by day: {scan * 1000:.1f} ms")
    print(f"what counting adds to one turn (in memory; written every 5 s): {per_turn * 1e6:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
