"""The words the FAQ compares: one form for what people type and for what flows/ lists.

People type "400mg", "b12", "vit b 12", "espressos", "twitches" and "twitching". The
keywords in flows/ are written once, in one spelling. `Tokeniser.tokens` turns both
sides into the same comparable words, so a keyword matches every way of writing it:

- numbers are cut from the letters they touch ("400mg" -> "400 mg", "b12" -> "b 12"),
  so a spaced abbreviation and a joined one are the same tokens;
- a content editor's synonyms (flows/faq.yaml: "vit" -> "vitamin") replace a word by the
  one the keywords use;
- a light suffix rule folds plurals and verb endings ("twitches", "twitched",
  "twitching" -> "twitch"), the same way on both sides, so it never has to be right
  linguistically, only consistent. The rule is content (faq.yaml `endings`), so each
  language folds its own plurals; `ENGLISH` is the default file's rule, kept here for the
  few English word lists of the code (the matcher's stop words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from messenger_bot.faq.rules import Ending, Endings
from messenger_bot.text import normalise, words

_DIGITS = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
#: flows/faq.yaml's rule: "ing", "ies" (-> "y"), "es", "ed", "s"; "stress", "virus" keep theirs.
ENGLISH = Endings(
    fold=(
        Ending(ending="ing", keep=4), Ending(ending="ies", keep=3, becomes="y"), Ending(ending="es", keep=4),
        Ending(ending="ed", keep=4), Ending(ending="s", keep=3),
    ),
    never=("ss", "us", "is", "ous"),
)


def stem(word: str, endings: Endings = ENGLISH) -> str:
    """Fold a plural or a verb ending away; the same rule runs on keywords and messages."""
    if word.endswith("'s"):
        word = word[:-2]
    if not word.isalpha() or word.endswith(endings.never):
        return word
    for rule in endings.fold:
        if word.endswith(rule.ending) and len(word) - len(rule.ending) >= rule.keep:
            return word[: -len(rule.ending)] + rule.becomes
    return word


class Tokeniser:
    """Text to comparable words, with the content's synonyms applied."""

    def __init__(self, synonyms: Mapping[str, str] | None = None, endings: Endings = ENGLISH) -> None:
        self._endings = endings
        self._synonyms: dict[str, tuple[str, ...]] = {}
        for word, replacement in (synonyms or {}).items():
            key = self._plain(word)
            if len(key) == 1:
                self._synonyms[key[0]] = self._plain(replacement)

    def tokens(self, text: str) -> list[str]:
        """The comparable words of a message or a keyword, in order."""
        out: list[str] = []
        for word in self._plain(text):
            out.extend(self._synonyms.get(word, (word,)))
        return out

    def _plain(self, text: str) -> tuple[str, ...]:
        spaced = _DIGITS.sub(" ", normalise(text))
        return tuple(stem(w, self._endings) for w in words(spaced))
