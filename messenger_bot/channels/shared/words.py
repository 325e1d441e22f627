"""The shape of flows/channels.yaml: the few words the channels themselves say.

Every sentence a user reads is content (so it can be translated and checked); these are
the ones no engine reply carries: how to answer a numbered menu, the label of WhatsApp's
list button, and the line SMS adds to HELP as carriers require. Imports only pydantic, so
the content loader can register it without pulling a channel in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field

#: WhatsApp's limit for a list picker's button, and our limit for a short line.
LIST_BUTTON_LIMIT = 20
LINE_LIMIT = 200

Line = Annotated[str, Field(min_length=1, max_length=LINE_LIMIT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberedWords(_Strict):
    #: Below a numbered menu on WhatsApp (WhatsApp's own formatting: _italic_).
    whatsapp_hint: Line
    #: Below a numbered menu in a text message, which shows no formatting.
    sms_hint: Line


class WhatsAppWords(_Strict):
    #: The button that opens a list picker of more than three options.
    list_button: Annotated[str, Field(min_length=1, max_length=LIST_BUTTON_LIMIT)]
    #: A template's sample text for its variable, which Twilio's Content API asks for.
    template_sample: Line


class SmsWords(_Strict):
    #: Added to the answer to HELP: who this is and how to stop, as carriers require.
    help_footer: Line


class ChannelWords(_Strict):
    numbered: NumberedWords
    whatsapp: WhatsAppWords
    sms: SmsWords


FILE = "channels.yaml"


def read_words(content_dir: Path) -> ChannelWords:
    """Only these words, for a sender that runs without the rest of the content (`reminders
    send-due`); the file is validated with all the content at start, so it parses here."""
    raw = yaml.safe_load((content_dir / FILE).read_text(encoding="utf-8"))
    return ChannelWords.model_validate(raw)
