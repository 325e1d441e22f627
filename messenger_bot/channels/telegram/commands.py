"""Telegram's command menu, from flows/telegram.yaml.

Telegram shows each user the menu set for their app's language (setMyCommands with a
`language_code`) and the one set without a language to everyone else. The menus are a
mapping from language code to that language's words, None standing for the default: the
default language's menu goes without a code (so every app language unlisted sees it), each
other language's flows/<code>/telegram.yaml with its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Bot, BotCommand

from messenger_bot.content import Content
from messenger_bot.content.telegram import TelegramTexts

FILE = "telegram.yaml"


def texts_of(content: Content, language: str | None = None) -> TelegramTexts:
    """A language's Telegram words (the default's when the content has no such language)."""
    texts = content.in_language(language).extra[FILE]
    assert isinstance(texts, TelegramTexts)
    return texts


def menus_of(content: Content) -> dict[str | None, TelegramTexts]:
    """Every language's command menu: the default under None, every other under its code."""
    default = content.in_language(None).code
    menus: dict[str | None, TelegramTexts] = {None: texts_of(content)}
    menus.update({code: texts_of(content, code) for code in content.languages if code != default})
    return menus


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
