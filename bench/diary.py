"""Diary benchmark: a summary from a year of daily entries, and follow-ups mixed into reminders.

    .venv/bin/python bench/diary.py [--reminders 20000] [--followups 5000] [--repeat 5]

Prints, measured in the same run, on SQLite in a temporary folder:
  (a) the time to gather a summary's figures, write its text, draw its chart and build its PDF,
      for one user with an entry every day for a year (the median of --repeat runs of each);
  (b) dispatch: sends/s for --reminders due reminders alone, then for the same number of
      reminders with --followups due follow-ups mixed in (the scheduler's pass: reminders, then
      follow-ups), to a sender that answers at once (no network: the dispatcher's own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from messenger_bot.conversation import Reply  # noqa: E402
from messenger_bot.delivery import Outcome, SendResult  # noqa: E402
from messenger_bot.diary.chart import twitch_chart  # noqa: E402
from messenger_bot.diary.followup import FollowupDispatcher  # noqa: E402
from messenger_bot.diary.pdf import summary_pdf  # noqa: E402
from messenger_bot.diary.summary import chat_text, gather  # noqa: E402
from messenger_bot.reminders.dispatcher import Dispatcher  # noqa: E402
from messenger_bot.reminders.replies import texts_of  # noqa: E402
from messenger_bot.storage import SQLiteStorage  # noqa: E402
from messenger_bot.wiring import load_content  # noqa: E402

NOW = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # 12:00 in London: inside every waking window
SPEC = json.dumps({"every_hours": 1, "start": "08:00", "end": "20:00"})


class InstantSender:
    """A Sender that records and answers at once, so the figures are the dispatcher's own cost."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent = 0

    async def start(self, store: object) -> None: ...

    async def close(self) -> None: ...

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        self.sent += 1
        return SendResult(Outcome.SENT, provider_id=str(self.sent))


async def a_year(store: SQLiteStorage, user: str) -> None:
    rows = []
    for n in range(365):
        day = NOW - timedelta(days=n)
        rows.append(
            (
                "telegram",
                user,
                "twitch",
                day.timestamp(),
                day.date().isoformat(),
                1 + n % 4,
                ("upper", "lower", "both")[n % 3],
                "one",
                "seconds",
                "coffee,sleep" if n % 2 else "stress",
            )
        )
    await store.executemany(
        "INSERT INTO diary_entries (channel, user_key, kind, logged_at, day, count, lip, side, duration,"
        " tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    await store.executemany(
        "INSERT INTO caffeine_log (channel, user_key, day, drink, mg, logged_at)"
        " VALUES (?, ?, ?, 'coffee', ?, ?)",
        [
            ("telegram", user, (NOW - timedelta(days=n)).date().isoformat(), 80 * (n % 6), NOW.timestamp())
            for n in range(365)
        ],
    )


async def summary_bench(store: SQLiteStorage, texts: object, repeat: int) -> bytes:
    await a_year(store, "year")
    timings: dict[str, list[float]] = {"figures": [], "text": [], "chart": [], "pdf": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        figures = await gather(store, "telegram", "year", "Europe/London", NOW, 400)
        t1 = time.perf_counter()
        text = chat_text(figures, texts)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        png = twitch_chart(figures, texts)  # type: ignore[arg-type]
        t3 = time.perf_counter()
        pdf = summary_pdf(figures, texts, png)  # type: ignore[arg-type]
        t4 = time.perf_counter()
        for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            timings[key].append(value * 1000)
    medians = {k: statistics.median(v) for k, v in timings.items()}
    print(
        f"(a) summary from a year of daily entries (365 entries, {sum(figures.twitches.values())} twitches):"
        f" figures {medians['figures']:.1f} ms, text {medians['text']:.2f} ms,"
        f" chart {medians['chart']:.0f} ms"
        f" ({len(png):,} bytes), PDF {medians['pdf']:.0f} ms ({len(pdf):,} bytes);"
        f" total {sum(medians.values()):.0f} ms (median of {repeat}); text {len(text)} characters"
    )
    return png


async def seed(store: SQLiteStorage, reminders: int, followups: int, tag: str) -> None:
    due = (NOW - timedelta(minutes=1)).timestamp()
    await store.executemany(
        "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active, next_due_at,"
        " attempts, created_at, updated_at)"
        " VALUES ('telegram', ?, 'water', ?, 'Europe/London', 1, ?, 0, ?, ?)",
        [(f"{tag}r{n}", SPEC, due, due, due) for n in range(reminders)],
    )
    await store.executemany(
        "INSERT INTO diary_followups (channel, user_key, timezone, due_at, status, attempts, created_at,"
        " updated_at) VALUES ('telegram', ?, 'Europe/London', ?, 'scheduled', 0, ?, ?)",
        [(f"{tag}f{n}", due, due, due) for n in range(followups)],
    )


async def dispatch(folder: Path, content: object, reminders: int, followups: int) -> tuple[int, float]:
    store = SQLiteStorage(folder / f"dispatch-{followups}.sqlite3")
    await store.open()
    try:
        await seed(store, reminders, followups, str(followups))
        sender = InstantSender()
        senders = {"telegram": sender}
        started = time.perf_counter()
        report = await Dispatcher(store, texts_of(content), senders).run_pass(NOW)  # type: ignore[arg-type]
        report.add(await FollowupDispatcher(store, content.extra["diary.yaml"], senders).run_pass(NOW))  # type: ignore[attr-defined]
        return report.sent, time.perf_counter() - started
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=20_000)
    parser.add_argument("--followups", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--save-chart", type=Path, help="also write the year's chart here")
    args = parser.parse_args()
    content = load_content(ROOT / "flows")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = SQLiteStorage(folder / "summary.sqlite3")
        await store.open()
        try:
            png = await summary_bench(store, content.extra["diary.yaml"], args.repeat)
            if args.save_chart:
                args.save_chart.write_bytes(png)
        finally:
            await store.close()
        alone, alone_s = await dispatch(folder, content, args.reminders, 0)
        mixed, mixed_s = await dispatch(folder, content, args.reminders, args.followups)
    print(f"(b) reminders alone: {alone:,} sends in {alone_s:.2f} s = {alone / alone_s:,.0f}/s")
    print(
        f"    reminders + follow-ups: {mixed:,} sends ({args.reminders:,} + {args.followups:,}) in"
        f" {mixed_s:.2f} s = {mixed / mixed_s:,.0f}/s (x{(mixed / mixed_s) / (alone / alone_s):.2f} of alone)"
    )
    print(
        f"reproduce: .venv/bin/python bench/diary.py --reminders {args.reminders}"
        f" --followups {args.followups} --repeat {args.repeat}"
    )


if __name__ == "__main__":
    asyncio.run(main())
