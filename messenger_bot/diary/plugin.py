"""The twitch diary as the composition root plugs it in: its content file, tables, retention and
Telegram command."""

from __future__ import annotations

from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.features import FeatureSpec
from messenger_bot.storage import UserTable

DIARY = FeatureSpec(
    name="diary",
    build="messenger_bot.diary.feature:build",
    content={"diary.yaml": DiaryTexts},
    tables=(UserTable("diary_entries"), UserTable("diary_followups"), UserTable("diary_files")),
    retention={
        "diary_entries": "with its user",
        "diary_followups": "with its user (a check-in is sent once, then settled)",
        "diary_files": "24 hours: a rendered chart or PDF expires with its link (diary/files.py); "
                       "with its user",
        "diary_keys": "nothing about users: the key that signs file links",
    },
    telegram_commands=("diary",),
)
