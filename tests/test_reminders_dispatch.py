"""The dispatcher against a small in-test Sender: sent once, late and quiet-hour skips, STOP,
blocked users paused, failures retried to a bound, unknown outcomes never resent, rows left in
flight by a killed process, and two dispatchers whose pass outlives the lease (an injected clock)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.delivery import Outcome, SendResult
from messenger_bot.engine import Engine
from messenger_bot.reminders import store as db
from messenger_bot.reminders.dispatcher import LEASE, Dispatcher
from messenger_bot.reminders.feature import RemindersFeature
from messenger_bot.reminders.kinds import UnknownKind
from messenger_bot.reminders.replies import texts_of
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.storage import Storage
from tests.fakes.clock import FakeClock, StalledClock

# 2026-06-01 is a Monday; London is on BST (UTC+1).
SET_UP = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 07:00 BST
EIGHT = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 08:00 BST, the first reminder


class FakeSender:
    """Records what it is asked to send; answers each user with the outcome the test sets."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []
        self.outcomes: dict[str, Outcome] = {}

    async def start(self, store: Storage) -> None: ...

    async def close(self) -> None: ...

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        outcome = self.outcomes.get(user_key, Outcome.SENT)
        if outcome is Outcome.SENT:
            self.sent.append((user_key, reply))
            return SendResult(outcome, provider_id=f"m{len(self.sent)}")
        return SendResult(outcome, detail=f"fake {outcome.value}")


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def dispatcher(content: Content, store: Storage, sender: FakeSender) -> Dispatcher:
    return Dispatcher(store, texts_of(content), {"telegram": sender}, batch=3)


async def water(
    store: Storage, user: str, start: int = 8, end: int = 20, zone: str = "Europe/London"
) -> None:
    schedule = Schedule(2, f"{start:02d}:00", f"{end:02d}:00")
    await db.save(store, "telegram", user, "water", schedule, zone, SET_UP)


