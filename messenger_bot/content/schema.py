"""The shape of the content in flows/: typed models a YAML file must fit.

Content is data that a non-programmer edits, so every rule here exists to turn a
mistake into a one-line message naming the file and the node, before the bot starts.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Topic ids that checks outside the code rely on (fixed: tests, dev sets and channels name them).
REQUIRED_TOPICS: tuple[str, ...] = (
    "what-is-lip-twitching", "causes", "caffeine", "medications", "potassium", "stress",
    "dehydration", "bells-palsy", "hemifacial-spasm", "facial-nerve-trauma", "tourette", "als",
    "parkinsons", "digeorge", "hypoparathyroidism", "alcohol-neuropathy", "electrolytes",
    "vitamins", "diet", "diagnosis", "treatment", "home-remedies", "when-to-see-doctor",
    "emergency", "prevention", "work-tips", "psychological-impact", "new-treatments",
    "is-it-serious", "complications", "reminders", "about",
)

ROOT = "menu"
#: WhatsApp through Twilio is the strictest channel; Telegram allows 4,096.
CHANNEL_TEXT_LIMIT = 1600
#: Our own rule for a phone screen: aim under 600, never over this.
TEXT_LIMIT = 1000
#: WhatsApp quick-reply button titles.
LABEL_LIMIT = 20
#: Telegram callback data, in UTF-8 bytes.
PAYLOAD_LIMIT = 64
#: An example question is one short message, not a paragraph.
EXAMPLE_LIMIT = 200

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ACTION = re.compile(r"^[a-z][a-z0-9-]*(:[a-z0-9._-]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ButtonSpec(_Strict):
    """A button as written in YAML: it goes to a node, or asks the engine for an action."""

    label: str | None = None
    goto: str | None = None
    action: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ButtonSpec:
        if (self.goto is None) == (self.action is None):
            raise ValueError("a button needs exactly one of 'goto' (a node id) or 'action'")
        if self.action is not None:
            if self.label is None:
                raise ValueError(f"button with action {self.action!r} needs a 'label'")
            if not ACTION.match(self.action):
                raise ValueError(f"action {self.action!r} must look like 'reminders:water'")
        return self

    @property
    def payload(self) -> str:
        """What the button sends back: the node id itself, so payloads survive content edits."""
        return self.goto if self.goto is not None else f"do:{self.action}"


class Node(_Strict):
    """One screen of the conversation: a topic answer or a menu of choices."""

    id: str
    kind: Literal["topic", "menu"] = "topic"
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    #: Questions as people type them; the FAQ learns from them (partial matches count).
    examples: tuple[Annotated[str, Field(min_length=3, max_length=EXAMPLE_LIMIT)], ...] = ()
    buttons: tuple[ButtonSpec, ...] = ()

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not NODE_ID.match(value):
            raise ValueError(f"id {value!r} must be lower-case letters, digits and dashes")
        return value

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class ContentFile(_Strict):
    """A file of flows/ that holds nodes (every *.yaml but the named data files)."""

    nodes: tuple[Node, ...]


class AlertTexts(_Strict):
    """What triage says. {number} is the local emergency number or, with no country known,
    general_number, with general_note on the line after it."""

    text: str
    general_number: str
    general_note: str = ""


class MyDataTexts(_Strict):
    """How "my data" names what is stored: `labels` by field, column or table name (anything not
    listed shows under its own name, so nothing stored is ever left out); `records` is a table's
    line, with {count} and {fields}; `yes`, `no` and `none` are how such values read."""

    labels: dict[str, str]
    records: str
    yes: str
    no: str
    none: str


class Messages(_Strict):
    """The engine's own sentences, kept as content so they are edited with the rest."""

    notice: str
    help: str
    fallback: str
    not_sure: str
    my_data: str
    my_data_texts: MyDataTexts
    stopped: str
    resumed: str
    delete_confirm: str
    deleted: str
    delete_cancelled: str
    text_only: str
    too_long: str
    alert: AlertTexts
    menu_button: str = Field(max_length=LABEL_LIMIT)
    yes_delete_button: str = Field(max_length=LABEL_LIMIT)
    keep_button: str = Field(max_length=LABEL_LIMIT)
    #: "Was this helpful?" under topic answers (FEEDBACK), and the thanks for a vote.
    feedback_up_button: str = Field(max_length=LABEL_LIMIT)
    feedback_down_button: str = Field(max_length=LABEL_LIMIT)
    feedback_thanks: str


class EmergencyNumbers(_Strict):
    """Emergency numbers by ISO 3166 region code (phonenumbers' region), as data."""

    numbers: dict[str, str]

    @field_validator("numbers")
    @classmethod
    def _regions(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not re.fullmatch(r"[A-Z]{2}", k)]
        if bad:
            raise ValueError(f"region codes must be two capital letters, not {', '.join(bad)}")
        return value


#: The engine's commands, by the name its `do:` payloads use; flows/commands.yaml lists each one's words.
ENGINE_COMMANDS = ("menu", "stop", "help", "back", "about", "mydata", "delete", "language")


class Commands(_Strict):
    """flows/commands.yaml: the typed words of each engine command, and the words that confirm (yes)."""

    commands: dict[str, tuple[Annotated[str, Field(min_length=1, max_length=60)], ...]]
    confirm: tuple[str, ...] = Field(min_length=1)
    #: The language command's question, the line that confirms a choice, and its button's label.
    choose_language: str = Field(min_length=1, max_length=TEXT_LIMIT)
    language_chosen: str = Field(min_length=1, max_length=TEXT_LIMIT)
    language_button: str = Field(min_length=1, max_length=LABEL_LIMIT)

    @field_validator("commands")
    @classmethod
    def _known(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = sorted(set(value) - set(ENGINE_COMMANDS))
        missing = [c for c in ENGINE_COMMANDS if c not in value]
        if unknown or missing:
            raise ValueError(
                f"commands must be exactly {', '.join(ENGINE_COMMANDS)}"
                f"{'; unknown: ' + ', '.join(unknown) if unknown else ''}"
                f"{'; missing: ' + ', '.join(missing) if missing else ''}"
            )
        return value
