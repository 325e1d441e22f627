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
     ("right now", "again", "this morning"); a `within` cue ("should I worry about
     seizures") covers only the signs inside it, not one after its "if";
   - an idiom that holds its words ("dying to know", "paralysed with fear");
   - a sentence that is a general question and mentions nobody it is happening to;
   - the rest of its sentence saying it was checked and found normal ("... but the doctor
     said it's stress"), unless the mention's clause says it is happening now;
   - an ordinary explanation in the sentence ("numb after the dentist's injection");
4. any mention left is an alert. Over-triage by design: no reason found, no dismissal.

`check` answers with the finding alone (every message, every language); `read` also says where
each mention is and whether it stood, for the rare message on which the languages disagree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from messenger_bot.text import normalise
from messenger_bot.triage.phrases import WordSequences, phrase_set, single_words, tokens
from messenger_bot.triage.schema import TriageRules
from messenger_bot.triage.scopes import Interest, Layout, Mention, PhraseIndex
from messenger_bot.triage.speller import Speller

#: How far back (in words) a negation cue can reach over carry-over words.
_NEGATION_REACH = 8
#: How far (in words) a clause reaches either side of a mention, and how long a sentence may
#: be and still count as a general question or hold an explanation.
_CLAUSE_REACH = 16
_SENTENCE_REACH = 40
#: Mentions of one sign judged per message. A message with more (a flood of one phrase) is
#: over-triaged: the mention after these counts as standing, so the work stays bounded.
_JUDGED_PER_SIGN = 32
#: Context cues of one kind read per message: enough for every mention judged; in a flood,
#: a mention past them meets no cue, so it alerts (over-triage), and the work stays bounded.
_CUES_PER_KIND = 128


@dataclass(frozen=True)
class Finding:
    """A red flag: the ids of the signs found (in the order of flows/triage.yaml)."""

    signs: tuple[str, ...]


#: Where a mention is: its first word and end word, counted in the message's words and marks
#: (the same for every language: correcting a typo never adds or removes a word).
Place = tuple[int, int]


@dataclass(frozen=True)
class Reading:
    """What one language's triage saw in a message: its finding, the places of the mentions that
    stand and of those a cue dismissed (a negation, the past, a question, an idiom, a cause)."""

    finding: Finding | None
    standing: tuple[Place, ...]
    dismissed: tuple[Place, ...]


#: The last text tokenised, by identity, and its tokens: every language's triage reads the same
#: message, and tokenising 50,000 characters costs more than most of what follows. Replaced whole.
_last: tuple[str, list[str]] = ("", [])


def _tokens(text: str) -> list[str]:
    """The words and clause marks of `text` (normalised), worked out once for the same string.
    The list is shared: readers never change it."""
    global _last
    seen, found = _last
    if seen is not text:
        found = tokens(normalise(text))
        _last = (text, found)
    return found


class Triage:
    """Decide whether a message describes a red flag. Build once; `check` every message."""

    def __init__(self, rules: TriageRules) -> None:
        self._order = list(rules.signs)
        self._signs = PhraseIndex(rules.phrases)
        self._cues = PhraseIndex(rules.cues)
        self._explanations = {
            sign: [(PhraseIndex(because), PhraseIndex(unless)) for because, unless in pairs]
            for sign, pairs in rules.explanations.items()
        }
        self.speller = Speller(rules)
        self._negation_cues: dict[str, list[tuple[str, ...]]] = {}
        for cue in phrase_set(rules.negation.cues):
            self._negation_cues.setdefault(cue[-1], []).append(cue)
        self._carry = frozenset(single_words(rules.negation.carry_over))
        self._not_cues: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrase_set(rules.negation.not_cues):
            self._not_cues.setdefault(phrase[-1], []).append(phrase)
        self._cue_words = frozenset(single_words(rules.negation.cues))
        explanations = [
            p for pairs in rules.explanations.values() for pair in pairs for phrases in pair for p in phrases
        ]
        self._interest = Interest(
            [*rules.phrases, *rules.cues, *explanations], self._cue_words, rules.gap_stops
        )
        self._ends = WordSequences(rules.context.ends)
        question = rules.general_question
        self._starts = WordSequences(question.starts)
        self._about = WordSequences(question.about)
        self._personal = WordSequences([*question.personal, *question.urgent])
        self._frames = WordSequences(question.generic_frames)

    def check(self, text: str) -> Finding | None:
        """The red flags `text` describes, or None when it describes none."""
        canon = self.speller.read(_tokens(text))
        if not canon:
            return None
        layout = Layout(canon, self._interest)
        mentions = self._signs.matches(layout, limit=_JUDGED_PER_SIGN + 1)
        if not mentions:
            return None
        return self._finding({mention.kind for mention in self._standing(layout, mentions)})

    def read(self, text: str) -> Reading:
        """What this language saw in `text`: the finding, and where each sign mention is, standing
        or dismissed. Every mention is judged (`check` stops at a sign's first standing one), so
        another language's reading can be laid over this one word by word."""
        canon = self.speller.read(_tokens(text))
        layout = Layout(canon, self._interest)
        mentions = self._signs.matches(layout, limit=_JUDGED_PER_SIGN + 1) if canon else []
        if not mentions:
            return Reading(None, (), ())
        dismissed: list[Mention] = []
        standing = list(self._standing(layout, mentions, dismissed=dismissed))
        return Reading(self._finding({m.kind for m in standing}), _places(standing), _places(dismissed))

    def _finding(self, signs: set[str]) -> Finding | None:
        return Finding(tuple(sign for sign in self._order if sign in signs)) if signs else None

    def _standing(
        self, layout: Layout, mentions: list[Mention], dismissed: list[Mention] | None = None
    ) -> Iterator[Mention]:
        """The mentions no cue of their clause or sentence dismisses. A sign's mentions after its
        first standing one are not judged, unless `dismissed` is given: then every mention is, and
        the dismissed ones are added to it."""
        cover = _cover(mentions)
        context = _Context(self._cues.matches(layout, limit=_CUES_PER_KIND))
        explained = _Explained(layout, self._explanations)
        judged: dict[str, int] = {}
        for mention in mentions:
            count = judged.get(mention.kind, 0)
            if count < 0 and dismissed is None:
                continue  # this sign already stands
            if count >= 0:
                judged[mention.kind] = count + 1
            if count >= _JUDGED_PER_SIGN or self._stands(layout, mention, cover, context, explained):
                judged[mention.kind] = -1
                yield mention
            elif dismissed is not None:
                dismissed.append(mention)

    def _stands(
        self, layout: Layout, mention: Mention, cover: dict[int, int], context: _Context,
        explained: _Explained,
    ) -> bool:
        """No negation, context cue, general question or explanation dismisses this mention."""
        if self._negated(layout.canon, mention.start, cover):
            return False
        clause = layout.clause(self._ends, mention.start, mention.end, _CLAUSE_REACH)
        if context.dismisses(mention, clause):
            return False
        sentence = layout.sentence(mention.start, _SENTENCE_REACH)
        if sentence is None:
            return True  # a run-on message: no question or explanation reaches this far
        if self._general_question(layout.canon[sentence[0] : sentence[1]]):
            return False
        if context.found_normal(mention, clause, sentence):
            return False
        return not explained(mention.kind, sentence)

    def _negated(self, canon: list[str], start: int, cover: dict[int, int]) -> bool:
        """True when a negation cue reaches this mention: "no [a headache or] vision problems"."""
        i = start - 1
        steps = 0
        while i >= 0 and steps < _NEGATION_REACH:
            if cover.get(i, i + 1) <= i:
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
        if self._ends_at(self._not_cues, canon, i):
            return False
        return self._ends_at(self._negation_cues, canon, i)

    @staticmethod
    def _ends_at(phrases: dict[str, list[tuple[str, ...]]], canon: list[str], i: int) -> bool:
        return any(
            i + 1 >= len(phrase) and tuple(canon[i - len(phrase) + 1 : i + 1]) == phrase
            for phrase in phrases.get(canon[i], ())
        )

    def _general_question(self, sentence: list[str]) -> bool:
        """A question about signs in general, mentioning nobody it happens to, is not an alert."""
        if not sentence or not self._starts.at(sentence, 0):
            return False
        if sentence[-1] != "?" and not self._about.within(sentence):
            return False
        return not self._personal.within(self._frames.blanked(sentence))


class _Explained:
    """Which words of a message start an ordinary explanation of a sign (matched once per message)."""

    def __init__(self, layout: Layout, indexes: dict[str, list[tuple[PhraseIndex, PhraseIndex]]]) -> None:
        self._layout = layout
        self._indexes = indexes
        self._found: dict[str, list[tuple[list[int], list[int]]]] = {}

    def __call__(self, sign: str, sentence: tuple[int, int]) -> bool:
        """Does the sentence explain `sign`, with nothing in it that rules the cause out?"""
        if sign not in self._indexes:
            return False
        if sign not in self._found:
            self._found[sign] = [
                (sorted(m.start for m in because.matches(self._layout)),
                 sorted(m.start for m in unless.matches(self._layout)))
                for because, unless in self._indexes[sign]
            ]
        return any(
            _any_within(because_at, sentence) and not _any_within(unless_at, sentence)
            for because_at, unless_at in self._found[sign]
        )


class _Context:
    """The past, hypothetical, present, normal and idiom cues of one message, by where they start."""

    def __init__(self, cues: list[Mention]) -> None:
        self._idioms = _spans(c for c in cues if c.kind == "idiom")
        self._within = _spans(c for c in cues if c.kind.endswith(":within"))
        self._present = sorted(c.start for c in cues if c.kind == "present")
        self._normal = sorted(c.start for c in cues if c.kind == "normal")
        self._before = sorted(c.start for c in cues if c.kind.endswith(":before"))
        self._after = sorted(c.start for c in cues if c.kind.endswith(":after"))

    def dismisses(self, mention: Mention, clause: tuple[int, int]) -> bool:
        """Is the mention inside an idiom, or in a past or hypothetical cue's scope in its clause?

        A `within` cue ("should I worry about seizures if") covers only the signs among its own
        words, so "... my face is drooping" after it still counts; being that narrow, it holds
        in a clause with a present cue ("... if my lip keeps twitching").
        """
        if _overlapped(self._idioms, mention) or _overlapped(self._within, mention):
            return True
        first, last = clause
        if _any_within(self._present, clause):
            return False
        before = _any_within(self._before, (first, mention.start))
        return before or _any_within(self._after, (mention.start + 1, last))

    def found_normal(self, mention: Mention, clause: tuple[int, int], sentence: tuple[int, int]) -> bool:
        """Does the sentence, after the mention, say it was checked and found normal, with no
        present cue from the mention's clause on? ("scared it was a stroke but the doctor said
        it's stress"; never "the doctor said it's a migraine but my face is drooping".)"""
        after = (mention.start + 1, sentence[1])
        return _any_within(self._normal, after) and not _any_within(self._present, (clause[0], sentence[1]))


def _spans(cues: Iterable[Mention]) -> list[tuple[int, int]]:
    """(first word, end word) of each cue, sorted; a cue covers at least its first word."""
    return sorted((c.start, max(c.end, c.start + 1)) for c in cues)


def _overlapped(spans: list[tuple[int, int]], mention: Mention) -> bool:
    """Does one of these sorted spans (none longer than a clause) share a word with the mention?"""
    at = bisect_left(spans, (max(mention.end, mention.start + 1), 0))
    return any(stop > mention.start for _, stop in spans[max(0, at - _CLAUSE_REACH) : at])


def _any_within(starts: list[int], span: tuple[int, int]) -> bool:
    """Does a sorted list of word positions hold one in [span[0], span[1])?"""
    at = bisect_left(starts, span[0])
    return at < len(starts) and starts[at] < span[1]


def _places(mentions: list[Mention]) -> tuple[Place, ...]:
    return tuple((m.start, max(m.end, m.start + 1)) for m in mentions)


def _cover(mentions: list[Mention]) -> dict[int, int]:
    """For each word inside a mention, the first word of the earliest mention covering it.

    Lets the negation walk jump over whole sign phrases, whose own words ("no feeling",
    "not responding") are never cues.
    """
    cover: dict[int, int] = {}
    for mention in mentions:
        for i in range(mention.start, max(mention.end, mention.start + 1)):
            cover[i] = min(cover.get(i, mention.start), mention.start)
    return cover
