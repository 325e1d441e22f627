"""The shape of flows/faq.yaml and flows/smalltalk.yaml: the FAQ's own vocabulary.

Both are content: an editor adds a synonym or a greeting without touching Python, and
the loader checks them with the rest (every topic id named here must exist).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from messenger_bot.content.schema import TEXT_LIMIT

Phrase = Annotated[str, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ending(_Strict):
    """A word ending folded away (a plural, a verb ending) when the stem keeps `keep` letters;
    `becomes` replaces it ("ies" -> "y")."""

    ending: str = Field(min_length=1)
    keep: int = Field(ge=1)
    becomes: str = ""


class Endings(_Strict):
    """How a language's plurals and verb endings fold, so "twitches" and "twitch" meet: `fold`
    tried in order (longest first), none for words ending in one of `never` ("stress", "virus")."""

    fold: tuple[Ending, ...] = ()
    never: tuple[str, ...] = ()


class FaqWords(_Strict):
    """flows/faq.yaml: how typed words map onto the keywords, and how topics rank."""

    #: A typed word -> the word(s) the keywords use ("vit" -> "vitamin", "y" -> "why").
    synonyms: dict[str, Phrase] = {}
    #: Topics about twitching in general: a topic about the subject a message names wins over them.
    general_topics: tuple[str, ...] = ()
    #: Topics that win whenever they match at least half as well as the best (warning signs).
    first_topics: tuple[str, ...] = ()
    #: The language's own folding of word endings (none when the file leaves it out).
    endings: Endings = Endings()

    @field_validator("synonyms")
    @classmethod
    def _one_word_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if len(k.split()) != 1]
        if bad:
            raise ValueError(f"a synonym replaces one typed word; not {', '.join(repr(b) for b in bad)}")
        return value


class Intent(_Strict):
    """One kind of small talk: its phrasings and how the bot answers.

    `text` answers in the bot's own words (with the main menu when `menu` is true, else a
    menu button); `node` answers with a content node instead (its text and buttons).
    """

    phrasings: tuple[Phrase, ...] = Field(min_length=1)
    text: str | None = Field(default=None, max_length=TEXT_LIMIT)
    node: str | None = None
    menu: bool = False

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _one_answer(self) -> Intent:
        if (self.text is None) == (self.node is None):
            raise ValueError("an intent needs exactly one of 'text' or 'node'")
        return self


class SmallTalkRules(_Strict):
    """flows/smalltalk.yaml: messages that are a greeting, thanks, goodbye or a feeling."""

    #: Words that may surround a phrasing without changing it ("hi *bot*", "I'm *so* scared").
    fillers: tuple[Phrase, ...] = ()
    intents: dict[str, Intent]
