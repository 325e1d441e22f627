"""Messages the bot sends first on WhatsApp (reminders): paced, inside the rules, never silently lost.

WhatsApp allows free text only within 24 hours of the user's last message; after that
only an approved template (a content SID from settings, per kind of message) may go, and
without one the send is skipped and recorded. Sends are paced to WHATSAPP_MPS, evenly:
one every 1/MPS seconds, so no one-second window ever holds more than the limit (the
Twilio sandbox wants 0.33, one every three seconds).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenacity.wait import wait_base

from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import DEFAULT_WAIT
from messenger_bot.channels.twilio.sender import TwilioSender
from messenger_bot.channels.whatsapp.form import CHANNEL
from messenger_bot.channels.whatsapp.render import render
from messenger_bot.conversation import Reply
from messenger_bot.delivery import SendResult
from messenger_bot.settings import Settings

#: WhatsApp's customer-service window, less a margin for the message to reach Twilio and WhatsApp.
WINDOW = timedelta(hours=24) - timedelta(minutes=10)


def template_sid(settings: Settings, kind: str | None) -> str | None:
    """The approved template configured for a kind of message (WHATSAPP_TEMPLATE_<KIND>)."""
    if not kind:
        return None
    value = getattr(settings, f"whatsapp_template_{kind.lower().replace('-', '_')}", None)
    return value if isinstance(value, str) and value else None


class WhatsAppSender(TwilioSender):
    def __init__(self, settings: Settings, wait: wait_base = DEFAULT_WAIT) -> None:
        super().__init__(settings, CHANNEL, settings.whatsapp_mps, settings.twilio_whatsapp_from,
                         lambda words: words.whatsapp_hint, wait=wait)

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        user = await self.store.store.load_user(CHANNEL, user_key)
        now = datetime.now(UTC)
        kind = template or "reminder"
        if user is not None and user.paused_reason:
            return await self.skip(user_key, kind, f"paused: {user.paused_reason}", now)
        last = user.last_inbound_at if user is not None else None
        if last is not None and now - last < WINDOW:
            parts = render([reply], self.hint)
            await self.remember_menu(user_key, reply)
        else:
            sid = template_sid(self.settings, template)
            if sid is None:
                setting = f"WHATSAPP_TEMPLATE_{(template or '<kind>').upper()}"
                why = f"outside the 24-hour window and no approved template ({setting} is not set)"
                return await self.skip(user_key, kind, why, now)
            parts = [Part(content_sid=sid)]
        return await self.send_parts(user_key, parts, kind)
