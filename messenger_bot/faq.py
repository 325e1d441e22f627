"""Typed questions to topics: typo-tolerant keyword and phrase matching.

Each topic's keywords are phrases. A phrase matches when every one of its words is
found in the message, exactly or within a small edit distance (rapidfuzz). Rare
words weigh more than common ones (a word shared by many topics says little), and
longer phrases more than short ones. The engine asks for the best topics with
their scores and decides between an answer and "did you mean".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from messenger_bot.content.schema import Node
from messenger_bot.text import normalise, words

#: Words that carry no topic on their own. Question words stay: "why" means causes.
STOPWORDS = frozenset(
    "a an the i i'm im me my mine you your is am are was were be been to of in on at it it's its "
    "this that these those and or but so for with about from by as just very really some any "
    "do does did doing done can could would will shall there their they them he she his her we our "
    "have has had get got if then than also too please hi hello hey ok okay".split()
)
#: A typed word counts as a keyword word at this rapidfuzz ratio or above.
SIMILARITY = 80
#: Words this short must match exactly: one letter changes their meaning.
EXACT_UP_TO = 3


@dataclass(frozen=True)
class Match:
    topic: str
    score: float


@dataclass(frozen=True)
class _Phrase:
    topic: str
    words: tuple[str, ...]


class FaqMatcher:
    """Built once from the content; `match` is pure and cheap per message."""

    def __init__(self, topics: list[Node]) -> None:
        self._phrases: list[_Phrase] = []
        for node in topics:
            for keyword in (*node.keywords, node.title):
                kept = tuple(w for w in words(normalise(keyword)) if w not in STOPWORDS)
                if kept:
                    self._phrases.append(_Phrase(node.id, kept))
        self._phrases = list(dict.fromkeys(self._phrases))
        self._by_word: dict[str, list[int]] = defaultdict(list)
        topics_of: dict[str, set[str]] = defaultdict(set)
        for index, phrase in enumerate(self._phrases):
            for word in set(phrase.words):
                self._by_word[word].append(index)
                topics_of[word].add(phrase.topic)
        count = max(len(topics), 1)
        self._weight = {w: math.log(1 + count / len(t)) for w, t in topics_of.items()}
        self._vocabulary = list(self._by_word)
        self._similar = lru_cache(maxsize=8192)(self._similar_uncached)

    def match(self, text: str, limit: int = 3) -> list[Match]:
        """The best topics for a message, best first, with a score (0 when nothing fits)."""
        found: dict[str, float] = {}
        for token in words(normalise(text)):
            if token in STOPWORDS:
                continue
            for word, similarity in self._similar(token):
                if similarity > found.get(word, 0.0):
                    found[word] = similarity
        if not found:
            return []
        scores: dict[str, list[float]] = defaultdict(list)
        candidates = {i for word in found for i in self._by_word[word]}
        for index in candidates:
            phrase = self._phrases[index]
            if all(w in found for w in phrase.words):
                quality = min(found[w] for w in phrase.words) / 100
                weight = sum(self._weight[w] for w in phrase.words)
                scores[phrase.topic].append(quality * weight)
        ranked = sorted(
            (Match(topic, _combine(values)) for topic, values in scores.items()),
            key=lambda m: (-m.score, m.topic),
        )
        return ranked[:limit]

    def _similar_uncached(self, token: str) -> tuple[tuple[str, float], ...]:
        if token in self._by_word:
            return ((token, 100.0),)
        if len(token) <= EXACT_UP_TO:
            return ()
        hits = process.extract(
            token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=SIMILARITY, limit=3
        )
        return tuple((word, float(score)) for word, score, _ in hits if len(word) > EXACT_UP_TO)


def _combine(values: list[float]) -> float:
    """The best phrase counts whole; each further one adds less, so a long list can't swamp."""
    values = sorted(values, reverse=True)
    return sum(v / (i + 1) for i, v in enumerate(values))
