"""SMS addresses in Twilio's forms, and the `Incoming` a text message becomes.

The user key is the sender's number in E.164 (`+447700900123`), which also gives the
country whose emergency number an alert names.
"""

from __future__ import annotations

import re
from datetime import datetime

from messenger_bot.channels.twilio.form import FormFields, non_text, sender_and_body
from messenger_bot.conversation import Incoming

CHANNEL = "sms"
#: Twilio joins a long text into one Body of at most 1,600 characters; no longer text reaches the engine.
BODY_LIMIT = 1600
#: E.164: a plus, a first digit that is not 0, at most 15 digits (ASCII digits only).
_ADDRESS = re.compile(r"^\+[1-9][0-9]{5,14}$")
#: What a sender must be, as a 400 says it.
SENDER = "a phone number in E.164 like +14155550123"


def user_key_of(address: str) -> str | None:
    """'+447700900123' as the user key, or None when it is not a number in E.164
    (a short code, an alphanumeric sender, a WhatsApp address)."""
    address = address.strip()
    return address if _ADDRESS.match(address) else None


def incoming_from(form: FormFields, now: datetime) -> Incoming:
    """A text message (or an MMS, whose pictures the engine cannot read) as the engine sees it."""
    user_key, body = sender_and_body(form, user_key_of, BODY_LIMIT, SENDER)
    return Incoming(
        channel=CHANNEL, user_key=user_key, text=body if body.strip() else None, phone=user_key,
        non_text=non_text(form, body), received_at=now, numbered=True,
    )
