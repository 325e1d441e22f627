"""What the Twilio senders (reminders by WhatsApp and by SMS) share: pacing, the store, the REST client.

Both pace their sends evenly to their channel's rate (one every 1/MPS seconds, this
instance's share of it), record every message and every skip in the same table, send a
reply of several parts one part at a time (stopping at the first that does not go), and
put the numbered menu's hint below a menu. What may go and how it renders is a channel's
own: WhatsApp's 24-hour window and templates, SMS's segments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiolimiter import AsyncLimiter
from tenacity.wait import wait_base

from messenger_bot.channels.shared.words import NumberedWords, read_words
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import DEFAULT_WAIT, TwilioMessages, log, masked, public_url
from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, SendResult, partly
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage
from messenger_bot.throttle import pace_interval


class TwilioSender:
    """The shared part of a Twilio channel's sender; a subclass gives `send`."""

    def __init__(self, settings: Settings, channel: str, mps: float, number: str | None,
                 hint: Callable[[NumberedWords], str], stop_codes: frozenset[int] = frozenset(),
                 wait: wait_base = DEFAULT_WAIT) -> None:
        """`number` is the channel's sender (a number or a Messaging Service); `hint` picks the
        channel's line below a numbered menu; `stop_codes` are the errors that are the user's own STOP."""
        self.settings = settings
        self.channel = channel
        self.wait = wait
        self.limiter = AsyncLimiter(1, pace_interval(settings.share(mps)))
        self._number = number or ""
        self._pick_hint = hint
        self._stop_codes = stop_codes
        self._store: TwilioStore | None = None
        self._api: TwilioMessages | None = None
        self.hint = ""

    async def start(self, store: Storage) -> None:
        self.hint = self._pick_hint(read_words(self.settings.content_dir).numbered)
        self._store = TwilioStore(store, self.channel, self._stop_codes)
        self._api = TwilioMessages(self.settings, self._store, self._number,
                                   public_url(self.settings, f"/{self.channel}/status"), self.wait)
        await self._api.open()

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()

    @property
    def store(self) -> TwilioStore:
        assert self._store is not None, "start() first"
        return self._store

    async def remember_menu(self, user_key: str, reply: Reply) -> None:
        """A menu sent first (a reminder's buttons) is the one a typed number then picks."""
        if reply.buttons:
            await self.store.set_last_menu(user_key, [b.payload for b in reply.buttons])

    async def send_parts(self, user_key: str, parts: list[Part], kind: str) -> SendResult:
        """Each part in turn, paced; the first that does not go ends the send (`partly` says what did)."""
        assert self._api is not None, "start() first"
        result = SendResult(Outcome.SKIPPED, detail="nothing to send")
        first_id = None
        for part in parts:
            async with self.limiter:
                result = await self._api.send(user_key, part, kind)
            if result.outcome is not Outcome.SENT:
                return partly(result, first_id)
            first_id = first_id or result.provider_id
        return SendResult(result.outcome, provider_id=first_id, detail=result.detail)

    async def skip(self, user_key: str, kind: str, why: str, now: datetime | None = None) -> SendResult:
        """Nothing goes; that is recorded with the reason, so a reminder is never silently lost."""
        await self.store.record(None, user_key, "skipped", now or datetime.now(UTC), kind=kind, detail=why)
        log.info("%s send to %s skipped: %s", self.channel, masked(user_key), why)
        return SendResult(Outcome.SKIPPED, detail=why)
