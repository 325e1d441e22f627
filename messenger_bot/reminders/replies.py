"""The replies a reminder is made of, shared by the conversation and the dispatcher."""

from __future__ import annotations

from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.reminders.texts import DRINKS, ReminderTexts, UnknownKind

PREFIX = "do:reminders:"


def texts_of(content: Content) -> ReminderTexts:
    texts: ReminderTexts = content.extra["reminders.yaml"]
    return texts


def button(label: str, action: str) -> Button:
    return Button(label, PREFIX + action)


def water_buttons(texts: ReminderTexts) -> tuple[Button, ...]:
    b = texts.buttons
    return (button(b.done, "done"), button(b.snooze, "snooze"), button(b.stop_water, "stop:water"))


def drink_buttons(texts: ReminderTexts) -> tuple[Button, ...]:
    return tuple(button(texts.drinks[d].label, f"log:{d}") for d in DRINKS)


def water_reminder(texts: ReminderTexts, variant: int) -> Reply:
    """A water reminder; `variant` picks the wording, so consecutive ones differ."""
    return Reply("reminder", texts.water[variant % len(texts.water)], water_buttons(texts))


def caffeine_checkin(texts: ReminderTexts, variant: int, total: int) -> Reply:
    text = texts.checkin[variant % len(texts.checkin)]
    text = text.replace("{total}", str(total)).replace("{limit}", str(texts.limit_mg))
    return Reply(
        "reminder", text, (*drink_buttons(texts), button(texts.buttons.stop_caffeine, "stop:caffeine"))
    )


def reminder_for(texts: ReminderTexts, kind: str, variant: int, caffeine_today: int = 0) -> Reply:
    """The reminder a subscription of `kind` sends; UnknownKind for a kind the code lacks."""
    if kind == "water":
        return water_reminder(texts, variant)
    if kind == "caffeine":
        return caffeine_checkin(texts, variant, caffeine_today)
    raise UnknownKind(kind)
