"""Which of the content's languages a message's words belong to, from the content's own words.

A statistical detector trained on general text is unsure of short, misspelt phone messages about
one subject, and in its small (low-memory) mode it takes "qual a causa do tremor no labio" for
English. The content already holds thousands of words of each language on exactly this
subject: its answers, titles, keywords, example questions, small talk and commands. A word that
only some languages use is a vote for them ("que", "tengo", "não", "the", "my"); a word every
language uses ("tremor", "cafe", "stress") is no vote at all. Counting votes costs a few set
lookups per word, so it can run on every typed message.

The triage vocabulary is left out on purpose: each language's file lists other languages'
words it must never correct into its own ("pierna", "desmayo"), which are not its words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from messenger_bot.text import normalise, words

#: Votes the best language needs, and how many times the runner-up's, to be called "clear".
MIN_VOTES = 1
LEAD = 1.5
#: The votes are counted over this much of a message: plenty of words to tell a language by, and
#: a long message costs no more (the lexicon chooses the language of an answer; triage, which
#: decides safety, reads every language and all of the text).
SAMPLE_CHARS = 1_000
#: Files whose strings are not the language's own words (see the module's docstring).
_NOT_WORDS = frozenset({"triage.yaml", "emergency-numbers.yaml", "language-countries.yaml"})


class Lexicon:
    """Each language's distinctive words, and a vote over a message's words."""

    def __init__(self, vocabularies: Mapping[str, set[str]]) -> None:
        shared = set.intersection(*vocabularies.values()) if vocabularies else set()
        self._own = {code: frozenset(vocab - shared) for code, vocab in vocabularies.items()}

    @classmethod
    def of(cls, contents: Mapping[str, Any]) -> Lexicon:
        """Built from each language's `Content` (nodes, messages and its other files)."""
        return cls({code: vocabulary(content) for code, content in contents.items()})

    def votes(self, text: str) -> dict[str, int]:
        """Per language, how many of its own words the message's first SAMPLE_CHARS hold."""
        tokens = set(words(normalise(text[:SAMPLE_CHARS])))
        return {code: len(tokens & own) for code, own in self._own.items()}

    def clear(self, text: str) -> str | None:
        """The language the message's words clearly belong to, or None when the words do not say."""
        ranked = sorted(self.votes(text).items(), key=lambda item: item[1], reverse=True)
        if not ranked or ranked[0][1] < MIN_VOTES:
            return None
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        return ranked[0][0] if ranked[0][1] >= LEAD * runner_up else None


def vocabulary(content: Any) -> set[str]:
    """Every word a language's content says or lists, normalised the way messages are."""
    found: set[str] = set()
    for text in _strings(content):
        found.update(w for w in words(normalise(text)) if not w.isdigit())
    return found


def _strings(content: Any) -> Iterator[str]:
    for node in content.nodes.values():
        yield node.title
        yield node.text
        yield from node.keywords
        yield from node.examples
    yield from _walk(content.messages)
    for name, data in content.extra.items():
        if name == "faq.yaml":
            yield from getattr(data, "synonyms", {})  # the typed words, not what they stand for
        elif name not in _NOT_WORDS:
            yield from _walk(data)


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        yield from _walk(value.model_dump())
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _walk(item)
    elif isinstance(value, Iterable) and not isinstance(value, bytes):
        for item in value:
            yield from _walk(item)
