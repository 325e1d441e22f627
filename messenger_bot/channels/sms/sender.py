"""Messages the bot sends first by SMS (reminders): paced, split within the segments, recorded.

No window as on WhatsApp: a number that wrote may be texted until it sends STOP. Sends
are paced to SMS_MPS, evenly (a long code sends one a second; more needs a toll-free
number, a short code or a Messaging Service with several numbers). A user who never
wrote, or paused (STOP, or a number Twilio cannot reach), gets nothing, and that is recorded.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiolimiter import AsyncLimiter
from tenacity.wait import wait_base

from messenger_bot.channels.shared.words import read_words
from messenger_bot.channels.sms.form import CHANNEL
from messenger_bot.channels.sms.render import render
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import DEFAULT_WAIT, OPTED_OUT, TwilioMessages, masked, public_url
from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, SendResult, partly
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage
from messenger_bot.throttle import pace_interval

log = logging.getLogger("messenger_bot.sms")


class SmsSender:
    channel = CHANNEL

    def __init__(self, settings: Settings, wait: wait_base = DEFAULT_WAIT) -> None:
        self.settings = settings
        self.wait = wait
        self.limiter = AsyncLimiter(1, pace_interval(settings.share(settings.sms_mps)))
        self._store: TwilioStore | None = None
        self._api: TwilioMessages | None = None
        self._hint = ""

    async def start(self, store: Storage) -> None:
        self._hint = read_words(self.settings.content_dir).numbered.sms_hint
        self._store = TwilioStore(store, CHANNEL, frozenset({OPTED_OUT}))
        self._api = TwilioMessages(self.settings, self._store, self.settings.twilio_sms_from or "",
                                   public_url(self.settings, f"/{CHANNEL}/status"), self.wait)
        await self._api.open()

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        assert self._store is not None and self._api is not None, "start() first"
        user = await self._store.store.load_user(CHANNEL, user_key)
        kind = template or "reminder"
        if user is None:
            return await self._skip(user_key, kind, "this number never wrote to the bot")
        if user.paused_reason:
            return await self._skip(user_key, kind, f"paused: {user.paused_reason}")
        bodies = render([reply], self._hint, self.settings.sms_max_segments, self.settings.public_base_url)
        if reply.buttons:
            await self._store.set_last_menu(user_key, [b.payload for b in reply.buttons])
        result = SendResult(Outcome.SKIPPED, detail="nothing to send")
        first_id = None
        for body in bodies:
            async with self.limiter:
                result = await self._api.send(user_key, Part(body=body), kind)
            if result.outcome is not Outcome.SENT:
                return partly(result, first_id)
            first_id = first_id or result.provider_id
        return SendResult(result.outcome, provider_id=first_id, detail=result.detail)

    async def _skip(self, user_key: str, kind: str, why: str) -> SendResult:
        assert self._store is not None
        await self._store.record(None, user_key, "skipped", datetime.now(UTC), kind=kind, detail=why)
        log.info("sms send to %s skipped: %s", masked(user_key), why)
        return SendResult(Outcome.SKIPPED, detail=why)
