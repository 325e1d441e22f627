"""Reminders as the composition root plugs them in: their content file, tables and retention."""

from __future__ import annotations

from messenger_bot.features import FeatureSpec
from messenger_bot.reminders.texts import ReminderTexts

REMINDERS = FeatureSpec(
    name="reminders",
    build="messenger_bot.reminders.feature:build",
    content={"reminders.yaml": ReminderTexts},
    tables=("reminder_subscriptions", "reminder_outbox", "water_log", "caffeine_log"),
    retention={
        "reminder_subscriptions": "with its user",
        "reminder_outbox": "REMINDER_OUTBOX_DAYS after its last update once settled; with its user",
        "water_log": "DRINK_LOG_DAYS after its day; with its user",
        "caffeine_log": "DRINK_LOG_DAYS after its day; with its user",
    },
    telegram_commands=("water", "caffeine", "reminders"),
)
