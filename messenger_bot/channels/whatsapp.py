"""WhatsApp through Twilio: signed webhooks in, the engine's replies out.

Replies go back as TwiML in the webhook's own response: no outbound call, nothing more
to fail or retry, and the reply leaves as soon as the turn is done. Only what TwiML
cannot carry (a Content template: tap-able menus with WHATSAPP_INTERACTIVE) goes through
the REST API, after the response, in order. Sending first (reminders) is
`WhatsAppSender`'s job, in whatsapp_sender.py.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urljoin

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator

from messenger_bot.channels.whatsapp_form import (
    BadForm,
    FormFields,
    error_code,
    incoming_from,
    message_sid,
    parse_form,
    signature_ok,
    signed_url,
    user_key_of,
)
from messenger_bot.channels.whatsapp_render import Part, render, twiml
from messenger_bot.channels.whatsapp_sender import WhatsAppSender
from messenger_bot.channels.whatsapp_store import CHANNEL, WhatsAppStore
from messenger_bot.channels.whatsapp_twilio import PAUSE_CODES, TwilioMessages, check_settings, masked
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings
from messenger_bot.throttle import FloodGate, Throttle

__all__ = ["WhatsAppChannel", "WhatsAppSender"]

log = logging.getLogger("messenger_bot.whatsapp")

WEBHOOK = "/whatsapp/webhook"
STATUS = "/whatsapp/status"
#: One number may send this many messages in a burst, then one every two seconds.
FLOOD_BURST, FLOOD_SECONDS = 15, 30
#: Forget old MessageSids every this many new ones.
PRUNE_EVERY = 1000
TWIML = "application/xml"
#: Twilio gives up on a webhook after 15 s: past this, a turn (held by a locked database) gets 503.
DEADLINE_SECONDS = 10.0


class WhatsAppChannel:
    name = CHANNEL
    body_limits: ClassVar[dict[str, int]] = {WEBHOOK: 64 * 1024, STATUS: 16 * 1024}
    deadlines: ClassVar[dict[str, float]] = {WEBHOOK: DEADLINE_SECONDS, STATUS: DEADLINE_SECONDS}

    def __init__(self, settings: Settings) -> None:
        if settings.twilio_auth_token is None:
            raise ValueError("TWILIO_AUTH_TOKEN must be set for WhatsApp")
        self.settings = settings
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self.gate = FloodGate(Throttle(FLOOD_BURST, FLOOD_SECONDS))
        self.templates: dict[str, str] = {}
        self._runtime: Runtime | None = None
        self._store: WhatsAppStore | None = None
        self._api: TwilioMessages | None = None
        self._new_since_prune = 0
        self._releasing: set[asyncio.Task[None]] = set()

    def routes(self) -> list[BaseRoute]:
        return [Route(WEBHOOK, self.webhook, methods=["POST"]), Route(STATUS, self.status, methods=["POST"])]

    async def start(self, runtime: Runtime) -> None:
        check_settings(self.settings)
        self._runtime = runtime
        self._store = WhatsAppStore(runtime.store)
        self._api = TwilioMessages(self.settings, self._store)
        await self._api.open()
        if self.settings.whatsapp_interactive:
            self.templates = await self._store.templates()
            if not self.templates:
                log.warning("WHATSAPP_INTERACTIVE is on but no templates are stored: menus go as numbered "
                            "text until `messenger-bot whatsapp sync-templates` has run (then restart)")
        await self._store.forget_old_inbound(_now())
        log.info("whatsapp: webhook %s, status %s, %s menus", WEBHOOK, STATUS,
                 "tap-able" if self.templates else "numbered")

    async def stop(self) -> None:
        if self._api is not None:
            await self._api.close()

    # -- requests ----------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        now = _now()
        try:
            incoming = incoming_from(form, now)
        except BadForm as error:
            return _bad(str(error))
        runtime, store = self._ready()
        admission = await self.gate.admit(runtime.engine, incoming, incoming.user_key)
        if not admission.admitted:
            log.debug("whatsapp user %s throttled", masked(incoming.user_key))
            return self._alert_alone(request, admission.alert)
        sid = form["MessageSid"]
        try:
            first = await store.first_delivery(sid, now)
        except asyncio.CancelledError:
            self._release_later(sid)
            raise
        if not first:
            return _twiml([])
        await self._maybe_prune(now)
        try:
            replies = await runtime.engine.turn(incoming)
        except Exception:
            # Nothing is lost: the 5xx makes Twilio retry, and the retry must not look like a duplicate.
            await store.release(sid)
            raise
        except asyncio.CancelledError:
            self._release_later(sid)
            raise
        return self._answer(request, incoming.user_key, replies)

    def _release_later(self, sid: str) -> None:
        """Past the deadline (a locked database) the request is answered 503 and its turn cancelled;
        the delivery is released once the database lets it, so Twilio's retry is not a duplicate."""
        _, store = self._ready()
        task = asyncio.get_running_loop().create_task(store.release(sid))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def status(self, request: Request) -> Response:
        """Twilio's word on a message sent: recorded; an unreachable user is paused until they write."""
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        try:
            sid = message_sid(form)
        except BadForm as error:
            return _bad(str(error))
        state = form.get("MessageStatus") or form.get("SmsStatus")
        if not state:
            return _bad("MessageStatus is required")
        user_key = user_key_of(form.get("To", ""))
        if user_key is None:
            return Response(status_code=204)
        code = error_code(form)
        _, store = self._ready()
        await store.record(sid, user_key, state.lower(), _now(), kind="reply", error_code=code)
        if code in PAUSE_CODES:
            await store.pause(user_key)
            log.info("whatsapp user %s paused by status callback: error %s", masked(user_key), code)
        return Response(status_code=204)

    async def _verified(self, request: Request) -> FormFields | Response:
        """The form, when Twilio signed it; else 403 (nothing read further, nothing stored)."""
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            return _forbidden()
        try:
            form = parse_form(await request.body())
        except BadForm as error:
            return _bad(str(error))
        url = signed_url(request, self.settings.public_base_url)
        if not signature_ok(self.validator, url, form, signature):
            return _forbidden()
        return form

    # -- answers -----------------------------------------------------------------

    def _answer(self, request: Request, user_key: str, replies: list[Reply]) -> Response:
        parts = [self._absolute(request, p) for p in render(replies, self.templates or None)]
        if any(p.content_sid for p in parts):
            return _twiml([], background=BackgroundTask(self._send_rest, user_key, parts))
        media = [p for p in parts if p.media]
        bodies = [p.body or "" for p in parts if not p.media]
        return _twiml(bodies, self._status_callback(request), media=media)

    def _absolute(self, request: Request, part: Part) -> Part:
        """A file link relative to this server becomes the address Twilio can fetch it from."""
        if not part.media or "://" in part.media:
            return part
        base = self.settings.public_base_url or str(request.base_url)
        return replace(part, media=urljoin(base.rstrip("/") + "/", part.media.lstrip("/")))

    def _alert_alone(self, request: Request, alert: list[Reply]) -> Response:
        """A throttled sender's alert, as plain TwiML: no numbered options, since no menu is saved
        for a throttled message and a typed number would pick from an older one."""
        bodies = [p.body or "" for p in render([Reply(r.kind, r.text) for r in alert])]
        return _twiml(bodies, self._status_callback(request) if bodies else None)

    async def _send_rest(self, user_key: str, parts: list[Part]) -> None:
        """Interactive replies, one after another so they arrive in order; stop at the first refusal."""
        assert self._api is not None
        try:
            for part in parts:
                result = await self._api.send(user_key, part, "reply")
                if result.outcome is not Outcome.SENT:
                    return
        except Exception:
            log.exception("whatsapp: sending an interactive reply to %s failed", masked(user_key))

    def _status_callback(self, request: Request) -> str:
        base = self.settings.public_base_url or str(request.base_url)
        return base.rstrip("/") + STATUS

    async def _maybe_prune(self, now: datetime) -> None:
        self._new_since_prune += 1
        if self._new_since_prune >= PRUNE_EVERY:
            self._new_since_prune = 0
            await self._ready()[1].forget_old_inbound(now)

    def _ready(self) -> tuple[Runtime, WhatsAppStore]:
        if self._runtime is None or self._store is None:
            raise RuntimeError("the WhatsApp channel has not been started")
        return self._runtime, self._store


def _twiml(
    bodies: list[str], callback: str | None = None, background: BackgroundTask | None = None,
    media: list[Part] | None = None,
) -> Response:
    return Response(twiml(bodies, callback, media or ()), media_type=TWIML, background=background)


def _forbidden() -> Response:
    return JSONResponse({"error": "missing or invalid X-Twilio-Signature"}, status_code=403)


def _bad(why: str) -> Response:
    return JSONResponse({"error": why}, status_code=400)


def _now() -> datetime:
    return datetime.now(UTC)
