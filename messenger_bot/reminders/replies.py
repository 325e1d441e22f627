"""The replies a reminder is made of, shared by the conversation and the dispatcher."""

from __future__ import annotations

from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.payloads import Payload
from messenger_bot.reminders.kinds import module_of
from messenger_bot.reminders.texts import DRINKS, ReminderTexts

PREFIX = "do:reminders:"


def texts_of(content: Content) -> ReminderTexts:
    texts: ReminderTexts = content.extra["reminders.yaml"]
    return texts


def button(label: str, action: str | Payload) -> Button:
    """A typed payload as it formats itself (reminders/payloads.py), or an action after PREFIX."""
    return Button(label, action.format() if isinstance(action, Payload) else PREFIX + action)


def water_buttons(texts: ReminderTexts) -> tuple[Button, ...]:
    b = texts.buttons
    return (button(b.done, "done"), button(b.snooze, "snooze"), button(b.stop_water, "stop:water"))


def drink_buttons(texts: ReminderTexts) -> tuple[Button, ...]:
    return tuple(button(texts.drinks[d].label, f"log:{d}") for d in DRINKS)


def reminder_for(texts: ReminderTexts, kind: str, variant: int, caffeine_today: int = 0) -> Reply:
    """The reminder a subscription of `kind` sends (its module's); UnknownKind for a kind the code lacks."""
    made: Reply = module_of(kind).reminder(texts, variant, caffeine_today)
    return made
