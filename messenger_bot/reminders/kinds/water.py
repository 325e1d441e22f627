"""Water: every N hours inside a waking window, or at fixed times; Done, Snooze and Stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from messenger_bot.conversation import Reply
from messenger_bot.reminders.replies import water_buttons
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.reminders.texts import ReminderTexts

if TYPE_CHECKING:
    from messenger_bot.engine import Turn
    from messenger_bot.reminders.feature import Conversation


def reminder(texts: ReminderTexts, variant: int, caffeine_today: int = 0) -> Reply:
    """A water reminder; `variant` picks the wording, so consecutive ones differ."""
    return Reply("reminder", texts.water[variant % len(texts.water)], water_buttons(texts))


def describe(texts: ReminderTexts, schedule: Schedule) -> str:
    if schedule.every_minutes:
        minutes = schedule.every_minutes
        return texts.say("every_minutes", minutes=minutes, start=schedule.start, end=schedule.end)
    if schedule.every_hours == 1:
        return texts.say("every_hour", start=schedule.start, end=schedule.end)
    if schedule.every_hours:
        return texts.say("every_hours", hours=schedule.every_hours, start=schedule.start, end=schedule.end)
    return texts.say("at_times", times=", ".join(schedule.times))


def setup_label(texts: ReminderTexts) -> str:
    return texts.buttons.water_setup


async def setup(conversation: Conversation, turn: Turn, rest: str) -> list[Reply]:
    return await conversation.setup_water(turn, rest)
