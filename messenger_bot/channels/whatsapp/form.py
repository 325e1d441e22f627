"""WhatsApp's addresses in Twilio's forms, and the `Incoming` a WhatsApp message becomes."""

from __future__ import annotations

import re
from datetime import datetime

from messenger_bot.channels.twilio.form import FormFields, non_text, sender_and_body
from messenger_bot.conversation import Incoming

CHANNEL = "whatsapp"
#: WhatsApp's own limit on a message's text: no longer text reaches the engine.
BODY_LIMIT = 4096
#: ASCII digits only: `\d` would also take other scripts' digits, which no phone number is written in.
_ADDRESS = re.compile(r"^whatsapp:\+?([0-9]{6,15})$")
#: A WhatsApp user with a username and no phone number shown: Meta's business-scoped user id
#: (two letters, a dot, up to 128 letters and digits; `US.ENT.…` for a parent id), as Twilio's
#: `From` carries it: `whatsapp:US.13491208655302741918`.
_USER_ID = re.compile(r"^whatsapp:([A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128})$")
#: What a sender must be, as a 400 says it.
SENDER = "a WhatsApp address like whatsapp:+14155550123 or whatsapp:US.1234567890"


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
    user_key, body = sender_and_body(form, user_key_of, BODY_LIMIT, SENDER)
    button = (form.get("ButtonPayload") or form.get("ListId") or "").strip() or None
    text = body if body.strip() and button is None else None  # a tap's Body is only the button's label
    return Incoming(
        channel=CHANNEL, user_key=user_key, text=text, button=button, phone=phone_of(user_key),
        non_text=non_text(form, body, button), received_at=now, numbered=True,
    )
