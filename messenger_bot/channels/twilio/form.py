"""Twilio's webhook requests: the form, its signature, its message id, its error code.

The signature is checked with twilio's own `RequestValidator` against the URL Twilio
called, which behind a proxy or a tunnel is PUBLIC_BASE_URL + path, not what the app sees.
How an address looks (`whatsapp:+44…`, `+44…`) is the channel's; nothing here knows it.
"""

from __future__ import annotations

import hmac
import re
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from twilio.request_validator import RequestValidator

MAX_FIELDS = 200
#: Twilio's message SIDs: SM (or MM for media) and 32 hex digits. A signed request whose field
#: boundaries were shifted (the signature covers only the concatenation) fails this.
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
SID_FIELDS = ("MessageSid", "SmsSid", "SmsMessageSid")
#: Twilio's error codes have five digits; more is not a code (and would not fit a database integer).
_ERROR_CODE = re.compile(r"^[0-9]{1,9}$")
_COUNT = re.compile(r"[0-9]{1,4}")


class BadForm(Exception):
    """The request is not a form Twilio would send; the message says why, for a 400."""


class FormFields(dict[str, str]):
    """The last value of each field, and (for the signature, as Twilio computes it) all of them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._all: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._all[key].append(value)

    def getall(self, name: str) -> list[str]:
        return self._all[name]


def parse_form(body: bytes) -> FormFields:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadForm("the body is not a valid form (application/x-www-form-urlencoded, UTF-8)") from error
    return FormFields(pairs)


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: the public base plus this path (and query), else the request's own URL."""
    if not public_base_url:
        return str(request.url)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return public_base_url.rstrip("/") + request.scope["path"] + (f"?{query}" if query else "")


def signature_ok(validator: RequestValidator, url: str, form: FormFields, signature: str | None) -> bool:
    """Twilio's own check. The URL as configured usually matches at once; only otherwise does
    `validate` try it with and without the port (as Twilio's signing is inconsistent there)."""
    if not signature:
        return False
    if hmac.compare_digest(validator.compute_signature(url, form), signature):
        return True
    return validator.validate(url, form, signature)


def message_sid(form: FormFields) -> str:
    """The MessageSid, when it and any SmsSid / SmsMessageSid have Twilio's form and agree; else BadForm."""
    sid = form.get("MessageSid")
    if not sid:
        raise BadForm("MessageSid is missing")
    for name in SID_FIELDS:
        value = form.get(name)
        if value is not None and not _MESSAGE_SID.match(value):
            raise BadForm(f"{name} must be SM or MM and 32 hex digits, as Twilio's are")
        if value is not None and value != sid:
            raise BadForm(f"{name} and MessageSid differ")
    return sid


def sender_and_body(form: FormFields, key_of: Callable[[str], str | None], body_limit: int,
                    expected: str) -> tuple[str, str]:
    """The sender's user key (`key_of` reads the channel's addresses) and the text, cut to the
    channel's limit so no longer text reaches the engine; BadForm, saying what a sender looks
    like (`expected`), when `From` is not one, or when the message id is not Twilio's."""
    user_key = key_of(form.get("From", ""))
    if user_key is None:
        raise BadForm(f"From must be {expected}")
    message_sid(form)
    return user_key, form.get("Body", "")[:body_limit]


def error_code(form: FormFields) -> int | None:
    """A status callback's ErrorCode as a number, or None when absent or not a code."""
    value = form.get("ErrorCode") or ""
    return int(value) if _ERROR_CODE.match(value) else None


def media_count(form: FormFields) -> int:
    """How many files came with the message (NumMedia), 0 when absent or not a count."""
    value = form.get("NumMedia")
    return int(value) if value and _COUNT.fullmatch(value) else 0


def non_text(form: FormFields, body: str, button: str | None = None) -> bool:
    """A photo, a voice note, a location or an empty message: nothing the engine can read."""
    located = bool(form.get("Latitude") or form.get("Longitude"))
    return media_count(form) > 0 or located or (not body.strip() and button is None)
