"""The shapes a channel fills, importable from both sides without a cycle.

The composition root (wiring.py) builds channels and senders; the web app mounts a `Channel`'s
routes and starts it with the runtime; the reminder dispatcher sends through a `Sender`
(delivery.py, re-exported here). Nothing here imports a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from starlette.routing import BaseRoute

from messenger_bot.delivery import Sender
from messenger_bot.runtime import Runtime

__all__ = ["Channel", "Sender"]


class Channel(Protocol):
    """A mouth of the bot: it translates, and the engine decides what to say.

    `body_limits` ({path: bytes}) caps a request's body per path. A channel may also name
    `deadlines` ({path: seconds}): a request there that has not answered in time gets 503, so
    its provider delivers it again instead of timing out. Both are read-only, so a class
    attribute satisfies them as well as an instance's."""

    @property
    def name(self) -> str: ...

    @property
    def body_limits(self) -> Mapping[str, int]: ...

    def routes(self) -> list[BaseRoute]: ...

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...
