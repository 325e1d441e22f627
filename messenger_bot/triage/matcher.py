"""Decide, per sign mention, whether a message describes a red flag happening now.

The order of a check, and why:

1. normalise, cut into words and punctuation, correct typos of the warning words (within a
   per-message budget, see speller.py);
2. find every sign mention (phrases from flows/triage.yaml); most messages have none, and
   stop here;
3. drop a mention only for a reason found in its own clause or sentence:
   - a negation cue right before it, reaching only over carry-over words ("no [real]
     weakness"), never over a comma, "but", a pronoun or a verb;
   - a past-event cue in its clause ("years ago", "as a child"), or a hypothetical one
     ("how would I tell if", "one day"), unless the clause also says it is happening now
     ("right now", "again", "this morning");
   - an idiom that holds its words ("dying to know", "paralysed with fear");
   - a sentence that is a general question and mentions nobody it is happening to;
   - an ordinary explanation in the sentence ("numb after the dentist's injection");
4. any mention left is an alert. Over-triage by design: no reason found, no dismissal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from messenger_bot.text import normalise
from messenger_bot.triage.phrases import TOKENS, WordSequences, phrase_set, single_words
from messenger_bot.triage.schema import TriageRules
from messenger_bot.triage.scopes import Layout, Mention, PhraseIndex
from messenger_bot.triage.speller import Speller

#: How far back (in words) a negation cue can reach over carry-over words.
_NEGATION_REACH = 8


@dataclass(frozen=True)
class Finding:
    """A red flag: the ids of the signs found (in the order of flows/triage.yaml)."""

    signs: tuple[str, ...]


class Triage:
    """Decide whether a message describes a red flag. Build once; `check` every message."""

    def __init__(self, rules: TriageRules) -> None:
        self._order = list(rules.signs)
        self._signs = PhraseIndex(rules.phrases)
        self._cues = PhraseIndex(rules.cues)
        self._explanations = {
            sign: (PhraseIndex(because), PhraseIndex(unless))
            for sign, (because, unless) in rules.explanations.items()
        }
        self.speller = Speller(rules)
        self._negation_cues: dict[str, list[tuple[str, ...]]] = {}
        for cue in phrase_set(rules.negation.cues):
            self._negation_cues.setdefault(cue[-1], []).append(cue)
        self._carry = frozenset(single_words(rules.negation.carry_over))
        self._cue_words = frozenset(single_words(rules.negation.cues))
        self._ends = WordSequences(rules.context.ends)
        question = rules.general_question
        self._starts = WordSequences(question.starts)
        self._about = WordSequences(question.about)
        self._personal = WordSequences([*question.personal, *question.urgent])
        self._frames = WordSequences(question.generic_frames)

    def check(self, text: str) -> Finding | None:
        """The red flags `text` describes, or None when it describes none."""
        canon = self.speller.read(TOKENS.findall(normalise(text)))
        if not canon:
            return None
        layout = Layout(canon, self._cue_words)
        mentions = self._signs.matches(layout)
        if not mentions:
            return None
        found = {mention.kind for mention in self._standing(layout, mentions)}
        if not found:
            return None
        return Finding(tuple(sign for sign in self._order if sign in found))

    def _standing(self, layout: Layout, mentions: list[Mention]) -> Iterator[Mention]:
        """The mentions no cue of their clause or sentence dismisses."""
        cover = _cover(mentions, len(layout.canon))
        context = _Context(self._cues.matches(layout), layout.clauses(self._ends), len(layout.canon))
        sentences = layout.sentences()
        firsts = [first for first, _ in sentences]
        general: dict[int, bool] = {}
        explained = _Explained(layout, self._explanations)
        for mention in mentions:
            if self._negated(layout.canon, mention.start, cover) or context.dismisses(mention):
                continue
            number = bisect_right(firsts, mention.start) - 1
            first, end = sentences[number]
            if number not in general:
                general[number] = self._general_question(layout.canon[first:end])
            if general[number] or explained(mention.kind, number, sentences):
                continue
            yield mention

    def _negated(self, canon: list[str], start: int, cover: list[int]) -> bool:
        """True when a negation cue reaches this mention: "no [a headache or] vision problems"."""
        i = start - 1
        steps = 0
        while i >= 0 and steps < _NEGATION_REACH:
            if cover[i] <= i:
                i = cover[i] - 1
            elif self._cue_ends_at(canon, i):
                return True
            elif canon[i] in self._carry:
                i -= 1
            else:
                return False
            steps += 1
        return False

    def _cue_ends_at(self, canon: list[str], i: int) -> bool:
        cues = self._negation_cues.get(canon[i], ())
        return any(tuple(canon[i - len(cue) + 1 : i + 1]) == cue for cue in cues)

    def _general_question(self, sentence: list[str]) -> bool:
        """A question about signs in general, mentioning nobody it happens to, is not an alert."""
        if not sentence or not self._starts.at(sentence, 0):
            return False
        if sentence[-1] != "?" and not self._about.within(sentence):
            return False
        return not self._personal.within(self._frames.blanked(sentence))


class _Explained:
    """Which sentences hold an ordinary explanation of a sign (matched once per message)."""

    def __init__(self, layout: Layout, indexes: dict[str, tuple[PhraseIndex, PhraseIndex]]) -> None:
        self._layout = layout
        self._indexes = indexes
        self._found: dict[str, tuple[list[int], list[int]]] = {}

    def __call__(self, sign: str, number: int, sentences: list[tuple[int, int]]) -> bool:
        """Does sentence `number` explain `sign`, with nothing in it that rules the cause out?"""
        if sign not in self._indexes:
            return False
        if sign not in self._found:
            because, unless = self._indexes[sign]
            self._found[sign] = ([m.start for m in because.matches(self._layout)],
                                 [m.start for m in unless.matches(self._layout)])
        first, end = sentences[number]
        because_at, unless_at = self._found[sign]
        return any(first <= i < end for i in because_at) and not any(first <= i < end for i in unless_at)


class _Context:
    """The past, hypothetical, present and idiom cues of one message, summed up per clause."""

    def __init__(self, cues: list[Mention], clauses: list[int], size: int) -> None:
        self._clauses = clauses
        self._present = {clauses[c.start] for c in cues if c.kind == "present"}
        self._idiom = [False] * size
        self._first_before: dict[int, int] = {}
        self._last_after: dict[int, int] = {}
        for cue in cues:
            clause = clauses[cue.start]
            if cue.kind == "idiom":
                self._idiom[cue.start : max(cue.end, cue.start + 1)] = [True] * max(cue.end - cue.start, 1)
            elif cue.kind.endswith(":before"):
                self._first_before[clause] = min(self._first_before.get(clause, size), cue.start)
            elif cue.kind.endswith(":after"):
                self._last_after[clause] = max(self._last_after.get(clause, -1), cue.start)

    def dismisses(self, mention: Mention) -> bool:
        """Is the mention inside an idiom, or in a past or hypothetical cue's scope?"""
        if any(self._idiom[mention.start : max(mention.end, mention.start + 1)]):
            return True
        clause = self._clauses[mention.start]
        if clause in self._present:
            return False
        before = self._first_before.get(clause, len(self._idiom))
        after = self._last_after.get(clause, -1)
        return before < mention.start or after > mention.start


def _cover(mentions: list[Mention], size: int) -> list[int]:
    """For each word, the first word of the earliest mention covering it (size when none).

    Lets the negation walk jump over whole sign phrases, whose own words ("no feeling",
    "not responding") are never cues.
    """
    cover = [size] * size
    for mention in mentions:
        for i in range(mention.start, max(mention.end, mention.start + 1)):
            cover[i] = min(cover[i], mention.start)
    return cover
