"""Several dispatchers on one PostgreSQL database (issue 7): sends per second and duplicates.

    .venv/bin/python bench/reminders_multi.py --database postgresql://… [--due 20000] [--dispatchers 1,2,4]

For each count N, `--due` due reminders are dispatched by N dispatcher processes started at the
same moment, each running one pass (claim with FOR UPDATE SKIP LOCKED, outbox, send, record) against
a fake provider on loopback with no rate limit. The provider counts every message per chat, so a
reminder sent twice shows as a duplicate (must be 0). Printed: sends per second over the whole run
(first start to last finish), each process's share, duplicates, and the ratio to N = 1 measured in the
same run. Everything happens in a fresh schema, dropped at the end: nothing is left in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reminders import INSERT, NOW, HttpSender, HttpSink, rows  # noqa: E402
from messenger_bot.reminders.dispatcher import Dispatcher  # noqa: E402
from messenger_bot.reminders.replies import texts_of  # noqa: E402
from messenger_bot.storage import storage_for  # noqa: E402
from messenger_bot.storage.postgres import redacted  # noqa: E402
from messenger_bot.wiring import load_content  # noqa: E402

#: Seconds the children get to import and connect before the common start.
START_DELAY = 4.0


# -- the fake provider: keep-alive HTTP/1.1, counting messages per chat ----------------------------

_CHAT = re.compile(rb'"chat_id":\s*"([^"]+)"')


class _CountingSink(HttpSink):
    """POST /send: one message (counted by its chat_id); POST /stats: the counts; POST /reset."""

    per_chat: ClassVar[Counter[bytes]] = Counter()

    def answer(self, path: bytes, body: bytes) -> bytes:
        counts = _CountingSink.per_chat
        if path == b"/stats":
            total = sum(counts.values())
            stats = {"total": total, "chats": len(counts), "duplicates": total - len(counts)}
            return json.dumps(stats).encode()
        if path == b"/reset":
            counts.clear()
            return b"{}"
        chat = _CHAT.search(body)
        counts[chat.group(1) if chat else b"?"] += 1
        return b'{"ok":true,"id":%d}' % sum(counts.values())


def serve_sink() -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_CountingSink, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


def sink_call(port: int, path: str) -> dict[str, Any]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=b"")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


# -- one dispatcher process ---------------------------------------------------------------------


async def dispatch(url: str, sink: str, start_at: float) -> dict[str, float]:
    store = storage_for(url)
    await store.open()
    sender = HttpSender(sink, connections=32)
    await sender.start(store)
    dispatcher = Dispatcher(store, texts_of(load_content(ROOT / "flows")), {"telegram": sender})
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    report = await dispatcher.run_pass(NOW)
    finished = time.time()
    await sender.close()
    await store.close()
    return {"sent": report.sent, "failed": report.failed, "started": started, "finished": finished}


# -- the parent: a fresh schema, each count in turn ---------------------------------------------


async def fill(url: str, due: int) -> None:
    store = storage_for(url)
    await store.open()  # the migrations, once, before the dispatchers start
    try:
        for table in ("reminder_outbox", "reminder_subscriptions"):
            await store.execute(f"DELETE FROM {table}")
        batch = list(rows(due, due))
        for start in range(0, len(batch), 20_000):
            await store.executemany(INSERT, batch[start : start + 20_000])
        await store.execute("ANALYZE reminder_subscriptions")
    finally:
        await store.close()


async def outbox_sent(url: str) -> int:
    store = storage_for(url)
    await store.open()
    try:
        [(sent,)] = await store.fetch("SELECT COUNT(*) FROM reminder_outbox WHERE status = 'sent'")
    finally:
        await store.close()
    return int(sent)


def run_count(url: str, sink_port: int, due: int, n: int) -> dict[str, Any]:
    asyncio.run(fill(url, due))
    sink_call(sink_port, "/reset")
    start_at = time.time() + START_DELAY
    sink = f"http://127.0.0.1:{sink_port}/send"
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", "dispatch", "--database", url, "--sink", sink,
             "--start-at", str(start_at)],
            stdout=subprocess.PIPE, text=True,
        )
        for _ in range(n)
    ]
    results = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        if child.returncode != 0:
            raise SystemExit(f"a dispatcher failed (exit {child.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
    stats = sink_call(sink_port, "/stats")
    return {
        "n": n, "seconds": seconds, "rate": stats["total"] / seconds,
        "shares": [int(r["sent"]) for r in results], "failed": sum(int(r["failed"]) for r in results),
        "outbox_sent": asyncio.run(outbox_sent(url)), **stats,
    }


async def schema(url: str, name: str, create: bool) -> None:
    connection = await asyncpg.connect(url)
    try:
        sql = f"CREATE SCHEMA {name}" if create else f"DROP SCHEMA IF EXISTS {name} CASCADE"
        await connection.execute(sql)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="", help="postgresql:// URL (a fresh schema, dropped after)")
    parser.add_argument("--due", type=int, default=20_000, help="due reminders per run")
    parser.add_argument("--dispatchers", default="1,2,4", help="dispatcher process counts to compare")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sink", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "sink":
        serve_sink()
        return
    if args.child == "dispatch":
        print(json.dumps(asyncio.run(dispatch(args.database, args.sink, args.start_at))))
        return
    if not args.database.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database must be a postgresql:// URL")
    command = [".venv/bin/python", "bench/reminders_multi.py", *map(redacted, sys.argv[1:])]
    print("$ " + " ".join(command), flush=True)
    name = f"bench_{secrets.token_hex(6)}"
    asyncio.run(schema(args.database, name, create=True))
    url = f"{args.database}{'&' if '?' in args.database else '?'}search_path={name}"
    sink = subprocess.Popen([sys.executable, __file__, "--child", "sink"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(sink.stdout.readline().strip())  # type: ignore[union-attr]
        report([run_count(url, port, args.due, int(n)) for n in args.dispatchers.split(",")], args.due)
    finally:
        sink.kill()
        sink.wait()
        asyncio.run(schema(args.database, name, create=False))
    print(f"schema {name} dropped")


def report(results: list[dict[str, Any]], due: int) -> None:
    base = results[0]["rate"]
    for r in results:
        missing = due - r["chats"]
        print(
            f"{r['n']} dispatcher(s), PostgreSQL, no rate limit: {r['total']:,} sends in {r['seconds']:.2f} s"
            f" = {r['rate']:,.0f}/s (x{r['rate'] / base:.2f} of {results[0]['n']});"
            f" per process {r['shares']}; duplicates {r['duplicates']} (must be 0);"
            f" never sent {missing}; failed {r['failed']}; outbox 'sent' rows {r['outbox_sent']:,}"
        )


if __name__ == "__main__":
    main()
