"""Messages the bot sends first on WhatsApp (reminders): paced, inside the rules, never silently lost.

WhatsApp allows free text only within 24 hours of the user's last message; after that
only an approved template (a content SID from settings, per kind of message) may go, and
without one the send is skipped and recorded. Sends are paced to WHATSAPP_MPS, evenly:
one every 1/MPS seconds, so no one-second window ever holds more than the limit (the
Twilio sandbox wants 0.33, one every three seconds).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiolimiter import AsyncLimiter
from tenacity.wait import wait_base

from messenger_bot.channels.shared.words import read_words
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import DEFAULT_WAIT, TwilioMessages, log, masked, public_url
from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.channels.whatsapp.form import CHANNEL
from messenger_bot.channels.whatsapp.render import render
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, SendResult, partly
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage
from messenger_bot.throttle import pace_interval

#: WhatsApp's customer-service window, less a margin for the message to reach Twilio and WhatsApp.
WINDOW = timedelta(hours=24) - timedelta(minutes=10)


def template_sid(settings: Settings, kind: str | None) -> str | None:
    """The approved template configured for a kind of message (WHATSAPP_TEMPLATE_<KIND>)."""
    if not kind:
        return None
    value = getattr(settings, f"whatsapp_template_{kind.lower().replace('-', '_')}", None)
    return value if isinstance(value, str) and value else None


class WhatsAppSender:
    channel = CHANNEL

    def __init__(self, settings: Settings, wait: wait_base = DEFAULT_WAIT) -> None:
        self.settings = settings
        self.wait = wait
        self.limiter = AsyncLimiter(1, pace_interval(settings.share(settings.whatsapp_mps)))
        self._store: TwilioStore | None = None
        self._api: TwilioMessages | None = None
        self._hint = ""

    async def start(self, store: Storage) -> None:
        self._hint = read_words(self.settings.content_dir).numbered.whatsapp_hint
        self._store = TwilioStore(store, CHANNEL)
        sender = self.settings.twilio_whatsapp_from or ""
        self._api = TwilioMessages(self.settings, self._store, sender,
                                   public_url(self.settings, f"/{CHANNEL}/status"), self.wait)
        await self._api.open()

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        assert self._store is not None and self._api is not None, "start() first"
        user = await self._store.store.load_user(CHANNEL, user_key)
        now = datetime.now(UTC)
        if user is not None and user.paused_reason:
            return await self._skip(user_key, template, f"paused: {user.paused_reason}", now)
        last = user.last_inbound_at if user is not None else None
        if last is not None and now - last < WINDOW:
            parts = render([reply], self._hint)
            if reply.buttons:
                await self._store.set_last_menu(user_key, [b.payload for b in reply.buttons])
        else:
            sid = template_sid(self.settings, template)
            if sid is None:
                setting = f"WHATSAPP_TEMPLATE_{(template or '<kind>').upper()}"
                why = f"outside the 24-hour window and no approved template ({setting} is not set)"
                return await self._skip(user_key, template, why, now)
            parts = [Part(content_sid=sid)]
        return await self._send_parts(user_key, parts, template or "reminder")

    async def _send_parts(self, user_key: str, parts: list[Part], kind: str) -> SendResult:
        assert self._api is not None
        result = SendResult(Outcome.SKIPPED, detail="nothing to send")
        first_id = None
        for part in parts:
            async with self.limiter:
                result = await self._api.send(user_key, part, kind)
            if result.outcome is not Outcome.SENT:
                return partly(result, first_id)
            first_id = first_id or result.provider_id
        return SendResult(result.outcome, provider_id=first_id, detail=result.detail)

    async def _skip(self, user_key: str, kind: str | None, why: str, now: datetime) -> SendResult:
        assert self._store is not None
        await self._store.record(None, user_key, "skipped", now, kind=kind or "reminder", detail=why)
        log.info("whatsapp send to %s skipped: %s", masked(user_key), why)
        return SendResult(Outcome.SKIPPED, detail=why)
