"""A python-telegram-bot persistence that stores nothing, so PTB's bookkeeping stays bounded.

Without a persistence, PTB 22.8's `Application._mark_for_persistence_update` adds the chat and
user id of every update to `_chat_ids_to_be_updated_in_persistence` and
`_user_ids_to_be_updated_in_persistence`, and only `update_persistence` (which returns at once
without a persistence) ever empties them: every id ever seen stays. With `KeepNothing`, PTB's
periodic run empties those sets; the empty `chat_data`/`user_data` entries that run creates are
dropped again through PTB's public `drop_chat_data`/`drop_user_data`, whose own sets the next run
empties. Memory then follows the chats of the last minute or two. The bot's state lives in our
database, never in PTB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

#: How often PTB hands its bookkeeping to the persistence (and so forgets it), in seconds.
FORGET_EVERY = 60.0


class KeepNothing(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A persistence that stores nothing; it exists so PTB empties its per-chat bookkeeping."""

    def __init__(self, update_interval: float = FORGET_EVERY) -> None:
        store = PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False)
        super().__init__(store_data=store, update_interval=update_interval)
        #: Set to the application's drop_chat_data / drop_user_data once it is built.
        self.forget_chat: Callable[[int], None] = lambda _: None
        self.forget_user: Callable[[int], None] = lambda _: None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        self.forget_chat(chat_id)  # the entry PTB made just to hand it over

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        self.forget_user(user_id)

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[Any, Any]:
        return {}

    async def update_conversation(self, name: str, key: Any, new_state: object | None) -> None:
        return None

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
