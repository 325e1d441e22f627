"""WhatsApp through Twilio: signed webhooks in, the engine's replies out.

Replies go back as TwiML in the webhook's own response: no outbound call, nothing more
to fail or retry, and the reply leaves as soon as the turn is done. Only what TwiML
cannot carry (a Content template: tap-able menus with WHATSAPP_INTERACTIVE) goes through
the REST API, after the response, in order. The course of a request (signature, form,
flood gate, each MessageSid once, status callbacks) is every Twilio channel's, in
channels/twilio/webhook.py; sending first (reminders) is `WhatsAppSender`'s job.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from urllib.parse import urljoin

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from messenger_bot.channels.twilio.form import FormFields
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.webhook import TwilioChannel, twiml_response
from messenger_bot.channels.whatsapp import form
from messenger_bot.channels.whatsapp.render import render
from messenger_bot.channels.whatsapp.store import WhatsAppStore
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.runtime import ChannelSettingsError, Runtime
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.whatsapp")

_SENDER = re.compile(r"^whatsapp:\+\d{6,15}$")


class WhatsAppChannel(TwilioChannel):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, form.CHANNEL, settings.twilio_whatsapp_from or "")
        self.templates: dict[str, str] = {}

    async def start(self, runtime: Runtime) -> None:
        if not _SENDER.match(self.sender):
            raise ChannelSettingsError("TWILIO_WHATSAPP_FROM must look like whatsapp:+14155238886")
        await super().start(runtime)

    async def started(self) -> None:
        if self.settings.whatsapp_interactive:
            self.templates = await WhatsAppStore(self.runtime.store).templates()
            if not self.templates:
                log.warning("WHATSAPP_INTERACTIVE is on but no templates are stored: menus go as numbered "
                            "text until `messenger-bot whatsapp sync-templates` has run (then restart)")
        log.info("whatsapp: webhook %s, status %s, %s menus", self.webhook_path, self.status_path,
                 "tap-able" if self.templates else "numbered")

    def incoming_from(self, fields: FormFields, now: datetime) -> Incoming:
        return form.incoming_from(fields, now)

    def user_key_of(self, address: str) -> str | None:
        return form.user_key_of(address)

    def answer(self, request: Request, user_key: str, replies: list[Reply]) -> Response:
        hint = self.words().numbered.whatsapp_hint
        parts = [self._absolute(request, p) for p in render(replies, hint, self.templates or None)]
        if any(p.content_sid for p in parts):
            return twiml_response([], background=BackgroundTask(self.send_in_order, user_key, parts))
        media = [p for p in parts if p.media]
        bodies = [p.body or "" for p in parts if not p.media]
        return twiml_response(bodies, self.status_callback(request), media=media)

    def _absolute(self, request: Request, part: Part) -> Part:
        """A file link relative to this server becomes the address Twilio can fetch it from."""
        if not part.media or "://" in part.media:
            return part
        base = self.settings.public_base_url or str(request.base_url)
        return replace(part, media=urljoin(base.rstrip("/") + "/", part.media.lstrip("/")))
