"""One outgoing Twilio message, and TwiML: the webhook's own answer that carries replies back.

Replies in TwiML need no outbound call: nothing more to fail or retry, and the reply
leaves as soon as the turn is done.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

#: Characters XML 1.0 cannot carry at all (control characters other than tab and newlines).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Part:
    """One outgoing message: free text, or a content template with its variables (WhatsApp)."""

    body: str | None = None
    content_sid: str | None = None
    variables: dict[str, str] | None = None
    #: A file's public URL (a chart, a PDF): Twilio fetches it and the phone shows it, `body` as its caption.
    media: str | None = None


def twiml(bodies: Sequence[str], status_callback: str | None = None, media: Sequence[Part] = ()) -> str:
    """A TwiML <Response> with one <Message> per body (files first, each with its caption): what
    twilio's MessagingResponse writes, without building an element tree for it on every webhook."""
    action = f" action={quoteattr(status_callback)}" if status_callback else ""
    files = "".join(
        f"<Message{action}><Body>{escape(_NOT_XML.sub('', p.body or ''))}</Body>"
        f"<Media>{escape(p.media or '')}</Media></Message>" for p in media
    )
    messages = "".join(f"<Message{action}>{escape(_NOT_XML.sub('', b))}</Message>" for b in bodies)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{files}{messages}</Response>'
