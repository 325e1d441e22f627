"""Twilio's REST API: one async client, retries, and what each error means for a user.

The client is twilio's own `Client` over `AsyncTwilioHttpClient`, so no call blocks the
event loop; `TWILIO_API_BASE_URL` points its domains elsewhere (a fake server in tests).
Every send is recorded with its sid, state and error code; the error codes that mean
"this user cannot be reached" pause the user until they write again.

At most once. Creating a message is not idempotent (Twilio's error 20500 page warns that
retrying a 500 on a message send can deliver it twice), so a send is tried again only on
errors that prove nothing was created: no connection could be made (refused, DNS, connect
timeout), 429 (20429, "retry according to Retry-After") and 503 (20503, the service
turned the request away: "try again with exponential back-off"). Any other 5xx, a
timeout after the request left, a dropped connection, or a 2xx we cannot read (no sid)
is UNKNOWN: recorded so, and never sent again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.wait import wait_base
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from messenger_bot.channels.twilio.parts import Part
from messenger_bot.channels.twilio.store import TwilioStore
from messenger_bot.delivery import Outcome, SendResult
from messenger_bot.runtime import ChannelSettingsError
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.twilio")

#: Twilio's error for a number that sent STOP: nothing goes to it until it sends START.
OPTED_OUT = 21610
#: Twilio errors that mean the user cannot be reached now: pause them until they write.
PAUSE_CODES: dict[int, str] = {
    OPTED_OUT: "the user opted out (STOP)",
    63024: "not a valid WhatsApp recipient",
    63016: "outside the 24-hour window",
    21614: "not a mobile number",
}
#: Tries of one message: a single safe retry, and only when nothing was created (see not_created).
ATTEMPTS = 2
REQUEST_TIMEOUT = 15.0
DEFAULT_WAIT: wait_base = wait_exponential_jitter(multiplier=0.5, max=8.0)
#: A Messaging Service sends from its pool of numbers; its SID stands where a number would.
MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


class JsonAsyncHttpClient(AsyncTwilioHttpClient):
    """twilio 9.13's async client form-encodes JSON bodies (the Content API needs JSON);
    this sends them as JSON, like the sync client (twilio/twilio-python#932, fix in #964)."""

    async def request(self, method: str, url: str, params: Any = None, data: Any = None,
                      headers: Any = None, auth: Any = None, timeout: float | None = None,
                      allow_redirects: bool = False) -> Any:
        if headers and headers.get("Content-Type") == "application/json" and isinstance(data, dict):
            data = json.dumps(data)
        return await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                     timeout=timeout, allow_redirects=allow_redirects)


