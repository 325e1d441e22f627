"""Reminders benchmark (issue 6): the dispatcher against fake providers on loopback.

    .venv/bin/python bench/reminders.py [--due 100000] [--subscribers 10000,1000000]
                                        [--database postgresql://…]

Prints, measured in the same run:
  (a) sends/s dispatching `--due` due reminders with no rate limit (target >= 2,000/s on SQLite),
      beside a baseline: the same HTTP posts from the same client with no database at all;
  (b) with the limit on (the real TelegramSender, TELEGRAM_MPS=30, against the fake Bot API
      server of tests/fakes): the most messages that arrived in any one-second window;
  (c) peak memory dispatching the same 10,000 due reminders from tables of each size (flat);
  (d) the time to claim one batch (500) from tables of each size (about equal: the index);
  (e) sends/s and CPU per send through the real TelegramSender and WhatsAppSender (retries,
      pacing, rendering, their HTTP clients), uncapped, against the fake Bot API and the fake
      Twilio API in a process of their own, next to the bare sender against the sink (target:
      >= 1,000 sends/s per core, i.e. at most 1 ms of CPU per send).
Each table size runs in its own child process, so their memory figures do not mix.
With --database postgresql://… (c) and (d) run there; its reminder tables are EMPTIED first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from messenger_bot.conversation import Reply  # noqa: E402
from messenger_bot.delivery import Outcome, SendResult  # noqa: E402
from messenger_bot.reminders.dispatcher import BATCH, Dispatcher  # noqa: E402
from messenger_bot.reminders.replies import texts_of  # noqa: E402
from messenger_bot.storage import Storage, storage_for  # noqa: E402
from messenger_bot.wiring import load_content  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 13:00 in London: inside every waking window
SPEC = json.dumps({"every_hours": 1, "start": "08:00", "end": "20:00"})
LIMIT_MPS = 30
LIMITED_DUE = 300
MEMORY_DUE = 10_000
CLAIMS = 7


# -- the fake provider: a bare HTTP/1.1 keep-alive sink in its own process ---------------------


_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


class HttpSink(asyncio.Protocol):
    """The cheapest HTTP/1.1 server that can stand for a provider: it frames each POST on a
    keep-alive connection and answers 200 with what `answer` returns, so the dispatcher is
    what a benchmark measures."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            found = _LENGTH.search(self.buffer[:end])
            length = int(found.group(1)) if found else 0
            if len(self.buffer) < end + 4 + length:
                return
            head, body = self.buffer[:end], self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            reply = self.answer(head.split(b" ", 2)[1], body)
            status = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            self.transport.write(status % len(reply) + reply)

    def answer(self, path: bytes, body: bytes) -> bytes:
        raise NotImplementedError


class _Sink(HttpSink):
    count = 0

    def answer(self, path: bytes, body: bytes) -> bytes:
        _Sink.count += 1
        return b'{"ok":true,"id":%d}' % _Sink.count


def serve_sink() -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Sink, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


