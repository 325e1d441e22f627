"""The shape of flows/webchat.yaml: the web chat page's own words, per language.

The page, its script and the chat endpoint say a few things that are not replies of the
engine (a heading, the text box's label, "the bot is answering…", an apology when the bot
cannot answer). They are content like every other word, so a translator finds them in flows/.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebChatTexts(BaseModel):
    """The page's labels (filled into index.html and read by chat.js) and the endpoint's sentences."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=120)
    lede: str = Field(min_length=1, max_length=300)
    skip: str = Field(min_length=1, max_length=80)
    conversation: str = Field(min_length=1, max_length=80)
    needs_javascript: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=80)
    placeholder: str = Field(min_length=1, max_length=80)
    send: str = Field(min_length=1, max_length=20)
    emergency: str = Field(min_length=1, max_length=40)
    choices: str = Field(min_length=1, max_length=40)
    you: str = Field(min_length=1, max_length=20)
    answering: str = Field(min_length=1, max_length=80)
    failed: str = Field(min_length=1, max_length=200)
    offline: str = Field(min_length=1, max_length=200)
    slow_down: str = Field(min_length=1, max_length=200)
    unavailable: str = Field(min_length=1, max_length=200)
