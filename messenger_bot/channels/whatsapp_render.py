"""Replies as WhatsApp messages: numbered menus in text, or a tap-able Content template.

A turn's replies are joined into as few messages as possible, in order (the alert on
top): Twilio does not promise that separate messages arrive in the order sent, and one
message does. Each message stays within Twilio's 1,600 characters, split at paragraphs.
Content already uses WhatsApp's own formatting (*bold*), so text passes through as is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from messenger_bot.content import Button
from messenger_bot.conversation import Reply

MESSAGE_LIMIT = 1600
#: Body of a quick-reply or list-picker template, after its variable is filled in.
TEMPLATE_BODY_LIMIT = 1024
QUICK_REPLY_MAX, QUICK_REPLY_TITLE = 3, 20
LIST_MAX, LIST_TITLE = 10, 24
NUMBER_HINT = "_Reply with a number, or type a question._"
#: Characters XML 1.0 cannot carry at all (control characters other than tab and newlines).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Part:
    """One outgoing WhatsApp message: free text, or a content template with its variables."""

    body: str | None = None
    content_sid: str | None = None
    variables: dict[str, str] | None = None
    #: A file's public URL (a chart, a PDF): Twilio fetches it and WhatsApp shows it, `body` as its caption.
    media: str | None = None


def render(replies: Sequence[Reply], templates: Mapping[str, str] | None = None) -> list[Part]:
    """The messages for one turn. The last reply with buttons is the menu a number picks (as the
    engine remembers it); it goes as a template when one exists for its buttons, else numbered."""
    menu_at = max((i for i, r in enumerate(replies) if r.buttons), default=-1)
    parts: list[Part] = []
    texts: list[str] = []
    for i, reply in enumerate(replies):
        text = reply.text.strip()
        if i == menu_at:
            sid = templates.get(template_key(reply.buttons)) if templates else None
            if sid and 0 < len(text) <= TEMPLATE_BODY_LIMIT:
                parts.extend(Part(body=chunk) for chunk in split_message("\n\n".join(texts)))
                parts.append(Part(content_sid=sid, variables={"1": text}))
                texts = []
                continue
            text = f"{text}\n\n{numbered(reply.buttons)}".strip()
        if text:
            texts.append(text)
    parts.extend(Part(body=chunk) for chunk in split_message("\n\n".join(texts)))
    media = [Part(body=f.label, media=f.url) for reply in replies for f in reply.files]
    return [*media, *parts]  # files first: the text with its menu ends the turn


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


def numbered(buttons: Sequence[Button]) -> str:
    lines = [f"{i}. {b.label}" for i, b in enumerate(buttons, 1)]
    return "\n".join([*lines, "", NUMBER_HINT])


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Chunks of at most `limit` characters, cut between paragraphs, else lines, else words."""
    chunks: list[str] = []
    for unit, sep in _units(text.strip(), limit, ("\n\n", "\n", " ")):
        if chunks and len(chunks[-1]) + len(sep) + len(unit) <= limit:
            chunks[-1] += sep + unit
        elif unit.strip():
            chunks.append(unit)
    return chunks


def _units(text: str, limit: int, seps: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(piece, the separator before it): pieces within the limit, split as coarsely as possible."""
    sep, finer = seps[0], seps[1:]
    for part in text.split(sep):
        if len(part) <= limit:
            yield part, sep
            continue
        inner = list(_units(part, limit, finer)) if finer else [
            (part[i:i + limit], "") for i in range(0, len(part), limit)
        ]
        yield inner[0][0], sep
        yield from inner[1:]


# -- Content templates (WHATSAPP_INTERACTIVE) ---------------------------------


def template_key(buttons: Sequence[Button]) -> str:
    """One template per set of buttons; the text above them is its variable {{1}}."""
    data = json.dumps([[b.label, b.payload] for b in buttons], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def template_types(buttons: Sequence[Button], list_button: str) -> tuple[str, dict[str, object]] | None:
    """The Content API `types` for these buttons, or None when WhatsApp cannot show them as taps."""
    if not buttons or len(buttons) > LIST_MAX:
        return None
    if len(buttons) <= QUICK_REPLY_MAX and all(len(b.label) <= QUICK_REPLY_TITLE for b in buttons):
        actions = [{"type": "QUICK_REPLY", "title": b.label, "id": b.payload} for b in buttons]
        return "twilio/quick-reply", {"twilio/quick-reply": {"body": "{{1}}", "actions": actions}}
    if all(len(b.label) <= LIST_TITLE for b in buttons):
        items = [{"id": b.payload, "item": b.label} for b in buttons]
        picker = {"body": "{{1}}", "button": list_button, "items": items}
        return "twilio/list-picker", {"twilio/list-picker": picker}
    return None