class HttpSender:
    """A Sender that POSTs each reminder as JSON to the sink over a pool of keep-alive connections.

    A bare client (no rate limit, no retries), so the figure is the dispatcher's, not a library's.
    """

    channel = "telegram"

    def __init__(self, url: str, connections: int = 64) -> None:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        self.host, self.port = host_port.rsplit(":", 1)
        self.path = "/" + url.split("//", 1)[1].split("/", 1)[1]
        self.connections = connections

    async def start(self, store: Storage | None) -> None:
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        for _ in range(self.connections):
            self.pool.put_nowait(await asyncio.open_connection(self.host, int(self.port)))

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        payload = {"chat_id": user_key, "text": reply.text, "buttons": [b.payload for b in reply.buttons]}
        body = json.dumps(payload).encode()
        head = f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
        reader, writer = await self.pool.get()
        try:
            writer.write(head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = json.loads(await reader.readexactly(length))
        finally:
            self.pool.put_nowait((reader, writer))
        ok = status_line.split(b" ", 2)[1] == b"200"
        return SendResult(Outcome.SENT if ok else Outcome.FAILED, provider_id=str(answer.get("id")))


# -- data ----------------------------------------------------------------------------------


def rows(total: int, due: int) -> Iterator[tuple[Any, ...]]:
    """`due` subscriptions due within the last ten minutes, the rest spread over the coming day."""
    now = NOW.timestamp()
    for i in range(total):
        next_due = now - (i % 600) if i < due else now + 60 + (i * 7919) % 86_000
        yield ("telegram", str(10_000_000 + i), "water", SPEC, "Europe/London", 1, next_due, now, now)


INSERT = (
    "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active, next_due_at,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def fill(url: str, total: int, due: int) -> Storage:
    store = storage_for(url)
    await store.open()  # runs the migrations
    for table in ("reminder_outbox", "reminder_subscriptions"):
        await store.execute(f"DELETE FROM {table}")
    if store.backend == "sqlite":
        await store.close()
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            con.executemany(INSERT, rows(total, due))
            con.execute("ANALYZE")
        store = storage_for(url)
        await store.open()
    else:
        chunk: list[tuple[Any, ...]] = []
        for row in rows(total, due):
            chunk.append(row)
            if len(chunk) == 20_000:
                await store.executemany(INSERT, chunk)
                chunk = []
        if chunk:
            await store.executemany(INSERT, chunk)
        await store.execute("ANALYZE reminder_subscriptions")
    return store


# -- the measurements ------------------------------------------------------------------------


async def throughput(url: str, sink: str, due: int) -> dict[str, float]:
    """(a): the whole pass (claim, outbox, send, record, advance) against bare HTTP posts."""
    texts = texts_of(load_content(ROOT / "flows"))
    bare = HttpSender(sink)
    await bare.start(None)
    reply = Reply("reminder", texts.water[0])
    n = min(due, 20_000)
    started = time.perf_counter()
    for start in range(0, n, 200):  # the dispatcher's own chunk size with no limit
        await asyncio.gather(*(bare.send(str(i), reply) for i in range(start, min(n, start + 200))))
    bare_rate = n / (time.perf_counter() - started)
    await bare.close()

    store = await fill(url, due, due)
    sender = HttpSender(sink)
    await sender.start(store)
    dispatcher = Dispatcher(store, texts, {"telegram": sender})
    started = time.perf_counter()
    report = await dispatcher.run_pass(NOW)
    elapsed = time.perf_counter() - started
    await sender.close()
    await store.close()
    return {"sent": report.sent, "seconds": elapsed, "rate": report.sent / elapsed, "bare": bare_rate}


async def limited(url: str) -> dict[str, float]:
    """(b): the real Telegram sender, its limit on, against the fake Bot API server."""
    from messenger_bot.channels.telegram import TelegramSender
    from messenger_bot.settings import load_settings
    from tests.fakes.telegram_api import FakeTelegram

    texts = texts_of(load_content(ROOT / "flows"))
    with FakeTelegram() as fake:
        settings = load_settings(
            telegram_bot_token=fake.token,
            telegram_base_url=fake.base_url,
            telegram_mps=LIMIT_MPS,
            database_url=url,
        )
        store = await fill(url, LIMITED_DUE, LIMITED_DUE)
        sender = TelegramSender(settings)
        await sender.start(store)
        dispatcher = Dispatcher(store, texts, {"telegram": sender}, rates={"telegram": LIMIT_MPS})
        started = time.perf_counter()
        report = await dispatcher.run_pass(NOW)
        elapsed = time.perf_counter() - started
        await sender.close()
        await store.close()
        arrivals = sorted(c.at for c in fake.calls_to("sendMessage") if c.status == 200)
    return {
        "sent": report.sent,
        "seconds": elapsed,
        "max_window": max_in_window(arrivals),
        "rate": report.sent / elapsed,
    }


REAL_SENDS = 3000
#: Sends in the air at once: the dispatcher's own chunk size with no limit.
CHUNK = 200


async def real_senders(url: str, sink: str) -> dict[str, tuple[float, float]]:
    """(e): (sends/s, CPU seconds per send) of each real sender and of the bare one, one after another."""
    from aiolimiter import AsyncLimiter
    from load import Fakes

    from messenger_bot.channels.telegram import TelegramSender
    from messenger_bot.channels.whatsapp import WhatsAppSender
    from messenger_bot.settings import load_settings

    fakes = Fakes()
    try:
        settings = load_settings(
            telegram_bot_token=fakes.urls["token"], telegram_base_url=fakes.urls["telegram"],
            telegram_mps=1_000_000, twilio_account_sid="AC" + "0" * 32, twilio_auth_token="bench-token",
            twilio_whatsapp_from="whatsapp:+14155238886", twilio_api_base_url=fakes.urls["twilio"],
            whatsapp_mps=400, whatsapp_template_water="HX" + "0" * 32, database_url=url,
        )
        store = storage_for(url)
        await store.open()
        reply = Reply("reminder", texts_of(load_content(ROOT / "flows")).water[0])
        senders: dict[str, Any] = {
            "bare": HttpSender(sink), "telegram": TelegramSender(settings),
            "whatsapp": WhatsAppSender(settings),
        }
        # WHATSAPP_MPS stops at Twilio's 400; uncapped means no pace at all, as for Telegram.
        senders["whatsapp"].limiter = AsyncLimiter(10**9, 1)
        users = {"bare": str, "telegram": lambda i: str(900_000_000 + i),
                 "whatsapp": lambda i: f"whatsapp:+1555{i:07d}"}
        figures = {}
        for name, sender in senders.items():
            await sender.start(store)
            await _sends(sender, users[name], reply, 0, CHUNK)  # warm-up: connections, imports
            figures[name] = await _sends(sender, users[name], reply, CHUNK, REAL_SENDS)
            await sender.close()
        await store.close()
    finally:
        fakes.stop()
    return figures


async def _sends(sender: Any, user: Any, reply: Reply, first: int, count: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(first, first + count, CHUNK):
        chunk = range(start, min(first + count, start + CHUNK))
        results = await asyncio.gather(*(sender.send(user(i), reply, template="water") for i in chunk))
        if any(r.outcome is not Outcome.SENT for r in results):
            raise SystemExit(f"{type(sender).__name__}: not every send went: {results[0]}")
    return count / (time.perf_counter() - wall), (time.process_time() - cpu) / count


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most arrivals in any window [t, t + width), sliding over every arrival."""
    best, left = 0, 0
    for right, t in enumerate(times):
        while t - times[left] >= width:
            left += 1
        best = max(best, right - left + 1)
    return best


async def scale(url: str, sink: str, subscribers: int) -> dict[str, float]:
    """(c) and (d) for one table size (run in a child process)."""
    due = min(subscribers, MEMORY_DUE)
    store = await fill(url, subscribers, due)
    texts = texts_of(load_content(ROOT / "flows"))
    sender = HttpSender(sink)
    await sender.start(store)
    dispatcher = Dispatcher(store, texts, {"telegram": sender})
    timings = []
    for _ in range(max(1, min(CLAIMS, due // BATCH))):
        started = time.perf_counter()
        claimed = await dispatcher.claim("telegram", NOW, BATCH)
        timings.append(time.perf_counter() - started)
        assert len(claimed) == BATCH
    await store.execute("UPDATE reminder_subscriptions SET claimed_until = NULL")
    started = time.perf_counter()
    idle = await dispatcher.claim("telegram", NOW - timedelta(hours=1), BATCH)
    idle_ms = (time.perf_counter() - started) * 1000
    assert idle == []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    report = await dispatcher.run_pass(NOW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await sender.close()
    await store.close()
    return {
        "subscribers": subscribers,
        "sent": report.sent,
        "claim_ms": statistics.median(timings) * 1000,
        "idle_claim_ms": idle_ms,
        "peak_mib": peak / 2**20,
        "rss_mib": rss_after / 1024,
        "rss_growth_mib": (rss_after - rss_before) / 1024,
    }


# -- running it ------------------------------------------------------------------------------


def sqlite_url(folder: str, name: str) -> str:
    return f"sqlite:///{Path(folder) / name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--due", type=int, default=100_000, help="due reminders for the throughput run")
    parser.add_argument("--subscribers", default="10000,1000000", help="table sizes for memory and claim")
    parser.add_argument("--database", help="a postgresql:// URL (its reminder tables are emptied)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sink", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "sink":
        serve_sink()
        return
    if args.child:
        print(json.dumps(asyncio.run(scale(args.database, args.sink, int(args.child)))))
        return
    command = " ".join([".venv/bin/python", "bench/reminders.py", *sys.argv[1:]])
    print(f"$ {command}")
    sink_proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "sink"], stdout=subprocess.PIPE, text=True
    )
    try:
        sink = f"http://127.0.0.1:{sink_proc.stdout.readline().strip()}/send"  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as folder:
            run(args, sink, folder)
    finally:
        sink_proc.kill()


def run(args: argparse.Namespace, sink: str, folder: str) -> None:
    backend = "PostgreSQL" if args.database else "SQLite"
    a = asyncio.run(throughput(args.database or sqlite_url(folder, "a.sqlite3"), sink, args.due))
    print(
        f"(a) no rate limit, {backend}: {a['sent']:,} reminders in {a['seconds']:.1f} s = {a['rate']:,.0f}/s"
        f" (target >= 2,000/s); bare HTTP posts, no database: {a['bare']:,.0f}/s;"
        f" ratio {a['rate'] / a['bare']:.2f}"
    )
    b = asyncio.run(limited(sqlite_url(folder, "b.sqlite3")))
    print(
        f"(b) limit on (Telegram, {LIMIT_MPS}/s): {b['sent']} reminders in {b['seconds']:.1f} s"
        f" = {b['rate']:.1f}/s; most in any one-second window: {int(b['max_window'])}"
        f" ({'within' if b['max_window'] <= LIMIT_MPS else 'OVER'} the limit of {LIMIT_MPS})"
    )
    e = asyncio.run(real_senders(sqlite_url(folder, "e.sqlite3"), sink))
    for name, label in (("bare", "bare HTTP sender (sink)"), ("telegram", "TelegramSender (fake Bot API)"),
                        ("whatsapp", "WhatsAppSender (fake Twilio)")):
        rate, cpu = e[name]
        print(f"(e) uncapped, {label:30}: {rate:7,.0f} sends/s, CPU {cpu * 1000:.2f} ms per send"
              f" = {1 / cpu:7,.0f} sends/s per core")
    results = []
    for size in (int(s) for s in args.subscribers.split(",")):
        url = args.database or sqlite_url(folder, f"scale-{size}.sqlite3")
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--database", url, "--sink", sink],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    for r in results:
        print(
            f"(c) {int(r['subscribers']):>9,} subscribers, {backend}: dispatching {int(r['sent']):,} due:"
            f" peak Python heap {r['peak_mib']:.1f} MiB, process peak RSS {r['rss_mib']:.0f} MiB"
        )
    for r in results:
        print(
            f"(d) {int(r['subscribers']):>9,} subscribers, {backend}: claim one batch of {BATCH}:"
            f" {r['claim_ms']:.1f} ms (median of {CLAIMS}); when nothing is due: {r['idle_claim_ms']:.2f} ms"
        )
    if len(results) >= 2:
        first, last = results[0], results[-1]
        print(
            f"ratios {int(last['subscribers']):,} / {int(first['subscribers']):,} subscribers:"
            f" peak heap x{last['peak_mib'] / first['peak_mib']:.2f},"
            f" claim time x{last['claim_ms'] / first['claim_ms']:.2f}"
        )


if __name__ == "__main__":
    main()
