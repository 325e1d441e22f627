"""The twitch diary as the composition root plugs it in: its content file, tables and retention."""

from __future__ import annotations

from messenger_bot.content import Content
from messenger_bot.diary.feature import DiaryFeature
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.engine import Feature
from messenger_bot.features import FeatureSpec
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage


def _build(content: Content, store: Storage, settings: Settings) -> Feature:
    return DiaryFeature(content, store, settings.public_base_url)


DIARY = FeatureSpec(
    name="diary",
    build=_build,
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