def make_client(settings: Settings) -> tuple[Client, AsyncTwilioHttpClient]:
    """A REST client for the configured account; call inside a running event loop."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
    http = JsonAsyncHttpClient(timeout=REQUEST_TIMEOUT)
    token = settings.twilio_auth_token.get_secret_value()
    client = Client(settings.twilio_account_sid, token, http_client=http)
    if settings.twilio_api_base_url:
        base = settings.twilio_api_base_url.rstrip("/")
        client.api.base_url = base
        client.content.base_url = base
    return client, http


def check_account(settings: Settings) -> None:
    """Settings with which nothing could be sent are named at start, not met at each send."""
    if not _ACCOUNT_SID.match(settings.twilio_account_sid or ""):
        raise ChannelSettingsError("TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal characters")
    base = settings.public_base_url
    if base and not base.startswith(("https://", "http://")):
        raise ChannelSettingsError("PUBLIC_BASE_URL must start with https:// (the address Twilio calls)")


def public_url(settings: Settings, path: str) -> str | None:
    """Where Twilio reaches this path (only known when PUBLIC_BASE_URL is set)."""
    return f"{settings.public_base_url.rstrip('/')}{path}" if settings.public_base_url else None


#: HTTP statuses with which Twilio turns a request away before creating anything.
NOT_CREATED_STATUSES = frozenset({429, 503})


def not_created(error: BaseException) -> bool:
    """True when the error proves no message was created, so sending again cannot double it."""
    if isinstance(error, TwilioRestException):
        return error.status in NOT_CREATED_STATUSES
    return isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def refused(error: BaseException) -> bool:
    """Twilio answered with a 4xx: the request was refused and nothing was created."""
    return isinstance(error, TwilioRestException) and 400 <= error.status < 500


def masked(user_key: str) -> str:
    """A phone number as logs show it: enough to tell users apart, not to dial them."""
    return f"…{user_key[-4:]}"


class TwilioMessages:
    """Creates messages, retries what is worth retrying, records and classifies the outcome."""

    def __init__(self, settings: Settings, store: TwilioStore, sender: str, callback: str | None,
                 wait: wait_base = DEFAULT_WAIT) -> None:
        self.settings = settings
        self.store = store
        self.wait = wait
        self.sender = sender
        self.callback = callback
        self.client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    async def open(self) -> None:
        self.client, self._http = make_client(self.settings)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def params(self, to: str, part: Part) -> dict[str, Any]:
        """The create call's arguments: from a number, or from a Messaging Service's pool."""
        origin = "messaging_service_sid" if MESSAGING_SERVICE.match(self.sender) else "from_"
        params: dict[str, Any] = {"to": to, origin: self.sender}
        if self.callback:
            params["status_callback"] = self.callback
        if part.content_sid:
            params["content_sid"] = part.content_sid
            if part.variables:
                params["content_variables"] = json.dumps(part.variables, ensure_ascii=False)
        else:
            params["body"] = part.body or ""
        if part.media:
            params["media_url"] = [part.media]
        return params

    async def send(self, to: str, part: Part, kind: str) -> SendResult:
        assert self.client is not None, "open() first"
        client = self.client
        params = self.params(to, part)
        try:
            message = await self._retrying(lambda: client.messages.create_async(**params))
        except Exception as error:  # whatever went wrong, the outcome decides a resend
            if refused(error):
                return await self._refused(to, part, kind, error)
            return await self._not_sent(to, part, kind, error)
        if not message.sid:
            return await self._not_sent(to, part, kind, ValueError("a 2xx without a message sid"))
        await self.store.record(message.sid, to, message.status or "queued", _now(), kind=kind,
                                content_sid=part.content_sid)
        return SendResult(Outcome.SENT, provider_id=message.sid)

    async def _not_sent(self, to: str, part: Part, kind: str, error: BaseException) -> SendResult:
        """FAILED when nothing was created (worth a later try), else UNKNOWN (never sent again)."""
        code = error.code if isinstance(error, TwilioRestException) and isinstance(error.code, int) else None
        name = f"twilio {error.status}" if isinstance(error, TwilioRestException) else type(error).__name__
        if not_created(error):
            detail = f"not created: {name}"
            status, outcome = "failed", Outcome.FAILED
        else:
            detail = f"outcome unknown: {name}"
            status, outcome = "unknown", Outcome.UNKNOWN
        await self.store.record(None, to, status, _now(), kind=kind, content_sid=part.content_sid,
                                error_code=code, detail=detail)
        log.warning("%s send to %s: %s", self.store.channel, masked(to), detail)
        return SendResult(outcome, detail=detail)

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(ATTEMPTS), wait=self.wait, retry=retry_if_exception(not_created),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refused(self, to: str, part: Part, kind: str, error: TwilioRestException) -> SendResult:
        code = error.code if isinstance(error.code, int) else None
        detail = f"twilio {error.status} error {code}"
        await self.store.record(None, to, "failed", _now(), kind=kind, content_sid=part.content_sid,
                                error_code=code, detail=detail)
        if code in PAUSE_CODES:
            await self.store.pause(to, code)
            log.info("%s user %s paused: error %s (%s)", self.store.channel, masked(to), code,
                     PAUSE_CODES[code])
            return SendResult(Outcome.BLOCKED, detail=f"{detail}: {PAUSE_CODES[code]}")
        log.warning("%s send to %s failed: %s", self.store.channel, masked(to), detail)
        return SendResult(Outcome.FAILED, detail=detail)


def _now() -> datetime:
    return datetime.now(UTC)
