"""Typed questions to topics: typo-tolerant keyword, phrase and example matching.

Each topic lists keywords (phrases) and example questions in flows/. Both sides go
through one `Tokeniser` (numbers cut from letters, synonyms, plural and verb endings
folded), then every typed word is looked up in the content's vocabulary, exactly or
within a small edit distance (rapidfuzz), so "cofee", "vitamn" and "potasium" count.

- A keyword matches when every one of its words is in the message.
- An example question matches in part: when most of its weight is in the message, it
  scores in proportion, so "is it hard to eat" finds "trouble eating" through the
  example "it's hard to eat with my lip twitching" even with words nobody listed.

Rare words weigh more than common ones (a word many topics share says little), longer
phrases more than short ones. The engine asks for the best topics with their scores and
decides between an answer and "did you mean".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import filterfalse, islice

from rapidfuzz import fuzz, process

from messenger_bot.content.schema import Node
from messenger_bot.faq.rules import FaqWords
from messenger_bot.faq.tokens import Tokeniser, stem

#: Words that carry no topic on their own. Question words stay: "why" means causes.
STOPWORDS = frozenset(
    stem(w)
    for w in "a an the i i'm im me my mine you your is am are was were be been to of in on at it it's its "
    "this that these those and or but so for with about from by as just very really some any "
    "do does did doing done can could would will shall there their they them he she his her we our "
    "have has had get got if then than also too please hi hello hey ok okay".split()
)
#: A typed word counts as a vocabulary word at this rapidfuzz ratio or above.
SIMILARITY = 80
#: Typed words not seen before that one message may have looked up fuzzily (a long message of
#: new words stays cheap; an ordinary question has far fewer), and how many answers are kept.
FUZZY_BUDGET = 32
CACHE_LIMIT = 8192
#: Words this short must match exactly: one letter changes their meaning.
EXACT_UP_TO = 3
#: An example question counts once this share of its weight is in the message.
EXAMPLE_COVERAGE = 0.6
#: An example weighs less than a keyword an editor chose: it is a sample, not a definition.
EXAMPLE_FACTOR = 0.8
#: A general topic's score is scaled by this when a subject topic scores at least SUBJECT_MIN.
GENERAL_YIELD = 0.4
SUBJECT_MIN = 1.0
#: A first topic that scores at least this share of the best becomes the answer.
FIRST_SHARE = 0.5


@dataclass(frozen=True)
class Match:
    topic: str
    score: float


@dataclass(frozen=True)
class _Phrase:
    topic: str
    words: tuple[str, ...]
    example: bool = False


class FaqMatcher:
    """Built once from the content; `match` is pure and cheap per message."""

    def __init__(self, topics: list[Node], words: FaqWords | None = None) -> None:
        words = words or FaqWords()
        self._tokeniser = Tokeniser(words.synonyms, words.endings)
        self._general = frozenset(words.general_topics)
        self._first = frozenset(words.first_topics)
        phrases: list[_Phrase] = []
        for node in topics:
            for keyword in (*node.keywords, node.title):
                phrases.append(_Phrase(node.id, self._words(keyword)))
            for example in node.examples:
                phrases.append(_Phrase(node.id, tuple(dict.fromkeys(self._words(example))), example=True))
        self._phrases = [p for p in dict.fromkeys(phrases) if p.words]
        self._by_word: dict[str, list[int]] = defaultdict(list)
        topics_of: dict[str, set[str]] = defaultdict(set)
        for index, phrase in enumerate(self._phrases):
            for word in set(phrase.words):
                self._by_word[word].append(index)
                topics_of[word].add(phrase.topic)
        count = max(len(topics), 1)
        self._weight = {w: math.log(1 + count / len(t)) for w, t in topics_of.items()}
        self._vocabulary = list(self._by_word)
        self._known = frozenset(self._vocabulary)
        self._by_word = self._lead_words()
        #: Per phrase, its words with their weights and its total weight, summed once here
        #: rather than for every message that reaches it.
        self._weighted = [tuple((w, self._weight[w]) for w in p.words) for p in self._phrases]
        self._totals = [sum(weight for _, weight in pairs) for pairs in self._weighted]
        self._similar: dict[str, tuple[tuple[str, float], ...]] = {}

    def _lead_words(self) -> dict[str, list[int]]:
        """Each phrase under only the words without which it cannot score, so a message
        full of words every topic shares ("lip", "twitch") looks at few phrases.

        A keyword needs all its words: its rarest one is enough. An example needs
        EXAMPLE_COVERAGE of its weight, so one of its found words weighs at least that share
        of the mean: only those words lead to it. Both are exact, never an approximation."""
        leads: dict[str, list[int]] = defaultdict(list)
        for index, phrase in enumerate(self._phrases):
            weights = {w: self._weight[w] for w in phrase.words}
            if phrase.example:
                floor = EXAMPLE_COVERAGE * sum(weights.values()) / len(weights)
                chosen = [w for w, weight in weights.items() if weight >= floor]
            else:
                chosen = [max(weights, key=lambda w: (weights[w], w))]
            for word in chosen:
                leads[word].append(index)
        return leads

    def match(self, text: str, limit: int = 3) -> list[Match]:
        """The best topics for a message, best first, with a score (0 when nothing fits)."""
        found: dict[str, float] = {}
        for similar in self._lookups(self._words(text)):
            for word, similarity in similar:
                if similarity > found.get(word, 0.0):
                    found[word] = similarity
        scores: dict[str, list[float]] = defaultdict(list)
        for index in {i for word in found for i in self._by_word.get(word, ())}:
            phrase = self._phrases[index]
            scorer = self._example_score if phrase.example else self._keyword_score
            score = scorer(index, found)
            if score:
                scores[phrase.topic].append(score)
        if not scores:
            return []
        combined = self._rank({topic: _combine(values) for topic, values in scores.items()})
        ranked = sorted((Match(t, s) for t, s in combined.items()), key=lambda m: (-m.score, m.topic))
        return ranked[:limit]

    def _rank(self, scores: dict[str, float]) -> dict[str, float]:
        """A named subject beats twitching in general; a first topic (warning signs) beats both."""
        subject = max((s for t, s in scores.items() if t not in self._general), default=0.0)
        if subject >= SUBJECT_MIN:
            scores = {t: s * GENERAL_YIELD if t in self._general else s for t, s in scores.items()}
        best = max(scores.values())
        for topic in self._first & scores.keys():
            if scores[topic] >= FIRST_SHARE * best:
                scores[topic] = 2 * best
        return scores

    def _keyword_score(self, index: int, found: dict[str, float]) -> float:
        """Every word of a keyword must be there; its weight, scaled by how well they matched."""
        words = self._phrases[index].words
        if not all(w in found for w in words):
            return 0.0
        quality = min(found[w] for w in words) / 100
        return quality * self._totals[index]

    def _example_score(self, index: int, found: dict[str, float]) -> float:
        """Most of an example's weight must be there; it scores the weight found, times that share."""
        hit = sum(weight * found[w] / 100 for w, weight in self._weighted[index] if w in found)
        share = hit / self._totals[index]
        return EXAMPLE_FACTOR * hit * share if share >= EXAMPLE_COVERAGE else 0.0

    def _words(self, text: str) -> tuple[str, ...]:
        return tuple(w for w in self._tokeniser.tokens(text) if w not in STOPWORDS)

    def _lookups(self, tokens: tuple[str, ...]) -> list[tuple[tuple[str, float], ...]]:
        """The vocabulary words like each distinct token. A fuzzy lookup is a scan of the
        vocabulary, so at most FUZZY_BUDGET tokens not seen before are looked up fuzzily per
        message (the rest count only where they are vocabulary words exactly); results are
        remembered, since people reuse their words."""
        cache, exact = self._similar, self._known
        distinct = dict.fromkeys(tokens)
        fresh = islice(filterfalse(cache.__contains__, distinct), FUZZY_BUDGET)
        cache.update({token: self._similar_uncached(token) for token in fresh})
        found = [cache.get(t, ((t, 100.0),) if t in exact else ()) for t in distinct]
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        return found

    def _similar_uncached(self, token: str) -> tuple[tuple[str, float], ...]:
        if token in self._known:
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
