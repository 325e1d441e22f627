"""Replies as WhatsApp messages: numbered menus in text, or a tap-able Content template.

A turn's replies are joined into as few messages as possible, in order (the alert on
top): Twilio does not promise that separate messages arrive in the order sent, and one
message does. Each message stays within Twilio's 1,600 characters, split at paragraphs.
Content already uses WhatsApp's own formatting (*bold*), so text passes through as is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from messenger_bot.channels.shared.numbered import menu_index, numbered
from messenger_bot.channels.shared.split import split_message
from messenger_bot.channels.twilio.parts import Part
from messenger_bot.content import Button
from messenger_bot.conversation import Reply

MESSAGE_LIMIT = 1600
#: Body of a quick-reply or list-picker template, after its variable is filled in.
TEMPLATE_BODY_LIMIT = 1024
QUICK_REPLY_MAX, QUICK_REPLY_TITLE = 3, 20
LIST_MAX, LIST_TITLE = 10, 24


def render(replies: Sequence[Reply], hint: str, templates: Mapping[str, str] | None = None) -> list[Part]:
    """The messages for one turn. The last reply with buttons is the menu a number picks (as the
    engine remembers it); it goes as a template when one exists for its buttons, else numbered
    with `hint` (how to answer) below it."""
    menu_at = menu_index(replies)
    parts: list[Part] = []
    texts: list[str] = []
    for i, reply in enumerate(replies):
        text = reply.text.strip()
        if i == menu_at:
            sid = templates.get(template_key(reply.buttons)) if templates else None
            if sid and 0 < len(text) <= TEMPLATE_BODY_LIMIT:
                parts.extend(Part(body=chunk) for chunk in split_message("\n\n".join(texts), MESSAGE_LIMIT))
                parts.append(Part(content_sid=sid, variables={"1": text}))
                texts = []
                continue
            text = f"{text}\n\n{numbered(reply.buttons, hint)}".strip()
        if text:
            texts.append(text)
    parts.extend(Part(body=chunk) for chunk in split_message("\n\n".join(texts), MESSAGE_LIMIT))
    media = [Part(body=f.label, media=f.url) for reply in replies for f in reply.files]
    return [*media, *parts]  # files first: the text with its menu ends the turn


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
