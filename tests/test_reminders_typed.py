"""Reminder set-up by typing, as people write, through `chat --json` (a real subprocess and a
real SQLite file): numbers on numbered channels, intervals, waking hours, times, yes/no, parts of
the day, time zones, and pause/resume/log a drink at any time of day."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from messenger_bot.content import Content
from messenger_bot.reminders.replies import texts_of
from messenger_bot.reminders.schedule import Schedule, clock_text, next_due
from messenger_bot.reminders.understand import Reader
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess
from tests.test_whatsapp import PUBLIC, Bot, User
from tests.test_whatsapp import bot_env as whatsapp_env

LONDON_MOBILE = "whatsapp:+447911123456"


def last(out: dict[str, Any]) -> dict[str, Any]:
    """The reply whose buttons a user sees last (the one a typed number picks)."""
    return [r for r in out["replies"] if r["buttons"]][-1]


def labels(reply: dict[str, Any]) -> list[str]:
    return [b["label"] for b in reply["buttons"]]


def subscriptions(env: dict[str, str]) -> dict[str, tuple[dict[str, Any], str, int]]:
    """What the dispatcher will act on: kind -> (schedule, time zone, active)."""
    path = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT kind, spec, timezone, active FROM reminder_subscriptions").fetchall()
    return {kind: (json.loads(spec), zone, active) for kind, spec, zone, active in rows}


def user_zone(env: dict[str, str]) -> str | None:
    path = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(path) as con:
        [(zone,)] = con.execute("SELECT timezone FROM users").fetchall()
    return zone


# -- numbered replies ------------------------------------------------------------------------


def test_whatsapp_number_answers_the_zone_question_as_its_option(bot_env: dict[str, str]) -> None:
    """ "1" after "Is that right? 1. Yes" is Yes: never the clock time 01:00 (an offset like UTC+7)."""
    with ChatProcess(bot_env, "--channel", "whatsapp", "--user", LONDON_MOBILE) as chat:
        ask = last(chat.send({"button": "do:reminders:water"}))
        assert "Europe/London" in ask["text"] and labels(ask)[0] == "Yes, that's right"
        often = last(chat.send("1"))
        assert "How often" in often["text"]
        assert user_zone(bot_env) == "Europe/London"
        assert labels(often)[1] == "Every 2 hours"
        start = last(chat.send("2"))
        assert labels(start)[1] == "From 8:00"
        end = last(chat.send("2"))
        assert labels(end)[0] == "Until 20:00"
        saved = last(chat.send("1"))
        assert "08:00–20:00" in saved["text"] and "Europe/London" in saved["text"]
    assert subscriptions(bot_env)["water"] == (
        {"every_hours": 2, "start": "08:00", "end": "20:00"},
        "Europe/London",
        1,
    )


def test_whatsapp_number_outside_the_list_is_asked_again_never_read_as_a_time(
    bot_env: dict[str, str],
) -> None:
    with ChatProcess(bot_env, "--channel", "whatsapp", "--user", LONDON_MOBILE) as chat:
        ask = last(chat.send({"button": "do:reminders:caffeine"}))
        again = last(chat.send("9"))
        assert "numbers in the list" in again["text"] and again["buttons"] == ask["buttons"]
        assert user_zone(bot_env) is None  # "9" did not become 09:00 and a UTC offset
        when = last(chat.send("yep"))
        assert "When should I check in?" in when["text"] and user_zone(bot_env) == "Europe/London"
        again = last(chat.send("20"))
        assert "numbers in the list" in again["text"] and again["buttons"] == when["buttons"]
        saved = last(chat.send("8pm"))
        assert "daily at 20:00" in saved["text"]
    assert subscriptions(bot_env)["caffeine"][0] == {"times": ["20:00"]}


# -- typed set-up ----------------------------------------------------------------------------


def set_up_water(chat: ChatProcess, *answers: str) -> dict[str, Any]:
    """Start the water set-up again (the zone is known) and type each answer; the last reply."""
    reply = last(chat.send("/water"))
    assert "How often" in reply["text"]
    for answer in answers:
        reply = last(chat.send(answer))
    return reply


def test_typed_intervals_and_waking_hours(bot_env: dict[str, str]) -> None:
    cases = [
        (("every 2 hours", "from 7 to 23"), {"every_hours": 2, "start": "07:00", "end": "23:00"}),
        (("every 90 minutes", "7am-11pm"), {"every_minutes": 90, "start": "07:00", "end": "23:00"}),
        (("hourly", "8 till 10pm"), {"every_hours": 1, "start": "08:00", "end": "22:00"}),
        (
            ("every hour and a half", "between 9 and 21"),
            {"every_minutes": 90, "start": "09:00", "end": "21:00"},
        ),
        (("every 3 hours", "6:30", "10"), {"every_hours": 3, "start": "06:30", "end": "22:00"}),
        (("every 2 hours from 5 to 13",), {"every_hours": 2, "start": "05:00", "end": "13:00"}),
    ]
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "801") as chat:
        chat.send("/water")
        often = last(chat.send("I'm in London"))
        assert "How often" in often["text"] and user_zone(bot_env) == "Europe/London"
        for answers, spec in cases:
            saved = set_up_water(chat, *answers)
            assert saved["text"].startswith("Done!"), answers
            assert f"{spec['start']}–{spec['end']}" in saved["text"]
            assert subscriptions(bot_env)["water"] == (spec, "Europe/London", 1), answers


def test_typed_fixed_times_and_an_evening_check_in(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "802") as chat:
        chat.send("/water")
        chat.send("Europe/Madrid")
        saved = set_up_water(chat, "fixed times", "9am, noon and half past 6pm")
        assert "09:00, 12:00, 18:30" in saved["text"]
        assert subscriptions(bot_env)["water"][:2] == (
            {"times": ["09:00", "12:00", "18:30"]},
            "Europe/Madrid",
        )
        chat.send("/caffeine")
        which = last(chat.send("in the evening"))
        assert "What time in the evening?" in which["text"]
        assert labels(which)[:4] == ["At 18:00", "At 19:00", "At 20:00", "At 21:00"]
        saved = last(chat.send("half past 8"))  # in the evening: 20:30
        assert "daily at 20:30" in saved["text"]


def test_each_preset_times_button_saves_the_times_it_shows(bot_env: dict[str, str]) -> None:
    """A tap on "9:00, 12:00, 15:00" sets those three times (it used to start the set-up over)."""
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "803") as chat:
        chat.send("/water")
        chat.send("Europe/Madrid")
        for preset in (0, 1):
            which = set_up_water(chat, "fixed times")
            shown = which["buttons"][preset]
            saved = last(chat.send({"button": shown["payload"]}))
            assert saved["text"].startswith("Done!"), shown["label"]
            times = [t.strip().zfill(5) for t in shown["label"].split(",")]
            assert subscriptions(bot_env)["water"][0] == {"times": times}, shown["label"]


def test_typed_check_in_times(bot_env: dict[str, str]) -> None:
    cases = [
        ("9am", "09:00"),
        ("9", "09:00"),
        ("21:30", "21:30"),
        ("half past 8", "08:30"),
        ("noon", "12:00"),
    ]
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "803") as chat:
        chat.send("/caffeine")
        chat.send("UTC+2")
        assert user_zone(bot_env) == "Etc/GMT-2"
        for typed, clock in cases:
            assert "When should I check in?" in last(chat.send("/caffeine"))["text"]
            saved = last(chat.send(typed))
            assert f"daily at {clock}" in saved["text"], typed
            assert subscriptions(bot_env)["caffeine"][0] == {"times": [clock]}, typed


def test_typed_zone_from_the_time_where_the_user_is(bot_env: dict[str, str]) -> None:
    """ "It's 3pm here": the offset is worked out from the clock, so the test types the time at UTC+2."""
    here = (datetime.now(UTC) + timedelta(hours=2)).strftime("%H:%M")
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "804") as chat:
        chat.send("/water")
        replies = chat.send(f"it's {here} here")["replies"]
        assert "UTC+2" in replies[0]["text"] and "How often" in replies[-1]["text"]
    assert user_zone(bot_env) == "Etc/GMT-2"


def test_whatsapp_no_then_a_city(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "whatsapp", "--user", LONDON_MOBILE) as chat:
        chat.send({"button": "do:reminders:water"})
        ask = last(chat.send("nah"))
        assert "what time is it for you" in ask["text"].lower() and labels(ask)[0] == "Use UTC"
        often = last(chat.send("I live in Lisbon"))
        assert "How often" in often["text"]
    assert user_zone(bot_env) == "Europe/Lisbon"


def test_an_unknown_answer_is_asked_again_with_its_buttons(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "805") as chat:
        chat.send("/water")
        often = last(chat.send("UTC"))
        again = last(chat.send("purple"))
        assert again["text"].startswith("Sorry") and again["buttons"] == often["buttons"]
        too_often = last(chat.send("every 5 minutes"))
        assert "every 30 minutes" in too_often["text"] and too_often["buttons"] == often["buttons"]
        start = last(chat.send("every 2 hours"))
        backwards = last(chat.send("from 22 to 7"))
        assert "after the start" in backwards["text"] and backwards["buttons"] == start["buttons"]
        answer = last(chat.send("can coffee make my lip twitch?"))
        assert answer["kind"] == "topic"  # a question goes to the FAQ, not into the set-up
    assert "water" not in subscriptions(bot_env)


# -- at any time of day ---------------------------------------------------------------------


def test_pause_resume_stop_and_drinks_typed_at_any_time(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "telegram", "--user", "806") as chat:
        for payload in (
            "do:reminders:water",
            "do:reminders:tz:water:Europe/London",
            "do:reminders:water:save:2:8:20",
            "do:reminders:caffeine:at:2000",
        ):
            chat.send({"button": payload})
        assert chat.send("menu")["replies"][-1]["kind"] == "menu"  # no question open any more
        paused = last(chat.send("pause water"))
        assert paused["text"].startswith("Paused: Water")
        assert {k: v[2] for k, v in subscriptions(bot_env).items()} == {"water": 0, "caffeine": 1}
        assert "Back on: Water" in last(chat.send("resume water"))["text"]
        chat.send("pause")
        assert {k: v[2] for k, v in subscriptions(bot_env).items()} == {"water": 0, "caffeine": 0}
        chat.send("resume")
        assert {k: v[2] for k, v in subscriptions(bot_env).items()} == {"water": 1, "caffeine": 1}
        chat.send("pause caffeine")
        assert subscriptions(bot_env)["caffeine"][2] == 0
        assert last(chat.send("stop water reminders"))["text"].startswith("Stopped: Water")
        assert "water" not in subscriptions(bot_env)
        log = last(chat.send("log a drink"))
        assert "Coffee (cup)" in labels(log)
        assert "Sorry" in last(chat.send("a whisky"))["text"]  # no caffeine amount: asked again
        assert (
            "80 of 400 mg" in last(chat.send("a tea and a coke"))["text"]
        )  # the answer to "what did you have?"
        assert "240 of 400 mg" in last(chat.send("I had 2 coffees"))["text"]
        both = last(chat.send("had an espresso and a coke"))
        assert "1 cup of coffee, 1 can of soda" in both["text"] and "360 of 400 mg" in both["text"]
        assert "close to the daily limit" in both["text"]
        assert "1 glass" in last(chat.send("I drank a glass of water"))["text"]
        question = last(chat.send("how much caffeine is in a coffee?"))
        assert question["kind"] == "topic"
        assert "360 of 400 mg" in last(chat.send({"button": "do:reminders:tally"}))["text"]
        general = chat.send("can you remind me to drink water")["replies"][-1]
        assert general["kind"] == "topic" and general["topic"] == "reminders"


# -- how phrasings are read (the same reader the conversation uses) --------------------------


@pytest.fixture(scope="module")
def reader(content: Content) -> Reader:
    return Reader(texts_of(content))


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("every 2 hours", 120),
        ("every 90 minutes", 90),
        ("hourly", 60),
        ("every hour and a half", 90),
        ("every half hour", 30),
        ("every two hours", 120),
        ("every other hour", 120),
        ("2h", 120),
        ("every 1h30", 90),
        ("every 2 and a half hours", 150),
        ("From 7 to 23", None),
    ],
)
def test_intervals(reader: Reader, typed: str, minutes: int | None) -> None:
    assert reader.interval(typed) == minutes


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("from 7 to 23", ("07:00", "23:00")),
        ("7am-11pm", ("07:00", "23:00")),
        ("7am – 11pm", ("07:00", "23:00")),
        ("8 till 10pm", ("08:00", "22:00")),
        ("between 9 and 21", ("09:00", "21:00")),
        ("9 to 5", ("09:00", "17:00")),
        ("6:30 until 22:15", ("06:30", "22:15")),
        ("9, 13 and 18", None),
    ],
)
def test_waking_hours(reader: Reader, typed: str, window: tuple[str, str] | None) -> None:
    read = reader.window(typed)
    assert (read and (clock_text(read.start), clock_text(read.end))) == window


@pytest.mark.parametrize(
    ("typed", "clock"),
    [
        ("9am", "09:00"),
        ("9", "09:00"),
        ("21:30", "21:30"),
        ("half past 8", "08:30"),
        ("half past 8 in the evening", "20:30"),
        ("quarter to 9", "08:45"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("8.30 p.m.", "20:30"),
        ("at 7 o'clock", "07:00"),
        ("25:00", None),
        ("soon", None),
    ],
)
def test_times_of_day(reader: Reader, typed: str, clock: str | None) -> None:
    read = reader.clock(typed)
    assert (read and clock_text(read[0])) == clock


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("I'm in London", "Europe/London"),
        ("i live in new york", "America/New_York"),
        ("Europe/Madrid", "Europe/Madrid"),
        ("I'm in the UK", "Europe/London"),
        ("UTC+2", "Etc/GMT-2"),
        ("gmt -5", "Etc/GMT+5"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("it's 2pm here", "Etc/GMT-2"),  # at noon UTC
        ("somewhere nice", None),
    ],
)
def test_time_zones(reader: Reader, typed: str, zone: str | None) -> None:
    read = reader.zone(typed, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    assert (read and read[0]) == zone


@pytest.mark.parametrize(
    ("typed", "counts"),
    [
        ("I had 2 coffees", {"coffee": 2}),
        ("had an espresso and a coke", {"coffee": 1, "soda": 1}),
        ("I drank a glass of water", {"water": 1}),
        (
            "just had a double espresso, a red bull and 2 glasses of water today",
            {"coffee": 1, "energy": 1, "water": 2},
        ),
        ("i've had three cups of tea", {"tea": 3}),
        ("I had too much coffee", None),  # a sentence about coffee, not a list of drinks
        ("had coffee?", None),
        ("how much caffeine is in a coffee", None),
        ("I had 500 coffees", None),
    ],
)
def test_drink_reports(reader: Reader, typed: str, counts: dict[str, int] | None) -> None:
    read = reader.report(typed)
    assert (read and read.counts) == counts


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("pause", ("pause", ())),
        ("Pause water", ("pause", ("water",))),
        ("pause my caffeine reminders please", ("pause", ("caffeine",))),
        ("resume water", ("resume", ("water",))),
        ("stop check-ins", ("stop", ("caffeine",))),
        ("stop", None),  # the engine's STOP
        ("pause for thought", None),
    ],
)
def test_reminder_commands(reader: Reader, typed: str, command: tuple[str, tuple[str, ...]] | None) -> None:
    assert reader.command(typed) == command


def test_every_90_minutes_fires_on_the_half_hours_in_the_users_zone() -> None:
    schedule = Schedule.every(90, "07:00", "23:00")
    at, seen = datetime(2026, 3, 28, 23, 0, tzinfo=UTC), []
    for _ in range(12):  # across the night the clocks go forward in London
        at = next_due(schedule, "Europe/London", at)
        seen.append(at.astimezone(ZoneInfo("Europe/London")).strftime("%d %H:%M"))
    assert seen == [
        "29 07:00", "29 08:30", "29 10:00", "29 11:30", "29 13:00", "29 14:30",
        "29 16:00", "29 17:30", "29 19:00", "29 20:30", "29 22:00", "30 07:00",
    ]  # fmt: skip


def test_an_alert_in_the_middle_of_the_set_up_ends_the_question(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--channel", "whatsapp", "--user", LONDON_MOBILE) as chat:
        chat.send({"button": "do:reminders:water"})
        replies = chat.send("face drooping")["replies"]
        assert replies[0]["kind"] == "alert"
        assert not any(r["kind"] == "reminder" for r in replies)  # no set-up question over the alert
        assert last(chat.send("1"))["kind"] != "reminder"  # "1" is no longer "Yes, that's right"
    assert user_zone(bot_env) is None


@pytest.fixture
def whatsapp(tmp_path: Path) -> Iterator[Bot]:
    """A real `serve` with WhatsApp on, behind PUBLIC (the URL Twilio signs), and a fake Twilio."""
    with FakeTwilio() as fake:
        env = whatsapp_env(tmp_path / "wa.sqlite3", fake, PUBLIC_BASE_URL=PUBLIC)
        with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=10) as http:
            yield Bot(serve, PUBLIC, tmp_path / "wa.sqlite3", env, http)


def test_on_whatsapp_itself_1_after_is_that_right_is_yes(whatsapp: Bot) -> None:
    """The same through a real `serve`: signed Twilio posts, the numbered text a phone shows."""
    bot = whatsapp
    user = User(bot, "+447911123457")
    ask = user.say("water reminders")
    assert "Europe/London" in ask and "1. Yes, that's right" in ask
    often = user.say("1")
    assert "How often" in often and "2. Every 2 hours" in often
    [(zone,)] = bot.query("SELECT timezone FROM users WHERE user_key = ?", user.key)
    assert zone == "Europe/London"
