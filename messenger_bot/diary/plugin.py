"""The twitch diary as the composition root plugs it in: its content file, tables and retention."""

from __future__ import annotations

from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.features import FeatureSpec

DIARY = FeatureSpec(
    name="diary",
    build="messenger_bot.diary.feature:build",
    content={"diary.yaml": DiaryTexts},
    tables=("diary_entries", "diary_followups", "diary_files"),
    retention={
        "diary_entries": "with its user",
        "diary_followups": "with its user (a check-in is sent once, then settled)",
        "diary_files": "24 hours: a rendered chart or PDF expires with its link (diary/files.py); "
                       "with its user",
        "diary_keys": "nothing about users: the key that signs file links",
    },
    telegram_commands=("twitch", "summary", "myweek"),
)
