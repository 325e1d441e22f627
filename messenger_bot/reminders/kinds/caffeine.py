"""The caffeine check-in: once a day, today's total against the daily limit, drink buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from messenger_bot.conversation import Reply
from messenger_bot.reminders.replies import button, drink_buttons
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.reminders.texts import ReminderTexts

if TYPE_CHECKING:
    from messenger_bot.engine import Turn
    from messenger_bot.reminders.feature import Conversation


def reminder(texts: ReminderTexts, variant: int, caffeine_today: int = 0) -> Reply:
    text = texts.checkin[variant % len(texts.checkin)]
    text = text.replace("{total}", str(caffeine_today)).replace("{limit}", str(texts.limit_mg))
    return Reply(
        "reminder", text, (*drink_buttons(texts), button(texts.buttons.stop_caffeine, "stop:caffeine"))
    )


def describe(texts: ReminderTexts, schedule: Schedule) -> str:
    return texts.say("daily_at", time=schedule.times[0])


def setup_label(texts: ReminderTexts) -> str:
    return texts.buttons.caffeine_setup


async def setup(conversation: Conversation, turn: Turn, rest: str) -> list[Reply]:
    return await conversation.setup_caffeine(turn, rest)
