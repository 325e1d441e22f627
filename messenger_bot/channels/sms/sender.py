"""Messages the bot sends first by SMS (reminders): paced, split within the segments, recorded.

No window as on WhatsApp: a number that wrote may be texted until it sends STOP. Sends
are paced to SMS_MPS, evenly (a long code sends one a second; more needs a toll-free
number, a short code or a Messaging Service with several numbers). A user who never
wrote, or paused (STOP, or a number Twilio cannot reach), gets nothing, and that is recorded.
"""

from __future__ import annotations

from tenacity.wait import wait_base

from messenger_bot.channels.sms.form import CHANNEL
from messenger_bot.channels.sms.render import render
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import DEFAULT_WAIT, OPTED_OUT
from messenger_bot.channels.twilio.sender import TwilioSender
from messenger_bot.conversation import Reply
from messenger_bot.delivery import SendResult
from messenger_bot.settings import Settings


class SmsSender(TwilioSender):
    def __init__(self, settings: Settings, wait: wait_base = DEFAULT_WAIT) -> None:
        """Twilio's 21610 (the carrier's opt-out) is the user's own STOP: it holds until START."""
        super().__init__(settings, CHANNEL, settings.sms_mps, settings.twilio_sms_from,
                         lambda words: words.sms_hint, frozenset({OPTED_OUT}), wait)

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        user = await self.store.store.load_user(CHANNEL, user_key)
        kind = template or "reminder"
        if user is None:
            return await self.skip(user_key, kind, "this number never wrote to the bot")
        if user.paused_reason:
            return await self.skip(user_key, kind, f"paused: {user.paused_reason}")
        bodies = render([reply], self.hint, self.settings.sms_max_segments, self.settings.public_base_url)
        await self.remember_menu(user_key, reply)
        return await self.send_parts(user_key, [Part(body=body) for body in bodies], kind)
