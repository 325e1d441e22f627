"""The shape of flows/telegram.yaml: every word Telegram shows that the engine does not say.

The command menu (setMyCommands) and the apology for a turn that failed. It lives beside the
loader rather than in channels/telegram/, so that validating the content never imports
python-telegram-bot or the channel (whose package imports the runtime, which loads the content).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from messenger_bot.content.schema import TEXT_LIMIT

#: The Bot API's limits on a BotCommand (telegram.constants.BotCommandLimit) and on a menu's size.
COMMAND_PATTERN = r"^[a-z0-9_]{1,32}$"
DESCRIPTION_LIMIT = 256
COMMANDS_LIMIT = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(_Strict):
    """One entry of the command menu. A tap sends "/<command>", which the engine reads as the
    typed word (the engine strips the slash), so every command here must be one it understands."""

    command: Annotated[str, Field(pattern=COMMAND_PATTERN)]
    description: Annotated[str, Field(min_length=1, max_length=DESCRIPTION_LIMIT)]


class TelegramTexts(_Strict):
    commands: tuple[Command, ...] = Field(min_length=1, max_length=COMMANDS_LIMIT)
    #: Sent when a turn failed and no redelivery will come: the user is never left without a word.
    apology: Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT)]

    @field_validator("commands")
    @classmethod
    def _unique(cls, commands: tuple[Command, ...]) -> tuple[Command, ...]:
        names = [c.command for c in commands]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"command listed twice: {', '.join(twice)}")
        return commands
