"""Telegram's command menu, from flows/telegram.yaml.

Telegram shows each user the menu set for their app's language (setMyCommands with a
`language_code`) and the one set without a language to everyone else. The menus are a
mapping from language code to that language's words, None standing for the default, so a
language whose content has its own telegram.yaml is one more entry.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Bot, BotCommand

from messenger_bot.content import Content
from messenger_bot.content.telegram import TelegramTexts

FILE = "telegram.yaml"


def texts_of(content: Content) -> TelegramTexts:
    texts = content.extra[FILE]
    assert isinstance(texts, TelegramTexts)
    return texts


def menus_of(content: Content) -> dict[str | None, TelegramTexts]:
    """Every language's command menu; today the default language's only."""
    return {None: texts_of(content)}


def command_menu(texts: TelegramTexts) -> list[BotCommand]:
    return [BotCommand(c.command, c.description) for c in texts.commands]


def command_names(menus: Mapping[str | None, TelegramTexts]) -> list[str]:
    """Every command any menu lists, each once: the handler that answers them reads them all."""
    names = (c.command for texts in menus.values() for c in texts.commands)
    return list(dict.fromkeys(names))


async def set_command_menus(bot: Bot, menus: Mapping[str | None, TelegramTexts]) -> None:
    """One setMyCommands per language, the default (no language_code) first."""
    for language in sorted(menus, key=lambda code: (code is not None, code or "")):
        await bot.set_my_commands(command_menu(menus[language]), language_code=language)
