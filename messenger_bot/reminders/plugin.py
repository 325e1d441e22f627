"""Reminders as the composition root plugs them in: their content file, tables, retention, Telegram
commands, background job and command-line commands."""

from __future__ import annotations

from datetime import timedelta

from messenger_bot.features import Expiry, FeatureSpec
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.settings import Settings
from messenger_bot.storage import UserTable


def _drink_log_age(settings: Settings) -> timedelta:
    return timedelta(days=settings.drink_log_days)


def _outbox_age(settings: Settings) -> timedelta:
    return timedelta(days=settings.reminder_outbox_days)


REMINDERS = FeatureSpec(
    name="reminders",
    build="messenger_bot.reminders.feature:build",
    content={"reminders.yaml": ReminderTexts},
    tables=(
        UserTable("reminder_subscriptions", newest="updated_at"),
        UserTable("reminder_outbox", newest="updated_at"),
        UserTable("water_log", newest="day"),
        UserTable("caffeine_log", newest="logged_at"),
    ),
    retention={
        "reminder_subscriptions": "with its user",
        "reminder_outbox": "REMINDER_OUTBOX_DAYS after its last update once settled; with its user",
        "water_log": "DRINK_LOG_DAYS after its day; with its user",
        "caffeine_log": "DRINK_LOG_DAYS after its day; with its user",
    },
    expiries=(
        Expiry("reminder_outbox", "id", "status <> 'pending' AND updated_at < ?", _outbox_age),
        Expiry("water_log", "channel, user_key, day", "day < ?", _drink_log_age, in_days=True),
        Expiry("caffeine_log", "id", "day < ?", _drink_log_age, in_days=True),
    ),
    # A messaging user with a reminder still on is kept: the reminder is what they asked for.
    keeps_user="EXISTS (SELECT 1 FROM reminder_subscriptions s WHERE s.channel = users.channel "
               "AND s.user_key = users.user_key AND s.active = 1)",
    telegram_commands=("reminders", "water", "caffeine"),
    # The dispatcher's tick in `serve`; it runs the diary's check-ins too, over the same senders.
    jobs=("messenger_bot.reminders.scheduler:ReminderScheduler",),
    cli="messenger_bot.reminders.cli:add_parser",
)
