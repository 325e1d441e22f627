"""SMS through Twilio: signed webhooks in, the engine's replies out as text messages.

The course of a request (signature, form, flood gate, each MessageSid once, status
callbacks) is every Twilio channel's (channels/twilio/webhook.py). A reply that fits one
message goes back as TwiML in the webhook's own response; a longer one (several messages
of at most SMS_MAX_SEGMENTS) goes by the REST API after the response, one after another
at SMS_MPS, so the messages arrive in order. STOP, START and HELP as carriers expect
(keywords.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from aiolimiter import AsyncLimiter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from messenger_bot.channels.shared.numbered import menu_index
from messenger_bot.channels.sms import form
from messenger_bot.channels.sms.keywords import keyword
from messenger_bot.channels.sms.render import render
from messenger_bot.channels.twilio.form import FormFields
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.rest import OPTED_OUT
from messenger_bot.channels.twilio.webhook import TwilioChannel, twiml_response
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.runtime import ChannelSettingsError, Runtime
from messenger_bot.settings import Settings
from messenger_bot.storage import STOPPED
from messenger_bot.throttle import pace_interval

log = logging.getLogger("messenger_bot.sms")


class SmsChannel(TwilioChannel):
    def __init__(self, settings: Settings) -> None:
        # On SMS, Twilio's 21610 is the user's own STOP (sent to the number), not a delivery failure.
        super().__init__(settings, form.CHANNEL, settings.twilio_sms_from or "", frozenset({OPTED_OUT}))
        self.limiter = AsyncLimiter(1, pace_interval(settings.share(settings.sms_mps)))

    async def start(self, runtime: Runtime) -> None:
        if not self.sender:
            raise ChannelSettingsError("TWILIO_SMS_FROM must be set (+14155550123 or an MG… service SID)")
        await super().start(runtime)
        log.info("sms: webhook %s, status %s, from %s", self.webhook_path, self.status_path, self.sender)

    def incoming_from(self, fields: FormFields, now: datetime) -> Incoming:
        return form.incoming_from(fields, now)

    def user_key_of(self, address: str) -> str | None:
        return form.user_key_of(address)

    def past_the_gate(self, fields: FormFields) -> bool:
        """However many messages came before, a STOP is recorded (and costs one write, no turn)."""
        return keyword(fields) == "stop"

    async def turn(self, fields: FormFields, incoming: Incoming) -> list[Reply]:
        """STOP: the user's own pause, and not a word more (Twilio has confirmed it). START:
        the pause lifted and the menu. HELP: the bot's help, and how to stop."""
        said = keyword(fields)
        store = self.runtime.store
        if said == "stop":
            await store.pause_user(self.name, incoming.user_key, STOPPED)
            return []
        if said == "start":
            replies = await self.runtime.engine.turn(replace(incoming, text="start"))
            await store.resume_user(self.name, incoming.user_key, STOPPED)
            return replies
        if said == "help":
            replies = await self.runtime.engine.turn(replace(incoming, text="help"))
            return _with_footer(replies, self.words().sms.help_footer)
        return await super().turn(fields, incoming)

    def answer(self, request: Request, user_key: str, replies: list[Reply]) -> Response:
        base = self.settings.public_base_url or str(request.base_url)
        bodies = render(replies, self.words().numbered.sms_hint, self.settings.sms_max_segments, base)
        if len(bodies) <= 1:
            return twiml_response(bodies, self.status_callback(request))
        parts = [Part(body=body) for body in bodies]
        return twiml_response([], background=BackgroundTask(self.send_in_order, user_key, parts))

    async def send_one(self, user_key: str, part: Part) -> bool:
        async with self.limiter:
            return await super().send_one(user_key, part)


def _with_footer(replies: list[Reply], footer: str) -> list[Reply]:
    """The footer below the help's text, above its numbered options (the help ends in the menu;
    a new user's notice comes before it)."""
    if not replies:
        return replies
    at = menu_index(replies) if menu_index(replies) >= 0 else len(replies) - 1
    helped = replace(replies[at], text=f"{replies[at].text.rstrip()}\n\n{footer}")
    return [*replies[:at], helped, *replies[at + 1:]]
