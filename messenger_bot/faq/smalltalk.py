"""Small talk: a message that is only a greeting, thanks, goodbye or a feeling.

Only a whole message counts: "hi" is a greeting, "hi, can coffee cause this?" is a
question for the FAQ, and "I'm scared it's ALS" is about ALS. Around a phrasing, the
content's filler words may come and go ("hi *bot*", "I'm *so* scared"); stretched
letters and small typos are forgiven ("hellooo", "hiya", "thnks").
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from messenger_bot.faq.rules import Intent, SmallTalkRules
from messenger_bot.text import normalise, words

#: How close a message must be to a phrasing, once both are squeezed (rapidfuzz ratio)...
SIMILARITY = 80
#: ...and word for word: the same number of words, each this close.
WORD_SIMILARITY = 80
#: Words this short must match exactly ("who" is not "how", "yo" is not "so").
EXACT_UP_TO = 3
#: Small talk is short; a longer message is a question, whatever it starts with.
MAX_WORDS = 8
#: A longer message is looked at through its first this many characters: holding more than
#: MAX_WORDS words there, it holds more in all, and is not small talk (a long one costs no more).
PREFIX_CHARS = 400
#: A chained message starts with a phrasing of at most this many words ("good morning").
HEAD_WORDS = 3
_DOUBLES = re.compile(r"(.)\1+")


class SmallTalk:
    """Built once from flows/smalltalk.yaml; `intent` is cheap for any message."""

    def __init__(self, rules: SmallTalkRules) -> None:
        self._fillers = frozenset(w for f in rules.fillers for w in words(normalise(f)))
        self._phrasings: dict[str, tuple[str, Intent]] = {}
        for name, intent in rules.intents.items():
            for phrasing in intent.phrasings:
                self._phrasings.setdefault(self._squeeze(phrasing), (name, intent))
        self._fuzzy: dict[int, list[str]] = {}
        for phrasing in self._phrasings:
            if len(phrasing) > EXACT_UP_TO:
                self._fuzzy.setdefault(len(phrasing.split()), []).append(phrasing)

    def intent(self, text: str) -> tuple[str, Intent] | None:
        """The small-talk intent a whole message is, with its name; None for anything else.

        A message may chain two ("hi, how are you", "thanks, bye"): the last one answers.
        """
        if len(text) > PREFIX_CHARS and len(words(normalise(text[:PREFIX_CHARS]))) > MAX_WORDS:
            return None
        normal = normalise(text)
        tokens = words(normal)
        if not tokens or len(tokens) > MAX_WORDS:
            return None
        keys = _Keys(self, tokens, normal.isascii())
        found = self._whole(keys.of(0, len(tokens)))
        for cut in range(1, min(HEAD_WORDS, len(tokens) - 1) + 1):
            if found is not None:
                break
            if keys.of(0, cut) in self._phrasings:
                found = self._whole(keys.of(cut, len(tokens)))
        return found

    def _whole(self, key: str) -> tuple[str, Intent] | None:
        if not key:
            return None
        if key in self._phrasings:
            return self._phrasings[key]
        if len(key) <= EXACT_UP_TO:
            return None
        same_length = self._fuzzy.get(len(key.split()), [])
        hits = process.extract(key, same_length, scorer=fuzz.ratio, score_cutoff=SIMILARITY, limit=5)
        close = [phrasing for phrasing, _, _ in hits if _same_words(key, phrasing)]
        return self._phrasings[close[0]] if close else None

    def _squeeze(self, text: str) -> str:
        """Drop fillers, apostrophes and doubled letters: "I'm sooo scared" -> "im scared"."""
        return " ".join(part for part in map(self.part, words(normalise(text))) if part)

    def part(self, word: str) -> str:
        """One word as `_squeeze` keeps it ("" for a filler): a doubled letter or an apostrophe
        never spans the space between two words, so squeezing word by word is the same."""
        if word in self._fillers:
            return ""
        return _DOUBLES.sub(r"\1", word.replace("'", ""))


class _Keys:
    """The squeezed form of a message's words, from any first to any last word, worked out once.

    A message is tried as a whole and by its first words (up to four keys); ASCII words out of
    `normalise` and `words` come back from both unchanged, so they are squeezed once, word by
    word, and only joined per key. Other words take the long way, normalised again per key,
    since normalising is not idempotent for every script."""

    def __init__(self, small_talk: SmallTalk, tokens: list[str], ascii_only: bool) -> None:
        self._small_talk = small_talk
        self._tokens = tokens
        self._parts = [small_talk.part(word) for word in tokens] if ascii_only else None

    def of(self, start: int, end: int) -> str:
        if self._parts is None:
            return self._small_talk._squeeze(" ".join(self._tokens[start:end]))
        return " ".join(part for part in self._parts[start:end] if part)


def _same_words(typed: str, phrasing: str) -> bool:
    """A typo per word, not another sentence: "thnks" is "thanks", "who are you" is not
    "how are you", and "when should I call an ambulance" is a question, not "should I call..."."""
    mine, theirs = typed.split(), phrasing.split()
    if len(mine) != len(theirs):
        return False
    return all(a == b or _close(a, b) for a, b in zip(mine, theirs, strict=True))


def _close(a: str, b: str) -> bool:
    return min(len(a), len(b)) > EXACT_UP_TO and fuzz.ratio(a, b) >= WORD_SIMILARITY
