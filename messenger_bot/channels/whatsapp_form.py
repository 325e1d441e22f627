"""Twilio's webhook requests: the form, its signature, and the `Incoming` a message becomes.

The signature is checked with twilio's own `RequestValidator` against the URL Twilio
called, which behind a proxy or a tunnel is PUBLIC_BASE_URL + path, not what the app sees.
"""

from __future__ import annotations

import hmac
import re
from collections import defaultdict
from datetime import datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from twilio.request_validator import RequestValidator

from messenger_bot.conversation import Incoming

CHANNEL = "whatsapp"
MAX_FIELDS = 200
#: WhatsApp's own limit on a message's text: no longer text reaches the engine.
BODY_LIMIT = 4096
#: ASCII digits only: `\d` would also take other scripts' digits, which no phone number is written in.
_ADDRESS = re.compile(r"^whatsapp:\+?([0-9]{6,15})$")
#: A WhatsApp user with a username and no phone number shown: Meta's business-scoped user id
#: (two letters, a dot, up to 128 letters and digits; `US.ENT.…` for a parent id), as Twilio's
#: `From` carries it: `whatsapp:US.13491208655302741918`.
_USER_ID = re.compile(r"^whatsapp:([A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128})$")
#: Twilio's message SIDs: SM (or MM for media) and 32 hex digits. A signed request whose field
#: boundaries were shifted (the signature covers only the concatenation) fails this.
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
SID_FIELDS = ("MessageSid", "SmsSid", "SmsMessageSid")
#: Twilio's error codes have five digits; more is not a code (and would not fit a database integer).
_ERROR_CODE = re.compile(r"^[0-9]{1,9}$")


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


def user_key_of(address: str) -> str | None:
    """'whatsapp:+447700900123' (or a username's 'whatsapp:US.1349…') as the user key, or None
    when it is not a WhatsApp address."""
    address = address.strip()
    match = _ADDRESS.match(address)
    if match:
        return f"whatsapp:+{match.group(1)}"
    user_id = _USER_ID.match(address)
    return f"whatsapp:{user_id.group(1)}" if user_id else None


def phone_of(user_key: str) -> str | None:
    """The phone number in a user key; None for a username's id (so no country is known)."""
    return user_key if user_key.startswith("whatsapp:+") else None


def incoming_from(form: FormFields, now: datetime) -> Incoming:
    """A Twilio message as the engine sees it: typed text, or the payload of a tap."""
    user_key = user_key_of(form.get("From", ""))
    if user_key is None:
        raise BadForm("From must be a WhatsApp address like whatsapp:+14155550123 or whatsapp:US.1234567890")
    message_sid(form)
    body = form.get("Body", "")[:BODY_LIMIT]
    button = (form.get("ButtonPayload") or form.get("ListId") or "").strip() or None
    media = _count(form.get("NumMedia"))
    located = bool(form.get("Latitude") or form.get("Longitude"))
    non_text = media > 0 or located or (not body.strip() and button is None)
    text = body if body.strip() and button is None else None  # a tap's Body is only the button's label
    return Incoming(
        channel=CHANNEL, user_key=user_key, text=text, button=button,
        phone=phone_of(user_key), non_text=non_text, received_at=now,
    )


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


def error_code(form: FormFields) -> int | None:
    """A status callback's ErrorCode as a number, or None when absent or not a code."""
    value = form.get("ErrorCode") or ""
    return int(value) if _ERROR_CODE.match(value) else None


def _count(value: str | None) -> int:
    return int(value) if value and re.fullmatch(r"[0-9]{1,4}", value) else 0
