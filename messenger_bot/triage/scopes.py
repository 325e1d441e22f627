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
        self.words = frozenset(canon)
        self.keys = frozenset(w[:STEM_KEY] for w in self.words)
        marked = [CUE_MARK + t if t in cue_words else t for t in canon] if self.words & cue_words else canon
        self.string = " ".join(marked) + " "
        self.starts = [0, *accumulate(len(t) + 1 for t in marked)]

    def clause(self, ends: WordSequences, start: int, end: int, reach: int) -> tuple[int, int]:
        """The words around [start, end) up to a clause boundary, at most `reach` words each way.

        A boundary is , ; : . ! ? or an end word ("but", "however", ...). The reach keeps the
        work per mention bounded and stops a cue from covering a sign far away in a run-on
        message (a cue that reaches too far would hide a red flag).
        """
        canon = self.canon
        first = start
        while first > 0 and start - first < reach and canon[first - 1] not in _CLAUSE_MARKS:
            if ends.at(canon, first):
                break
            first -= 1
        last = max(end, start + 1)
        while last < len(canon) and last - start < reach and canon[last] not in _CLAUSE_MARKS:
            if ends.at(canon, last):
                break
            last += 1
        return first, last

    def sentence(self, start: int, reach: int) -> tuple[int, int] | None:
        """(first word, end word) of the sentence holding word `start`, if it is at most `reach` words."""
        canon = self.canon
        first = start
        while first > 0 and canon[first - 1] not in _SENTENCE_MARKS:
            first -= 1
            if start - first > reach:
                return None
        last = start
        while last < len(canon) and canon[last] not in _SENTENCE_MARKS:
            last += 1
            if last - first > reach:
                return None
        return first, min(last + 1, len(canon))


class PhraseIndex:
    """A list of compiled phrases, tried only where they can match.

    First, set operations on the message's distinct words drop every phrase one of whose
    required slots has no word in the message (most phrases, for most messages); then the
    rest are tried only at the words they can start with. A long message costs one pass
    of set look-ups, not a regex per phrase per word.
    """

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_anchor: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            words, keys = min(phrase.required, key=lambda slot: len(slot[0]) + len(slot[1]))
            for anchor in words | keys:
                self._by_anchor.setdefault(anchor, []).append(phrase)

    def matches(self, layout: Layout) -> list[Mention]:
        """Every (kind, first word, end word) one of the phrases matches."""
        words, keys, by_anchor = layout.words, layout.keys, self._by_anchor
        hits = by_anchor.keys() & words | by_anchor.keys() & keys
        candidates = {p for anchor in hits for p in by_anchor[anchor]}
        active = [
            p for p in candidates
            if all(not words.isdisjoint(w) or not keys.isdisjoint(s) for w, s in p.required)
        ]
        if not active:
            return []
        by_word: dict[str, list[Phrase]] = {}
        by_stem: dict[str, list[tuple[str, Phrase]]] = {}
        for phrase in active:
            for word in phrase.first_words & words:
                by_word.setdefault(word, []).append(phrase)
            for stem in phrase.first_stems:
                if stem[:STEM_KEY] in keys:
                    by_stem.setdefault(stem[:STEM_KEY], []).append((stem, phrase))
        found = []
        string, starts, canon = layout.string, layout.starts, layout.canon
        where = [i for i, t in enumerate(canon) if t in by_word or t[:STEM_KEY] in by_stem]
        for i in where:
            token = canon[i]
            stemmed = (p for stem, p in by_stem.get(token[:STEM_KEY], ()) if token.startswith(stem))
            for phrase in (*by_word.get(token, ()), *stemmed):
                match = phrase.regex.match(string, starts[i])
                if match:
                    found.append(Mention(phrase.sign, i, bisect_left(starts, match.end())))
        return found
