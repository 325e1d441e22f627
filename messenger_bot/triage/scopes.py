"""Where a message's clauses and sentences are, and which phrases match where.

A sign mention is judged inside its clause (negation, past, hypothetical, idioms) and its
sentence (a general question, an ordinary explanation), in the NegEx / ConText tradition:
a cue's reach ends at a clause boundary, so "no fever, but my leg feels heavy" keeps the leg.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from messenger_bot.triage.phrases import CUE_MARK, STEM_KEY, Phrase, WordSequences

_CLAUSE_MARKS = frozenset(",:;.!?")
_SENTENCE_MARKS = frozenset(".!?;")
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class Mention:
    """One phrase matched: its kind (a sign id or a cue kind), first word, and end word."""

    kind: str
    start: int
    end: int


class Layout:
    """A message as the phrases see it: "word word " with each word's offset in that string."""

    def __init__(self, canon: list[str], cue_words: frozenset[str]) -> None:
        self.canon = canon
        marked = [CUE_MARK + t if t in cue_words else t for t in canon]
        self.string = " ".join(marked) + " "
        self.starts = [0, *accumulate(len(t) + 1 for t in marked)]

    def clauses(self, ends: WordSequences) -> list[int]:
        """The clause number of each word: a new clause after , ; : . ! ? and at an end word."""
        out, number = [], 0
        for i, token in enumerate(self.canon):
            if ends.at(self.canon, i) and i:
                number += 1
            out.append(number)
            if token in _CLAUSE_MARKS:
                number += 1
        return out

    def sentences(self) -> list[tuple[int, int]]:
        """(first word, end word) of each sentence, split after . ! ? and ;."""
        spans, first = [], 0
        for i, token in enumerate(self.canon):
            if token in _SENTENCE_MARKS:
                spans.append((first, i + 1))
                first = i + 1
        if first < len(self.canon):
            spans.append((first, len(self.canon)))
        return spans


class PhraseIndex:
    """A list of compiled phrases, tried only where their first word occurs.

    Most words start no phrase; two set look-ups per word say so before any regex runs.
    """

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_word: dict[str, list[Phrase]] = {}
        self._by_stem: dict[str, list[tuple[str, Phrase]]] = {}
        for phrase in phrases:
            for word in phrase.first_words:
                self._by_word.setdefault(word, []).append(phrase)
            for stem in phrase.first_stems:
                self._by_stem.setdefault(stem[:STEM_KEY], []).append((stem, phrase))
        self._starters: dict[str, tuple[Phrase, ...]] = {}

    def matches(self, layout: Layout) -> list[Mention]:
        """Every (kind, first word, end word) one of the phrases matches."""
        found = []
        by_word, by_stem, string = self._by_word, self._by_stem, layout.string
        for i, token in enumerate(layout.canon):
            if token not in by_word and token[:STEM_KEY] not in by_stem:
                continue
            for phrase in self._starting_with(token):
                match = phrase.regex.match(string, layout.starts[i])
                if match:
                    found.append(Mention(phrase.sign, i, bisect_left(layout.starts, match.end())))
        return found

    def _starting_with(self, token: str) -> tuple[Phrase, ...]:
        phrases = self._starters.get(token)
        if phrases is None:
            by_stem = self._by_stem.get(token[:STEM_KEY], ())
            phrases = (*self._by_word.get(token, ()), *(p for stem, p in by_stem if token.startswith(stem)))
            if len(self._starters) >= _CACHE_LIMIT:
                self._starters.clear()
            self._starters[token] = phrases
        return phrases
