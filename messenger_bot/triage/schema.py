"""The validated shape of flows/triage.yaml; every phrase is compiled while validating.

A broken phrase, an unknown word list or a misspelt key stops the app at load time (and
`check-content` reports it) with a message naming the sign or the cue list it sits in.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from messenger_bot.text import normalise, words
from messenger_bot.triage.phrases import Phrase, PhraseCompiler, single_words

_SIGN_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Explanation(_Strict):
    """An ordinary cause that explains a sign in the same sentence ("numb after the dentist")."""

    words: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)


class Sign(_Strict):
    """One warning sign: a human name, the phrases that mean it, an ordinary explanation."""

    name: str = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)
    explained_by: list[Explanation] = Field(default_factory=list)


class Negation(_Strict):
    """Words that cancel a sign right after them, and words a cue reaches over."""

    cues: list[str] = Field(min_length=1)
    carry_over: list[str] = Field(default_factory=list)
    #: Phrases that end in a cue's word but deny nothing: Portuguese "do nada" and Spanish "de la
    #: nada" mean "out of nowhere", so "do nada parei de sentir a perna" is sudden, not negated.
    not_cues: list[str] = Field(default_factory=list)


class GeneralQuestion(_Strict):
    """When a sentence is a general question about signs rather than a description of one."""

    starts: list[str]
    about: list[str]
    personal: list[str]
    urgent: list[str] = Field(default_factory=list)
    generic_frames: list[str] = Field(default_factory=list)


class Scope(_Strict):
    """Cue phrases of one kind: `before` covers what follows it in its clause, `after` what
    precedes it, `within` only the signs inside its own words (so a sign after it still counts)."""

    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    within: list[str] = Field(default_factory=list)


class Context(_Strict):
    """Clause ends, and the cues that make a sign mention past, hypothetical, found normal or an idiom."""

    ends: list[str] = Field(min_length=1)
    gap_stops: list[str] = Field(default_factory=list)
    present: list[str] = Field(default_factory=list)
    past: Scope = Scope()
    hypothetical: Scope = Scope()
    normal: list[str] = Field(default_factory=list)
    idioms: list[str] = Field(default_factory=list)


class TriageRules(_Strict):
    """flows/triage.yaml, validated and compiled."""

    spellings: dict[str, str] = Field(default_factory=dict)
    never_correct: list[str] = Field(default_factory=list)
    short_words: list[str] = Field(default_factory=list)
    words: dict[str, list[str]] = Field(default_factory=dict)
    negation: Negation
    general_question: GeneralQuestion
    context: Context
    signs: dict[str, Sign] = Field(min_length=1)

    _phrases: list[Phrase] = PrivateAttr(default_factory=list)
    _cues: list[Phrase] = PrivateAttr(default_factory=list)
    _explanations: dict[str, list[tuple[list[Phrase], list[Phrase]]]] = PrivateAttr(default_factory=dict)
    _vocabulary: frozenset[str] = PrivateAttr(default=frozenset())
    _stems: frozenset[str] = PrivateAttr(default=frozenset())
    _cue_vocabulary: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("signs")
    @classmethod
    def _sign_ids(cls, value: dict[str, Sign]) -> dict[str, Sign]:
        for sign_id in value:
            if not _SIGN_ID.fullmatch(sign_id):
                raise ValueError(f"sign id {sign_id!r} must be lower-case letters, digits and dashes")
        return value

    @model_validator(mode="after")
    def _compile(self) -> TriageRules:
        cues, stops = single_words(self.negation.cues), self.gap_stops
        signs = PhraseCompiler(self.words, cues, stops)
        others = signs.sibling()  # its own vocabulary (the cues'), the same word lists
        problems: list[str] = []
        for sign_id, sign in self.signs.items():
            self._phrases.extend(_compiled(signs, sign_id, sign.phrases, f"sign '{sign_id}'", problems))
            for number, explanation in enumerate(sign.explained_by, 1):
                where = f"sign '{sign_id}': explained_by {number}"
                self._explanations.setdefault(sign_id, []).append((
                    _compiled(others, sign_id, explanation.words, where, problems),
                    _compiled(others, sign_id, explanation.unless, where, problems),
                ))
        for kind, phrases in self._cue_lists().items():
            self._cues.extend(_compiled(others, kind, phrases, f"context '{kind}'", problems))
        if problems:
            raise ValueError("; ".join(problems))
        self._vocabulary, self._stems = frozenset(signs.vocabulary), frozenset(signs.stems)
        self._cue_vocabulary = frozenset(others.vocabulary)
        return self

    def _cue_lists(self) -> dict[str, list[str]]:
        context = self.context
        return {
            "present": context.present,
            "past:before": context.past.before, "past:after": context.past.after,
            "past:within": context.past.within,
            "hypothetical:before": context.hypothetical.before,
            "hypothetical:after": context.hypothetical.after,
            "hypothetical:within": context.hypothetical.within,
            "normal": context.normal,
            "idiom": context.idioms,
        }

    @property
    def gap_stops(self) -> dict[str, list[tuple[str, ...]]]:
        """`context.gap_stops` by first word: clause ends that turn to another time ("and now"),
        which a phrase's gap (~N) may not cross, so "a mini stroke last year and now ..." never
        reaches its "now" (a plain "but" stays crossable: "talking but none of it makes sense")."""
        stops: dict[str, list[tuple[str, ...]]] = {}
        for end in self.context.gap_stops:
            sequence = tuple(words(normalise(end)))
            if sequence:
                stops.setdefault(sequence[0], []).append(sequence)
        return stops

    @property
    def ordinary_words(self) -> frozenset[str]:
        """Words the file names that must never be "corrected" into a warning word."""
        lists = [
            self.never_correct, self.negation.cues, self.negation.carry_over, self.spellings,
            self.spellings.values(), self.general_question.starts, self.general_question.about,
            self.general_question.personal, self.general_question.urgent, self.context.ends,
        ]
        listed = frozenset(w for entries in lists for entry in entries for w in words(normalise(entry)))
        return listed | self._cue_vocabulary

    @property
    def phrases(self) -> list[Phrase]:
        """Every sign's phrases, compiled, in file order."""
        return self._phrases

    @property
    def cues(self) -> list[Phrase]:
        """The context cues, compiled; `Phrase.sign` holds the cue kind ("present", "normal",
        "idiom", or "past:" or "hypothetical:" followed by "before", "after" or "within")."""
        return self._cues

    @property
    def explanations(self) -> dict[str, list[tuple[list[Phrase], list[Phrase]]]]:
        """Per sign id: (phrases that explain it, phrases that cancel the explanation)."""
        return self._explanations

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every whole word a sign phrase can match: the targets of typo correction."""
        return self._vocabulary

    @property
    def stems(self) -> frozenset[str]:
        """Every `word*` prefix a sign phrase uses."""
        return self._stems


def _compiled(
    compiler: PhraseCompiler, kind: str, phrases: list[str], where: str, problems: list[str],
) -> list[Phrase]:
    """Compile a list of phrases, adding one problem line (naming `where`) for each bad one."""
    out: list[Phrase] = []
    for phrase in phrases:
        try:
            out.extend(compiler.compile(kind, [phrase]))
        except ValueError as error:
            problems.append(f"{where}: {error}")
    return out
