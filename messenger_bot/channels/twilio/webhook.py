"""A Twilio channel's webhooks: signed form in, the engine's replies out, each message once.

The course is the same for WhatsApp and SMS: the signature is checked before anything is
read further (403, nothing stored), the form parsed (400 when it is not Twilio's), the
sender admitted by the flood gate, the MessageSid recorded so a redelivery is answered
once (and forgotten when the turn fails, so Twilio's retry is answered), then the turn.
Status callbacks record what became of each message and pause a user Twilio cannot reach.
A channel says only what is its own: its addresses, its turn's extras, how replies render.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator

from messenger_bot.channels.shared.dedup import InboundOnce
from messenger_bot.channels.shared.words import ChannelWords
from messenger_bot.channels.twilio.form import (
    BadForm,
    FormFields,
    error_code,
    message_sid,
    parse_form,
    signature_ok,
    signed_url,
)
from messenger_bot.channels.twilio.parts import Part, twiml
from messenger_bot.channels.twilio.rest import PAUSE_CODES, TwilioMessages, check_account, masked, public_url
from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.delivery import Outcome
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings
from messenger_bot.throttle import FloodGate, Throttle

log = logging.getLogger("messenger_bot.twilio")

#: One number may send this many messages in a burst, then one every two seconds.
FLOOD_BURST, FLOOD_SECONDS = 15, 30
TWIML = "application/xml"
#: Twilio gives up on a webhook after 15 s: past this, a turn (held by a locked database) gets 503.
DEADLINE_SECONDS = 10.0
WEBHOOK_BODY_LIMIT, STATUS_BODY_LIMIT = 64 * 1024, 16 * 1024


class TwilioChannel:
    """The shared course; subclasses give `incoming_from`, `user_key_of` and `answer`."""

    name: str
    sender: str

    def __init__(self, settings: Settings, name: str, sender: str,
                 stop_codes: frozenset[int] = frozenset()) -> None:
        if settings.twilio_auth_token is None:
            raise ValueError(f"TWILIO_AUTH_TOKEN must be set for {name}")
        self.settings = settings
        self.name = name
        self.sender = sender
        self.stop_codes = stop_codes
        self.webhook_path, self.status_path = f"/{name}/webhook", f"/{name}/status"
        self.body_limits = {self.webhook_path: WEBHOOK_BODY_LIMIT, self.status_path: STATUS_BODY_LIMIT}
        self.deadlines = {self.webhook_path: DEADLINE_SECONDS, self.status_path: DEADLINE_SECONDS}
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
        self.gate = FloodGate(Throttle(FLOOD_BURST, FLOOD_SECONDS))
        self._runtime: Runtime | None = None
        self._store: TwilioStore | None = None
        self._once: InboundOnce | None = None
        self._api: TwilioMessages | None = None

    # -- what a channel gives ------------------------------------------------------

    def incoming_from(self, form: FormFields, now: datetime) -> Incoming:
        """The message as the engine sees it; BadForm when the form is not this channel's."""
        raise NotImplementedError

    def user_key_of(self, address: str) -> str | None:
        """A status callback's `To` as this channel's user key, or None when it is not one."""
        raise NotImplementedError

    def answer(self, request: Request, user_key: str, replies: list[Reply]) -> Response:
        """The webhook's response carrying `replies` (TwiML, and REST for what TwiML cannot carry)."""
        raise NotImplementedError

    async def turn(self, form: FormFields, incoming: Incoming) -> list[Reply]:
        """The engine's answer; a channel may add its own (SMS: STOP, START, HELP)."""
        return await self.runtime.engine.turn(incoming)

    async def started(self) -> None:
        """Called once the store and the REST client are ready."""

    def past_the_gate(self, form: FormFields) -> bool:
        """A message the flood gate must never hold back (SMS: STOP, which must always take effect)."""
        return False

    # -- life --------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route(self.webhook_path, self.webhook, methods=["POST"]),
                Route(self.status_path, self.status, methods=["POST"])]

    async def start(self, runtime: Runtime) -> None:
        check_account(self.settings)
        self._runtime = runtime
        self._store = TwilioStore(runtime.store, self.name, self.stop_codes)
        self._once = InboundOnce(runtime.store, self.name)
        self._api = TwilioMessages(self.settings, self._store, self.sender,
                                   public_url(self.settings, self.status_path))
        await self._api.open()
        await self._once.forget_old(_now())
        await self.started()

    async def stop(self) -> None:
        if self._api is not None:
            await self._api.close()

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError(f"the {self.name} channel has not been started")
        return self._runtime

    @property
    def store(self) -> TwilioStore:
        if self._store is None:
            raise RuntimeError(f"the {self.name} channel has not been started")
        return self._store

    @property
    def api(self) -> TwilioMessages:
        if self._api is None:
            raise RuntimeError(f"the {self.name} channel has not been started")
        return self._api

    def words(self) -> ChannelWords:
        """The channels' words in the content now loaded (a reload may have changed them)."""
        words: ChannelWords = self.runtime.content.extra["channels.yaml"]
        return words

    # -- requests ----------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        now = _now()
        try:
            incoming = self.incoming_from(form, now)
        except BadForm as error:
            return bad_request(str(error))
        admission = None if self.past_the_gate(form) else await self.gate.admit(
            self.runtime.engine, incoming, incoming.user_key)
        if admission is not None and not admission.admitted:
            log.debug("%s user %s throttled", self.name, masked(incoming.user_key))
            # Plain text alone: no menu is saved for a throttled message, so no numbers to pick.
            return self.answer(request, incoming.user_key, [Reply(r.kind, r.text) for r in admission.alert])
        assert self._once is not None
        replies = await self._once.once(form["MessageSid"], now, lambda: self.turn(form, incoming))
        if replies is None:
            return twiml_response([])
        return self.answer(request, incoming.user_key, replies)

    async def status(self, request: Request) -> Response:
        """Twilio's word on a message sent: recorded; an unreachable user is paused until they write."""
        form = await self._verified(request)
        if isinstance(form, Response):
            return form
        try:
            sid = message_sid(form)
        except BadForm as error:
            return bad_request(str(error))
        state = form.get("MessageStatus") or form.get("SmsStatus")
        if not state:
            return bad_request("MessageStatus is required")
        user_key = self.user_key_of(form.get("To", ""))
        if user_key is None:
            return Response(status_code=204)
        code = error_code(form)
        await self.store.record(sid, user_key, state.lower(), _now(), kind="reply", error_code=code)
        if code in PAUSE_CODES:
            await self.store.pause(user_key, code)
            log.info("%s user %s paused by status callback: error %s", self.name, masked(user_key), code)
        return Response(status_code=204)

    async def _verified(self, request: Request) -> FormFields | Response:
        """The form, when Twilio signed it; else 403 (nothing read further, nothing stored)."""
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            return forbidden()
        try:
            form = parse_form(await request.body())
        except BadForm as error:
            return bad_request(str(error))
        url = signed_url(request, self.settings.public_base_url)
        if not signature_ok(self.validator, url, form, signature):
            return forbidden()
        return form

    # -- answers -----------------------------------------------------------------

    def status_callback(self, request: Request) -> str:
        base = self.settings.public_base_url or str(request.base_url)
        return base.rstrip("/") + self.status_path

    async def send_in_order(self, user_key: str, parts: list[Part]) -> None:
        """Replies by REST, one after another so they arrive in order; stop at the first refusal."""
        try:
            for part in parts:
                if not await self.send_one(user_key, part):
                    return
        except Exception:
            log.exception("%s: sending a reply to %s failed", self.name, masked(user_key))

    async def send_one(self, user_key: str, part: Part) -> bool:
        """One reply by REST; True when Twilio took it."""
        result = await self.api.send(user_key, part, "reply")
        return result.outcome is Outcome.SENT


def twiml_response(bodies: list[str], callback: str | None = None, background: Any = None,
                   media: list[Part] | None = None) -> Response:
    return Response(twiml(bodies, callback, media or ()), media_type=TWIML, background=background)


def forbidden() -> Response:
    return JSONResponse({"error": "missing or invalid X-Twilio-Signature"}, status_code=403)


def bad_request(why: str) -> Response:
    return JSONResponse({"error": why}, status_code=400)


def _now() -> datetime:
    return datetime.now(UTC)
