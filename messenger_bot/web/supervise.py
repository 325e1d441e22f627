"""Degraded, not down: each channel starts on its own, and providers get an answer in time.

A channel that cannot start (the Telegram Bot API unreachable, Twilio settings that are wrong)
must not take the web chat and the other channels down with it. `Supervisor` starts each one;
one that fails is named by /healthz and the log, and tried again in the background with
back-off until it starts, while everything else serves. A `ChannelSettingsError` (a refused
token, a malformed sender) is not retried: only a fixed setting and a restart help.

`DeadlineMiddleware` answers a provider's webhook with 503 before the provider gives up on it
(Twilio waits 15 s), when the database is locked and the turn cannot finish: the provider
delivers it again later, instead of a reply that never arrives.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messenger_bot.runtime import ChannelSettingsError, Runtime
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.web")

#: The first retry of a channel that could not start, then twice as long each time, up to the cap.
RETRY_FIRST, RETRY_MAX = 1.0, 60.0


class Startable(Protocol):
    @property
    def name(self) -> str: ...

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class _State:
    part: Startable
    up: bool = False
    #: Why it is down, as /healthz and the log say it (no secret in it).
    why: str | None = None
    attempts: int = 0
    retrying: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    """Starts channels one by one; the ones that fail are retried in the background."""

    def __init__(self, parts: list[Startable], settings: Settings) -> None:
        self._states = [_State(p) for p in parts]
        self._secrets = [s.get_secret_value() for s in (
            settings.telegram_bot_token, settings.twilio_auth_token, settings.telegram_webhook_secret,
        ) if s is not None and s.get_secret_value()]

    async def start(self, runtime: Runtime) -> None:
        for state in self._states:
            if await self._attempt(state, runtime) is False:
                state.retrying = asyncio.create_task(self._retry(state, runtime))
            if not state.up:
                then = "retrying in the background" if state.retrying else "not retried"
                log.error("%s cannot start: %s; %s, the others serve", state.part.name, state.why, then)

    async def stop(self) -> None:
        for state in reversed(self._states):
            if state.retrying is not None:
                state.retrying.cancel()
                await asyncio.gather(state.retrying, return_exceptions=True)
            if state.up:
                await state.part.stop()
                state.up = False

    def down(self) -> dict[str, str]:
        """Each channel that is not serving, and why."""
        return {s.part.name: s.why or "starting" for s in self._states if not s.up}

    def channels(self) -> dict[str, str]:
        return {s.part.name: "up" if s.up else "down" for s in self._states}

    def is_up(self, name: str) -> bool:
        return any(s.up for s in self._states if s.part.name == name)

    async def _attempt(self, state: _State, runtime: Runtime) -> bool | None:
        """True: started. False: failed, worth another try. None: its settings are wrong."""
        state.attempts += 1
        try:
            await state.part.start(runtime)
        except ChannelSettingsError as error:
            state.why = f"{self._safe(error)} (fix the setting and restart)"
            return None
        except Exception as error:  # whatever a provider's client raises: the others must still serve
            state.why = f"{type(error).__name__}: {self._safe(error)}"
            return False
        state.up, state.why = True, None
        return True

    async def _retry(self, state: _State, runtime: Runtime) -> None:
        delay = RETRY_FIRST
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            started = await self._attempt(state, runtime)
            if started is not False:
                break
            log.warning("%s still cannot start (attempt %d): %s; next try in %.0f s",
                        state.part.name, state.attempts, state.why, delay)
        if state.up:
            log.info("%s started (attempt %d)", state.part.name, state.attempts)
        else:
            log.error("%s cannot start: %s", state.part.name, state.why)
        state.retrying = None

    def _safe(self, error: BaseException) -> str:
        text = str(error) or type(error).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[:300]


class DeadlineMiddleware:
    """A request on one of `deadlines`' paths that has not answered in time gets 503 (Retry-After),
    and its handler is cancelled, so a locked database never holds a provider past its timeout.
    Once the answer has started, the deadline no longer applies."""

    def __init__(self, app: ASGIApp, deadlines: Mapping[str, float]) -> None:
        self.app = app
        self.deadlines = dict(deadlines)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = self.deadlines.get(scope["path"]) if scope["type"] == "http" else None
        if seconds is None:
            await self.app(scope, receive, send)
            return
        started = False
        try:
            async with asyncio.timeout(seconds) as deadline:

                async def tracked(message: Message) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start":
                        started = True
                        deadline.reschedule(None)  # answered: a background send after it may go on
                    await send(message)

                await self.app(scope, receive, tracked)
        except TimeoutError:
            log.warning("%s took over %.0f s (database locked?): answered 503", scope["path"], seconds)
            if not started:
                await _unavailable(send)


class ChannelGateMiddleware:
    """A channel's own paths answer 503 while it is down: its provider delivers again later."""

    def __init__(self, app: ASGIApp, supervisor: Supervisor, paths: Mapping[str, str]) -> None:
        self.app = app
        self.supervisor = supervisor
        self.paths = dict(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self.paths.get(scope["path"]) if scope["type"] == "http" else None
        if name is not None and not self.supervisor.is_up(name):
            await _unavailable(send)
            return
        await self.app(scope, receive, send)


async def _unavailable(send: Send) -> None:
    body = json.dumps({"error": "temporarily unavailable; please try again shortly"}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"retry-after", b"5"),
                          (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
