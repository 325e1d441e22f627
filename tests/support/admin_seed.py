"""Seed a database with the operators' figures the way `serve` writes them.

Turns go through the real observers (`DailyCounters.on_turn`, `Inbox.add`) and their
`flush`, so the dashboard reads exactly what a running bot would have written. Used by
the admin tests (small, known figures) and bench/admin.py (a million messages).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from messenger_bot.admin.counters import DailyCounters
from messenger_bot.admin.inbox import Inbox
from messenger_bot.engine import TurnOutcome
from messenger_bot.storage import Storage

UNANSWERED = (
    "can my cat give me lip twitching",
    "Can my cat give me lip twitching?",
    "is lip twitching contagious",
    "is lip twitching contagious to my kids",
    "does the moon make my lip twitch",
    "what does a twitching upper lip mean spiritually",
    "my name is Priya Raman, can I fly with lip twitching? mail me at priya@example.org",
    "can I fly with lip twitching",
)
TOPICS = ("caffeine", "stress", "dehydration", "home-remedies", "when-to-see-doctor", "causes")


def outcome(channel: str, at: datetime, *, tapped: bool = True, topic: str | None = None,
            faq: str | None = None, text: str | None = None, guess: str | None = None,
            alert: bool = False, new: bool = False, earlier_today: bool = False) -> TurnOutcome:
    kinds = (("alert",) if alert else ()) + (("topic",) if topic else ("menu",))
    return TurnOutcome(
        channel=channel, tapped=tapped, kinds=kinds, topics=(topic,) if topic else (), faq=faq, guess=guess,
        text=text, new_user=new, at=at,
        previous_seen=None if new else at.replace(hour=0, minute=0) if earlier_today else at - timedelta(1),
    )


async def seed_known(store: Storage, now: datetime) -> None:
    """Small known figures: 1,234 web messages today (3 of them alerts), 40 new Telegram users,
    the UNANSWERED questions (each twice) and 7 votes."""
    counters, inbox = DailyCounters(), Inbox(30)
    for i in range(1234):
        counters.on_turn(outcome("web", now, tapped=i % 2 == 0, topic=TOPICS[i % len(TOPICS)], alert=i < 3))
    for _ in range(40):
        counters.on_turn(outcome("telegram", now - timedelta(days=1), new=True, topic="stress"))
    for text in UNANSWERED * 2:
        inbox.add(outcome("whatsapp", now, tapped=False, faq="not_sure", text=text, guess="causes"))
    counters.add(now.date().isoformat(), "web", "feedback", "up|caffeine", 5)
    counters.add(now.date().isoformat(), "web", "feedback", "down|caffeine", 2)
    await counters.flush(store)
    await inbox.flush(store)


async def seed_million(store: Storage, now: datetime, messages: int = 1_000_000, days: int = 90,
                       unanswered_share: float = 0.05, seed: int = 7) -> dict[str, int]:
    """`messages` turns spread over `days` days and four channels, a share of them unanswered;
    plus the rows a bot of that size keeps elsewhere (users, WhatsApp outbound, reminders)."""
    rng = random.Random(seed)
    counters, inbox = DailyCounters(), Inbox(30)
    channels = ("telegram", "whatsapp", "web", "sms")
    unanswered = 0
    for i in range(messages):
        at = now - timedelta(days=rng.randrange(days), seconds=rng.randrange(86400))
        channel = channels[i % len(channels)]
        if rng.random() < unanswered_share:
            unanswered += 1
            text = f"{rng.choice(UNANSWERED)} {rng.choice(('', 'please', 'thanks', '?'))}"
            counters.on_turn(outcome(channel, at, tapped=False, faq="fallback", text=text))
            if at > now - timedelta(days=30):
                inbox.add(outcome(channel, at, tapped=False, faq="fallback", text=text))
        else:
            counters.on_turn(outcome(channel, at, tapped=rng.random() < 0.7, topic=rng.choice(TOPICS),
                                     alert=rng.random() < 0.002, new=rng.random() < 0.1,
                                     earlier_today=rng.random() < 0.75))
        if i % 200_000 == 0:
            await counters.flush(store)
            await inbox.flush(store)
    await counters.flush(store)
    await inbox.flush(store)
    users = messages // 5
    stamp = now.timestamp()
    async with store.transaction():
        await store.executemany(
            "INSERT INTO users (channel, user_key, first_seen, last_seen, notice_seen, last_menu, history)"
            " VALUES (?, ?, ?, ?, 1, '[]', '[]')",
            [(channels[i % 4], f"u{i}", stamp - 86400 * (i % days), stamp) for i in range(users)],
        )
        await store.executemany(
            "INSERT INTO whatsapp_outbound (sid, channel, user_key, status, error_code, created_at,"
            " updated_at) VALUES (?, 'whatsapp', ?, ?, ?, ?, ?)",
            [(f"SM{i:032d}", f"u{i % users}", "failed" if i % 100 == 0 else "delivered",
              (63016 if i % 200 == 0 else 21610) if i % 100 == 0 else None,
              stamp - 86400 * (i % days), stamp - 86400 * (i % days)) for i in range(messages // 4)],
        )
    return {"messages": messages, "unanswered": unanswered, "users": users,
            "whatsapp_outbound": messages // 4}
