"""The diary's tables on both backends: entries, the summary's figures, file links, follow-up claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from messenger_bot.content import Content
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, SendResult
from messenger_bot.diary import files
from messenger_bot.diary import store as db
from messenger_bot.diary.followup import FollowupDispatcher
from messenger_bot.diary.summary import gather
from messenger_bot.storage import Storage

NOON = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)


class Recorder:
    """A sender that answers at once and remembers who it asked."""

    channel = "telegram"

    def __init__(self) -> None:
        self.asked: list[tuple[str, Reply, str | None]] = []

    async def start(self, store: Storage) -> None: ...

    async def close(self) -> None: ...

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        self.asked.append((user_key, reply, template))
        return SendResult(Outcome.SENT, provider_id=str(len(self.asked)))


async def test_entries_become_figures_and_delete_my_data_removes_them(store: Storage):
    first = await db.add(
        store, "telegram", "1", db.TWITCH, NOON - timedelta(days=8), "Europe/London", count=2
    )
    entry = await db.entry(store, "telegram", "1", first)
    assert entry is not None and await db.entry(store, "telegram", "2", first) is None  # not someone else's
    await db.set_field(store, entry, "lip", "upper")
    await db.add_tag(store, entry, "coffee")
    await db.add(store, "telegram", "1", db.TWITCH, NOON, "Europe/London", count=3)
    figures = await gather(store, "telegram", "1", "Europe/London", NOON, 400)
    assert figures.twitches == {"2026-05-24": 2, "2026-06-01": 3}
    assert [n for _, n in figures.weeks()] == [2, 3] and figures.lips["upper"] == 1
    link = await files.publish(
        store, "telegram", "1", "image/png", b"\x89PNG", "chart", "https://x.example", NOON
    )
    token = link.url.rsplit("/", 1)[1]
    assert "telegram" not in link.url and (await files.fetch_file(store, token, NOON)).body == b"\x89PNG"  # type: ignore[union-attr]
    assert await files.fetch_file(store, token, NOON + timedelta(hours=24)) is None  # expired
    assert await files.fetch_file(store, token[:-2] + "xx", NOON) is None  # forged
    await store.delete_user("telegram", "1")
    assert await db.entries(store, "telegram", "1") == []
    assert await files.fetch_file(store, token, NOON) is None


async def test_a_due_follow_up_is_claimed_and_sent_once_and_quiet_hours_wait(
    store: Storage, content: Content
):
    await db.schedule_followup(store, "telegram", "7", "Europe/London", NOON, NOON - timedelta(days=7))
    await db.schedule_followup(store, "telegram", "8", "Europe/London", NOON, NOON - timedelta(days=7))
    sender = Recorder()
    dispatcher = FollowupDispatcher(store, content, {"telegram": sender})
    night = NOON.replace(hour=22)  # 23:00 in London
    assert (await dispatcher.run_pass(night)).sent == 0 and not sender.asked
    next_morning = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 in London
    assert await db.waiting_followup(store, "telegram", "7") == next_morning
    report = await dispatcher.run_pass(next_morning)
    again = await dispatcher.run_pass(next_morning + timedelta(minutes=5))
    assert report.sent == 2 and again.sent == 0
    assert sorted(u for u, _, _ in sender.asked) == ["7", "8"]
    assert {t for _, _, t in sender.asked} == {"followup"}
    assert "still twitching" in sender.asked[0][1].text
