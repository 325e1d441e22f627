"""Reminder set-up by typing, as people write, through `chat --json` (a real subprocess and a
real SQLite file): numbers on numbered channels, intervals, waking hours, times, yes/no, parts of
the day, time zones, and pause/resume/log a drink at any time of day."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.support.chat import ChatProcess

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
    """"1" after "Is that right? 1. Yes" is Yes: never the clock time 01:00 (an offset like UTC+7)."""
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