async def outbox(store: Storage) -> list[tuple[str, str, str | None]]:
    rows = await store.fetch("SELECT user_key, status, reason FROM reminder_outbox ORDER BY user_key, due_at")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_due_reminders_are_sent_once_in_batches_and_advanced(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    for user in ("1", "2", "3", "4", "5"):
        await water(store, user)
    early = await dispatcher.run_pass(EIGHT - timedelta(minutes=1))
    assert early.sent == 0 and sender.sent == []
    report = await dispatcher.run_pass(EIGHT)
    assert report.sent == 5 and sorted(u for u, _ in sender.sent) == ["1", "2", "3", "4", "5"]
    again = await dispatcher.run_pass(EIGHT + timedelta(minutes=1))
    assert again.sent == 0 and len(sender.sent) == 5
    reply = sender.sent[0][1]
    assert reply.kind == "reminder" and [b.payload for b in reply.buttons] == [
        "do:reminders:done",
        "do:reminders:snooze",
        "do:reminders:stop:water",
    ]
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub and sub.next_due_at == EIGHT + timedelta(hours=2)
    assert {s for _, s, _ in await outbox(store)} == {"sent"}
    await dispatcher.run_pass(EIGHT + timedelta(hours=2))
    assert len({r.text for _, r in sender.sent}) > 1  # the wording varies


async def test_more_than_an_hour_late_is_skipped_to_the_next_time(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    await water(store, "1")
    report = await dispatcher.run_pass(EIGHT + timedelta(hours=1, minutes=5))  # the bot was down
    assert report.sent == 0 and report.skipped == 1 and sender.sent == []
    assert await outbox(store) == [("1", "skipped", "late: more than an hour past its time")]
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub and sub.next_due_at == EIGHT + timedelta(hours=2)
    within = await dispatcher.run_pass(EIGHT + timedelta(hours=2, minutes=50))
    assert within.sent == 1


async def test_nothing_is_sent_outside_the_waking_window(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    await water(store, "1", start=8, end=20)
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub is not None
    nine_pm = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # a snooze stored past the window's end
    await db.set_due(store, sub.id, nine_pm, SET_UP)
    report = await dispatcher.run_pass(nine_pm + timedelta(seconds=10))
    assert report.skipped == 1 and sender.sent == []
    assert (await outbox(store))[0][2] == "quiet hours: outside the waking window"
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub and sub.next_due_at == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # 08:00 BST tomorrow


async def test_stop_pauses_reminders_and_start_brings_them_back(
    content: Content, store: Storage, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    engine = Engine(content, store, [RemindersFeature(content, store)])
    await water(store, "1")
    await engine.turn(Incoming("telegram", "1", text="stop", received_at=SET_UP))
    report = await dispatcher.run_pass(EIGHT)
    assert report.sent == 0 and report.paused == 1 and sender.sent == []
    await engine.turn(Incoming("telegram", "1", text="start", received_at=SET_UP))
    report = await dispatcher.run_pass(EIGHT + timedelta(hours=2))
    assert report.sent == 1


async def test_a_blocked_user_is_paused_with_the_reason(
    content: Content, store: Storage, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    await water(store, "1")
    await db.save(store, "telegram", "1", "caffeine", Schedule(times=("20:00",)), "Europe/London", SET_UP)
    sender.outcomes["1"] = Outcome.BLOCKED
    report = await dispatcher.run_pass(EIGHT)
    assert report.blocked == 1 and report.sent == 0
    subs = await db.subscriptions(store, "telegram", "1")
    assert [s.active for s in subs] == [False, False]
    assert all(s.paused_reason == "fake blocked" for s in subs)
    assert (await dispatcher.run_pass(EIGHT + timedelta(hours=2))).blocked == 0  # not retried forever
    engine = Engine(content, store, [RemindersFeature(content, store)])
    replies = await engine.turn(Incoming("telegram", "1", button="do:reminders:list", received_at=SET_UP))
    listing = replies[-1]
    assert "paused (fake blocked)" in listing.text


async def test_failures_are_retried_on_later_passes_up_to_a_bound(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    await water(store, "1")
    sender.outcomes["1"] = Outcome.FAILED
    now = EIGHT
    first = await dispatcher.run_pass(now)
    assert first.failed == 1
    assert (await dispatcher.run_pass(now + timedelta(seconds=5))).failed == 0  # backing off
    second = await dispatcher.run_pass(now + timedelta(minutes=2))
    third = await dispatcher.run_pass(now + timedelta(minutes=6))
    assert second.failed == 1 and third.failed == 1
    [(_, status, _)] = await outbox(store)
    attempts = await store.fetch("SELECT attempts FROM reminder_outbox")
    assert status == "failed" and attempts[0][0] == 3
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub and sub.next_due_at == EIGHT + timedelta(hours=2)  # given up on; the next time stands
    sender.outcomes.clear()
    assert (await dispatcher.run_pass(EIGHT + timedelta(hours=2))).sent == 1


async def test_a_row_in_flight_when_the_process_died_is_listed_not_resent(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    for user in ("1", "2"):
        await water(store, user)
    claimed = await dispatcher.claim("telegram", EIGHT)  # a dispatcher claimed both ...
    sub = claimed[0]
    await store.execute(  # ... wrote one outbox row, and was killed before it could record the send
        "INSERT INTO reminder_outbox (subscription_id, channel, user_key, kind, due_at, status, attempts,"
        " created_at, updated_at) VALUES (?, 'telegram', ?, 'water', ?, 'pending', 0, ?, ?)",
        sub.id,
        sub.user_key,
        sub.due_at,
        EIGHT.timestamp(),
        EIGHT.timestamp(),
    )
    held = await dispatcher.run_pass(EIGHT + timedelta(seconds=30))
    assert held.sent == 0  # the lease still holds them
    report = await dispatcher.run_pass(EIGHT + LEASE + timedelta(seconds=1))
    assert report.sent == 1 and [u for u, _ in sender.sent] != [sub.user_key]
    assert [(i, d.timestamp()) for i, d in report.interrupted] == [(sub.id, sub.due_at)]
    statuses = {u: s for u, s, _ in await outbox(store)}
    assert statuses == {sub.user_key: "interrupted", ("2" if sub.user_key == "1" else "1"): "sent"}


async def test_other_channels_and_web_users_are_not_claimed(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    await db.save(store, "web", "w1", "water", Schedule(1, "08:00", "20:00"), "Europe/London", SET_UP)
    report = await dispatcher.run_pass(EIGHT)
    assert report.sent == 0 and sender.sent == []


async def test_caffeine_check_in_shows_todays_total(
    content: Content, store: Storage, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    await db.save(store, "telegram", "1", "caffeine", Schedule(times=("20:00",)), "Europe/London", SET_UP)
    await db.log_drink(store, "telegram", "1", "Europe/London", "coffee", 80, EIGHT)
    await dispatcher.run_pass(datetime(2026, 6, 1, 19, 0, tzinfo=UTC))
    [(_, reply)] = sender.sent
    assert "80 of 400 mg" in reply.text
    assert "do:reminders:log:coffee" in [b.payload for b in reply.buttons]


async def test_an_unknown_outcome_is_recorded_and_never_sent_again(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    await water(store, "1")
    sender.outcomes["1"] = Outcome.UNKNOWN  # the provider may have created it; its answer was lost
    first = await dispatcher.run_pass(EIGHT)
    assert first.unknown == 1 and first.failed == 0
    sender.outcomes.clear()
    for minutes in (2, 6, 30):
        assert (await dispatcher.run_pass(EIGHT + timedelta(minutes=minutes))).sent == 0
    assert await outbox(store) == [("1", "unknown", "fake unknown")]
    sub = await db.subscription(store, "telegram", "1", "water")
    assert sub and sub.next_due_at == EIGHT + timedelta(hours=2)  # the next time stands
    assert (await dispatcher.run_pass(EIGHT + timedelta(hours=2))).sent == 1


# -- two dispatchers, one pass slower than the lease -------------------------------------------


class HeldSender(FakeSender):
    """A slow provider: each send arrives, then waits until the test lets the answers go."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[str] = []
        self.gate = asyncio.Event()

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        self.arrived.append(user_key)
        await self.gate.wait()
        return await super().send(user_key, reply, template)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait for something another task does (never a timing assertion: the bound is generous)."""
    async with asyncio.timeout(timeout):
        while True:
            done = check()
            if await done if inspect.isawaitable(done) else done:
                return
            await asyncio.sleep(0.01)


async def leased_past(store: Storage, moment: datetime) -> bool:
    rows = await store.fetch(
        "SELECT MIN(claimed_until) FROM reminder_subscriptions WHERE claimed_by IS NOT NULL"
    )
    return rows[0][0] is not None and float(rows[0][0]) > moment.timestamp()


LEASE_SHORT = timedelta(seconds=60)


async def test_a_pass_slower_than_its_lease_keeps_it_so_a_second_dispatcher_sends_nothing(
    content: Content, store: Storage
) -> None:
    for user in ("1", "2", "3", "4"):
        await water(store, user)
    clock = FakeClock(EIGHT + timedelta(seconds=5))
    slow, other = HeldSender(), FakeSender()
    first = Dispatcher(store, texts_of(content), {"telegram": slow}, lease=LEASE_SHORT, clock=clock)
    second = Dispatcher(store, texts_of(content), {"telegram": other}, lease=LEASE_SHORT, clock=clock)
    running = asyncio.create_task(first.run_pass())
    await eventually(lambda: len(slow.arrived) == 4)
    for _ in range(4):  # two whole leases go by while the provider holds the answers
        clock.advance(LEASE_SHORT / 2)
        await eventually(lambda: leased_past(store, clock.now()))  # the heartbeat renewed them
        assert (await second.run_pass()).sent == 0
    slow.gate.set()
    report = await running
    assert report.sent == 4 and other.sent == []
    assert sorted(u for u, _ in slow.sent) == ["1", "2", "3", "4"]
    assert {s for _, s, _ in await outbox(store)} == {"sent"}


async def test_after_a_lapsed_lease_each_chunk_goes_only_from_the_pass_that_wrote_its_outbox_rows(
    content: Content, store: Storage
) -> None:
    """A stalled first pass (no heartbeat) loses its lease mid-batch; the second claims the same rows.
    Rows the first had written stay its own; rows the second writes first are the second's."""
    for user in ("1", "2", "3", "4"):
        await water(store, user)
    clock = FakeClock(EIGHT + timedelta(seconds=5))
    slow, other = HeldSender(), FakeSender()
    rates = {"telegram": 1.0}  # two sends in flight at once: the batch of four goes in two chunks
    texts = texts_of(content)
    first = Dispatcher(store, texts, {"telegram": slow}, rates=rates, lease=LEASE_SHORT,
                       clock=StalledClock(clock))
    second = Dispatcher(store, texts, {"telegram": other}, rates=rates, lease=LEASE_SHORT, clock=clock)
    running = asyncio.create_task(first.run_pass())
    await eventually(lambda: len(slow.arrived) == 2)
    clock.advance(LEASE_SHORT * 2)
    taken_over = await second.run_pass()
    slow.gate.set()
    report = await running
    by_first, by_second = {u for u, _ in slow.sent}, {u for u, _ in other.sent}
    assert by_first == set(slow.arrived) and len(by_first) == 2
    assert by_second == {"1", "2", "3", "4"} - by_first, "the rest went once, from the second pass"
    assert report.sent == 2 and taken_over.sent == 2 and len(taken_over.interrupted) == 2
    assert {s for _, s, _ in await outbox(store)} == {"sent"}, "the first pass recorded what it sent"


async def test_a_subscription_of_an_unknown_kind_is_an_error_never_another_kind(
    dispatcher: Dispatcher, store: Storage, sender: FakeSender
) -> None:
    """A row whose kind the code lacks (an older or newer release wrote it) sends nothing in its
    place, is recorded as failed with the reason, and the other reminders go as usual; reading
    it as a subscription raises instead of calling it a caffeine check-in."""
    await water(store, "1")
    await water(store, "2")
    await store.execute("UPDATE reminder_subscriptions SET kind = 'stretch' WHERE user_key = '2'")
    report = await dispatcher.run_pass(EIGHT + timedelta(seconds=5))
    assert [user for user, _ in sender.sent] == ["1"]
    assert report.sent == 1 and report.failed == 1
    [(_, status, reason)] = [row for row in await outbox(store) if row[0] == "2"]
    assert status == "failed" and reason is not None and "unknown reminder kind 'stretch'" in reason
    with pytest.raises(UnknownKind, match="stretch"):
        await db.subscriptions(store, "telegram", "2")
