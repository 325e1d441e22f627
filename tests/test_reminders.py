"""Reminders: opting in by buttons, the time zone, My reminders, Done/Snooze/Stop, the caffeine
tally, and the schedule rules (DST, quiet hours), through the real engine and content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from messenger_bot.console import SHOWN_NUMBERED
from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine
from messenger_bot.reminders import store as db
from messenger_bot.reminders.feature import RemindersFeature
from messenger_bot.reminders.schedule import (
    Schedule,
    in_window,
    next_due,
    offset_from_local_time,
    parse_clock,
    parse_times,
    zone_for_offset,
)
from messenger_bot.storage import Storage
from messenger_bot.wiring import load_content
from tests.conftest import FLOWS
from tests.support.chat import ChatProcess

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def bot(content: Content, store: Storage) -> Engine:
    return Engine(content, store, [RemindersFeature(content, store)])


async def say(
    bot: Engine,
    what: str,
    *,
    user: str = "7",
    channel: str = "telegram",
    at: datetime = NOON,
    button: bool = False,
) -> list[Reply]:
    # A phone channel's adapter passes the number on, as the WhatsApp and SMS forms do.
    phone = user.removeprefix("whatsapp:") if user.startswith(("whatsapp:+", "+")) else None
    shape = {"received_at": at, "numbered": channel in SHOWN_NUMBERED, "phone": phone}
    incoming = (
        Incoming(channel, user, button=what, **shape)  # type: ignore[arg-type]
        if button
        else Incoming(channel, user, text=what, **shape)  # type: ignore[arg-type]
    )
    return [r for r in await bot.turn(incoming) if r.kind != "command" or r.buttons]


async def tap(bot: Engine, payload: str, **kw: Any) -> list[Reply]:
    return await say(bot, payload, button=True, **kw)


def payloads(reply: Reply) -> list[str]:
    return [b.payload for b in reply.buttons]


async def opt_in_water(bot: Engine, user: str = "7", zone: str = "Europe/London") -> None:
    await tap(bot, "do:reminders:water", user=user)
    await tap(bot, f"do:reminders:tz:water:{zone}", user=user)
    await tap(bot, "do:reminders:water:save:2:8:20", user=user)


# -- opting in ---------------------------------------------------------------------


async def test_water_opt_in_by_buttons_asks_zone_then_saves(bot: Engine, store: Storage) -> None:
    [ask] = await tap(bot, "do:reminders:water")
    assert ask.kind == "reminder" and "what time is it for you" in ask.text.lower()
    replies = await say(bot, "1pm")  # 12:00 UTC -> UTC+1
    assert "UTC+1" in replies[0].text and "clock changes" in replies[0].text  # the DST caveat
    often = replies[-1]
    assert "do:reminders:water:every:2" in payloads(often)
    [start] = await tap(bot, "do:reminders:water:every:2")
    assert "do:reminders:water:from:2:8" in payloads(start)
    [end] = await tap(bot, "do:reminders:water:from:2:8")
    assert "do:reminders:water:save:2:8:20" in payloads(end)
    [saved] = await tap(bot, "do:reminders:water:save:2:8:20")
    assert saved.kind == "reminder" and "every 2 hours" in saved.text
    assert "14:00" in saved.text and "Etc/GMT-1" in saved.text  # 13:00 local now: next is 14:00
    sub = await db.subscription(store, "telegram", "7", "water")
    assert sub is not None and sub.next_due_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    assert all(r.buttons for r in [ask, *replies, start, end, saved])


async def test_typed_city_and_fixed_times(bot: Engine, store: Storage) -> None:
    await say(bot, "/water")
    replies = await say(bot, "new york")
    assert "America/New_York" in replies[0].text
    await tap(bot, "do:reminders:water:times")
    [saved] = await say(bot, "9:00, 1pm and 18:30")
    assert "09:00, 13:00, 18:30" in saved.text
    sub = await db.subscription(store, "telegram", "7", "water")
    assert sub is not None and sub.timezone == "America/New_York"
    assert sub.next_due_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 EDT


async def test_whatsapp_proposes_the_zone_of_the_phone_number(bot: Engine) -> None:
    [ask] = await tap(bot, "do:reminders:caffeine", channel="whatsapp", user="whatsapp:+4915112345678")
    assert "Europe/Berlin" in ask.text
    assert payloads(ask)[0] == "do:reminders:tz:caffeine:Europe/Berlin"
    [when] = await tap(bot, payloads(ask)[0], channel="whatsapp", user="whatsapp:+4915112345678")
    assert "do:reminders:caffeine:at:2000" in payloads(when)
    [saved] = await tap(
        bot, "do:reminders:caffeine:at:2000", channel="whatsapp", user="whatsapp:+4915112345678"
    )
    assert "20:00" in saved.text and "Europe/Berlin" in saved.text


async def test_web_chat_set_up_is_kept_and_says_where_it_is_delivered(bot: Engine) -> None:
    await tap(bot, "do:reminders:water", channel="web", user="w1")
    await tap(bot, "do:reminders:tz:water:Etc/UTC", channel="web", user="w1")
    [saved] = await tap(bot, "do:reminders:water:save:1:8:20", channel="web", user="w1")
    assert "Telegram, WhatsApp and SMS" in saved.text


async def test_unparseable_zone_answer_asks_again_and_a_question_goes_to_the_faq(bot: Engine) -> None:
    await tap(bot, "do:reminders:water")
    [again] = await say(bot, "25:99")
    assert "couldn't work that out" in again.text
    [answer] = await say(bot, "can coffee make my lip twitch")
    assert answer.kind == "topic"


async def test_typed_reminders_request_lands_on_the_reminders_topic(bot: Engine) -> None:
    for typed in ("/reminders", "can you remind me to drink water"):
        [reply] = await say(bot, typed)
        assert reply.kind == "topic" and reply.topic == "reminders"


async def test_stale_or_malformed_reminder_payloads_never_crash(bot: Engine) -> None:
    for payload in (
        "do:reminders:",
        "do:reminders:water:save:9:x:y",
        "do:reminders:tz:water:Not/AZone",
        "do:reminders:pause:coffee",
        "do:reminders:log:whisky",
        "do:reminders:water:at:99999",
    ):
        replies = await tap(bot, payload)
        assert replies and replies[-1].buttons


# -- my reminders, done, snooze, stop ----------------------------------------------------


async def test_my_reminders_pause_resume_stop_all(bot: Engine, store: Storage) -> None:
    await opt_in_water(bot)
    [listing] = await tap(bot, "do:reminders:list")
    assert "every 2 hours" in listing.text and "next 14:00" in listing.text  # 13:00 BST now
    assert "do:reminders:pause:water" in payloads(listing)
    await tap(bot, "do:reminders:pause:water")
    [listing] = await tap(bot, "do:reminders:list")
    assert "paused" in listing.text and "do:reminders:resume:water" in payloads(listing)
    [resumed] = await tap(bot, "do:reminders:resume:water")
    assert "14:00" in resumed.text
    await tap(bot, "do:reminders:stopall")
    assert await db.subscriptions(store, "telegram", "7") == []


async def test_done_counts_glasses_per_local_day(bot: Engine) -> None:
    await opt_in_water(bot)
    [one] = await tap(bot, "do:reminders:done")
    [two] = await tap(bot, "do:reminders:done", at=NOON + timedelta(hours=2))
    [next_day] = await tap(bot, "do:reminders:done", at=datetime(2026, 6, 1, 23, 30, tzinfo=UTC))  # 00:30 BST
    assert "1 glass" in one.text and "2 glass" in two.text and "1 glass" in next_day.text


async def test_snooze_is_30_minutes_within_the_window_else_the_next_time(bot: Engine, store: Storage) -> None:
    await opt_in_water(bot)
    [snoozed] = await tap(bot, "do:reminders:snooze", at=datetime(2026, 6, 1, 13, 0, tzinfo=UTC))  # 14:00 BST
    assert "14:30" in snoozed.text
    sub = await db.subscription(store, "telegram", "7", "water")
    assert sub and sub.next_due_at == datetime(2026, 6, 1, 13, 30, tzinfo=UTC)
    late = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 20:00 BST: 20:30 is after the window
    [quiet] = await tap(bot, "do:reminders:snooze", at=late)
    assert "tomorrow 08:00" in quiet.text


async def test_stop_water_reminders_button(bot: Engine, store: Storage) -> None:
    await opt_in_water(bot)
    [stopped] = await tap(bot, "do:reminders:stop:water")
    assert "Stopped" in stopped.text
    assert await db.subscription(store, "telegram", "7", "water") is None


async def test_caffeine_tally_warns_near_and_over_the_limit(bot: Engine) -> None:
    texts = []
    for drink in ("coffee", "coffee", "energy", "coffee", "tea", "soda"):
        [reply] = await tap(bot, f"do:reminders:log:{drink}")
        texts.append(reply.text)
    assert "80 of 400 mg" in texts[0] and "160 of 400" in texts[1] and "260 of 400" in texts[2]
    assert "close to the daily limit" in texts[3]  # 340
    assert "380 of 400" in texts[4] and "close to" in texts[4]
    assert "420 of 400" in texts[5] and "over the daily limit" in texts[5]
    [tally] = await tap(bot, "do:reminders:tally")
    assert "420 of 400" in tally.text
    [tomorrow] = await tap(bot, "do:reminders:tally", at=NOON + timedelta(days=1))
    assert "0 of 400" in tomorrow.text


async def test_my_data_shows_reminders_and_delete_removes_them(bot: Engine, store: Storage) -> None:
    await opt_in_water(bot)
    await tap(bot, "do:reminders:log:coffee")
    [data] = await say(bot, "my data")
    assert "water reminders" in data.text and "80 mg" in data.text
    await say(bot, "delete my data")
    await say(bot, "yes")
    assert await db.subscriptions(store, "telegram", "7") == []
    assert await store.fetch("SELECT * FROM caffeine_log") == []


def test_opt_in_through_chat_json(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "555") as chat:
        first = chat.send({"button": "do:reminders:water"})["replies"][-1]
        assert first["kind"] == "reminder"
        chat.send({"button": "do:reminders:tz:water:Europe/Paris"})
        chat.send({"button": "do:reminders:water:every:3"})
        chat.send({"button": "do:reminders:water:from:3:9"})
        saved = chat.send({"button": "do:reminders:water:save:3:9:21"})["replies"][-1]
        assert saved["kind"] == "reminder" and "every 3 hours" in saved["text"]
        listing = chat.send({"text": "my reminders"})["replies"][-1]
        assert "Europe/Paris" in listing["text"] and listing["buttons"]


# -- the schedule ----------------------------------------------------------------------


def test_a_0900_reminder_stays_0900_local_across_the_march_dst_change() -> None:
    daily = Schedule(times=("09:00",))
    saturday = datetime(2025, 3, 29, 9, 0, tzinfo=UTC)  # 09:00 GMT
    sunday = next_due(daily, "Europe/London", saturday)
    assert sunday == datetime(2025, 3, 30, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert sunday.astimezone(ZoneInfo("Europe/London")).hour == 9
    autumn = next_due(daily, "Europe/London", datetime(2025, 10, 25, 8, 0, tzinfo=UTC))
    assert autumn == datetime(2025, 10, 26, 9, 0, tzinfo=UTC)


def test_every_two_hours_stays_inside_the_window() -> None:
    every = Schedule(2, "08:00", "20:00")
    at = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    seen = []
    for _ in range(8):
        at = next_due(every, "Europe/London", at)
        seen.append(at.hour)
    assert seen == [8, 10, 12, 14, 16, 18, 20, 8]


def test_quiet_hours_in_the_users_own_zone() -> None:
    every = Schedule(1, "08:00", "20:00")
    tokyo_morning = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # 08:30 in Tokyo
    assert in_window(every, "Asia/Tokyo", tokyo_morning)
    assert not in_window(every, "Europe/London", tokyo_morning)


def test_typed_times_and_offsets() -> None:
    assert parse_times("9pm, 7:30am") == ("07:30", "21:00")
    assert parse_times("soon") is None and parse_clock("25:00") is None
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert zone_for_offset(offset_from_local_time(parse_clock("17:31"), now)) == "Asia/Kolkata"  # type: ignore[arg-type]
    assert zone_for_offset(offset_from_local_time(parse_clock("7am"), now)) == "Etc/GMT+5"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "after", "named"),
    [
        ('snooze: "Snooze 30 min"', 'snooze: "Snooze for thirty minutes"', "buttons.snooze"),
        ("Today: {total}", "Today: {totl}", "totl"),
    ],
)
def test_broken_reminder_texts_stop_the_start(tmp_path: Any, before: str, after: str, named: str) -> None:
    import shutil

    from messenger_bot.content import ContentError

    shutil.copytree(FLOWS, tmp_path / "flows")
    path = tmp_path / "flows" / "reminders.yaml"
    assert before in path.read_text()
    path.write_text(path.read_text().replace(before, after))
    with pytest.raises(ContentError) as error:
        load_content(tmp_path / "flows")
    assert "reminders.yaml" in str(error.value) and named in str(error.value)


async def test_typed_stop_reminders_pauses_everything_and_keeps_the_settings(
    bot: Engine, store: Storage
) -> None:
    await opt_in_water(bot)
    await say(bot, "stop reminders")
    user = await store.load_user("telegram", "7")
    assert user is not None and user.paused_reason  # the engine's STOP: the dispatcher sends nothing
    assert await db.subscription(store, "telegram", "7", "water") is not None


async def test_zone_names_with_dashes_are_accepted(bot: Engine, store: Storage) -> None:
    await tap(bot, "do:reminders:water")
    await tap(bot, "do:reminders:tz:water:America/Port-au-Prince")
    user = await store.load_user("telegram", "7")
    assert user is not None and user.timezone == "America/Port-au-Prince"
