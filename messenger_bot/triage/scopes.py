"""Where a message's clauses and sentences are, and which phrases match where.

A sign mention is judged inside its clause (negation, past, hypothetical, idioms) and its
sentence (a general question, an ordinary explanation), in the NegEx / ConText tradition:
a cue's reach ends at a clause boundary, so "no fever, but my leg feels heavy" keeps the leg.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
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


class Interest:
    """The words and stem keys any phrase of a set can need: all other words are filler."""

    def __init__(
        self, phrases: Iterable[Phrase], cue_words: frozenset[str],
        stops: dict[str, list[tuple[str, ...]]] | None = None,
    ) -> None:
        words, keys = set(cue_words), set[str]()
        for phrase in phrases:
            words.update(phrase.first_words)
            keys.update(stem[:STEM_KEY] for stem in phrase.first_stems)
            for slot_words, slot_stems in phrase.required:
                words.update(slot_words)
                keys.update(stem[:STEM_KEY] for stem in slot_stems)
        self.words, self.keys, self.cue_words = frozenset(words), frozenset(keys), cue_words
        self.stops = stops or {}

    def marks(self, canon: list[str], i: int) -> bool:
        """Does a gap stop at word i: a negation cue, or the start of a clause end ("and now")?"""
        word = canon[i]
        if word in self.cue_words:
            return True
        return any(tuple(canon[i : i + len(s)]) == s for s in self.stops.get(word, ()))


class Layout:
    """A message as the phrases see it: "word word " with each word's offset in that string.

    `hits` are the positions of the words some phrase can use; `words` and `keys` what is
    there, so a phrase index decides with set operations which phrases can match at all.
    """

    def __init__(self, canon: list[str], interest: Interest) -> None:
        self.canon = canon
        self._interest = interest
        distinct = set(canon)
        self.words = frozenset(distinct & interest.words)
        self._by_key: dict[str, list[str]] = {}
        for word in distinct:
            if word[:STEM_KEY] in interest.keys:
                self._by_key.setdefault(word[:STEM_KEY], []).append(word)
        self.keys = frozenset(self._by_key)

    def has_stem(self, stems: frozenset[str]) -> bool:
        """Does a word of the message start with one of these stems?"""
        by_key = self._by_key
        return any(word.startswith(stem) for stem in stems for word in by_key.get(stem[:STEM_KEY], ()))

    @cached_property
    def hits(self) -> list[int]:
        """Positions of the words some phrase can use (built only when a phrase can match)."""
        wanted, keys = self.words, self.keys
        return [i for i, t in enumerate(self.canon) if t in wanted or t[:STEM_KEY] in keys]

    @cached_property
    def marked(self) -> list[str]:
        """The words, each negation cue and clause end with CUE_MARK before it (so a gap never
        crosses one: a phrase stays inside its clause, and its words never meet over a "not")."""
        interest, canon = self._interest, self.canon
        cues, stops = interest.cue_words, interest.stops
        marked = [CUE_MARK + t if t in cues else t for t in canon] if self.words & cues else list(canon)
        if stops.keys().isdisjoint(canon):
            return marked
        for i, word in enumerate(canon):
            if word in stops and marked[i] is word and interest.marks(canon, i):
                marked[i] = CUE_MARK + word
        return marked

    @cached_property
    def string(self) -> str:
        """The words joined for the phrase regexes: "word word "."""
        return " ".join(self.marked) + " "

    @cached_property
    def starts(self) -> list[int]:
        """Where each word starts in `string` (and, last, where the string ends)."""
        return list(accumulate(map((1).__add__, map(len, self.marked)), initial=0))

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
            words, stems = min(phrase.required, key=lambda slot: len(slot[0]) + len(slot[1]))
            for anchor in words | {stem[:STEM_KEY] for stem in stems}:
                self._by_anchor.setdefault(anchor, []).append(phrase)

    def matches(self, layout: Layout, limit: int | None = None) -> list[Mention]:
        """Every (kind, first word, end word) one of the phrases matches, in word order;
        with `limit`, at most that many of each kind (a flood of one phrase stays cheap)."""
        words, keys, by_anchor = layout.words, layout.keys, self._by_anchor
        hits = by_anchor.keys() & words | by_anchor.keys() & keys
        candidates = {p for anchor in hits for p in by_anchor[anchor]}
        active = [
            p for p in candidates
            if all(not words.isdisjoint(w) or layout.has_stem(s) for w, s in p.required)
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
        found: list[Mention] = []
        counts: dict[str, int] = {}
        string, starts, canon = layout.string, layout.starts, layout.canon
        most = len(canon) + 1 if limit is None else limit
        open_kinds = {phrase.sign for phrase in active}
        where = [i for i in layout.hits if canon[i] in by_word or canon[i][:STEM_KEY] in by_stem]
        for i in where:
            if not open_kinds:
                break
            token = canon[i]
            stemmed = (p for stem, p in by_stem.get(token[:STEM_KEY], ()) if token.startswith(stem))
            for phrase in (*by_word.get(token, ()), *stemmed):
                if counts.get(phrase.sign, 0) >= most:
                    continue
                match = phrase.regex.match(string, starts[i])
                if match:
                    counts[phrase.sign] = counts.get(phrase.sign, 0) + 1
                    found.append(Mention(phrase.sign, i, bisect_left(starts, match.end())))
                    if counts[phrase.sign] >= most:
                        open_kinds.discard(phrase.sign)
        return found
