"""Red-flag triage: the dev sets, focused behaviour, and robustness.

`pytest -s tests/test_triage.py` prints recall and false-alarm rate per dev set
(every tests/eval/triage-*.tsv).
"""

from __future__ import annotations

import functools
import random
import shutil
import string
import subprocess
import sys
from bisect import bisect_left
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from messenger_bot.text import normalise, words
from messenger_bot.triage import Finding, Triage, TriageRules
from messenger_bot.triage.scopes import Layout, PhraseIndex
from messenger_bot.triage.speller import BUDGET, skeleton
from messenger_bot.wiring import load_content

ROOT = Path(__file__).parents[1]
EVAL = ROOT / "tests" / "eval"
#: The default language's sets and each language's (tests/eval/<code>/), but not the lines another
#: language's triage alone alerts on (triage-crosslanguage.tsv: tests/test_triage_languages.py holds
#: them to the issue's bound across languages) nor the mixed-language held-out sets, scored once
#: and reported in the README, never tuned against.
_APART = ("triage-crosslanguage", "triage-mixed-holdout")
DEV_SETS = sorted(p for p in EVAL.glob("**/triage-*.tsv") if not p.name.startswith(_APART))
MAX_FALSE_ALARM_RATE = 0.1


def _raw_rules() -> dict:
    return yaml.safe_load((ROOT / "flows" / "triage.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage(TriageRules.model_validate(_raw_rules()))


def _rows(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            expected, message = line.split("\t", 1)
            assert expected in {"alert", "no"}, f"{path.name}: bad label in {line!r}"
            rows.append((expected, message))
    return rows


def _language_triage(path: Path, default: Triage) -> Triage:
    """A language's set (tests/eval/<code>/) is read by that language's triage."""
    return default if path.parent == EVAL else _triage_of(path.parent.name)


@functools.cache
def _triage_of(code: str) -> Triage:
    return Triage(load_content(ROOT / "flows").languages[code].triage)


@pytest.mark.parametrize("path", DEV_SETS, ids=lambda p: str(p.relative_to(EVAL)))
def test_dev_set(triage: Triage, path: Path) -> None:
    triage = _language_triage(path, triage)
    rows = _rows(path)
    alerts = [m for e, m in rows if e == "alert"]
    calm = [m for e, m in rows if e == "no"]
    missed = [m for m in alerts if triage.check(m) is None]
    false_alarms = [m for m in calm if triage.check(m) is not None]
    recall = 1 - len(missed) / len(alerts)
    rate = len(false_alarms) / len(calm)
    print(f"\n{path.name}: recall {recall:.0%} ({len(alerts) - len(missed)}/{len(alerts)}), "
          f"false alarms {rate:.0%} ({len(false_alarms)}/{len(calm)})")
    assert not missed, f"missed red flags: {missed}"
    assert rate <= MAX_FALSE_ALARM_RATE, f"false alarms: {false_alarms}"


@pytest.mark.parametrize("message", [
    "no weakness or numbness, just a twitch",
    "I don't have a headache or vision problems",
    "not dizzy and no numbness",
    "my face is not drooping",
    "my speech isn't slurred",
    "never had a seizure",
    "without any numbness",
])
def test_simple_negation_is_not_an_alert(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


@pytest.mark.parametrize(("message", "sign"), [
    ("I can't feel my leg", "numbness"),
    ("can't move one side of my face", "paralysis"),
    ("can't get my words out", "speech-trouble"),
    ("I don't understand what people say", "not-understanding"),
    ("she is not responding", "fainting"),
    ("he isn't breathing", "emergency"),
    ("he isn't conscious", "fainting"),
    ("no feeling in my left arm", "numbness"),
])
def test_negation_inside_a_sign_still_alerts(triage: Triage, message: str, sign: str) -> None:
    finding = triage.check(message)
    assert finding is not None and sign in finding.signs


@pytest.mark.parametrize("message", [
    "no headache but my face is drooping",
    "no headache, face drooping",
    "not dizzy, but i can't feel my arm",
    "no numbness. she can't talk",
])
def test_negation_ends_with_its_clause(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


@pytest.mark.parametrize(("message", "sign"), [
    ("numbnes in my cheek", "numbness"),
    ("her face is droopy", "face-droop"),
    ("my arm is paralized", "paralysis"),
    ("he is having a siezure", "seizure"),
    ("his speech is slured", "speech-trouble"),
    ("i think im having a strok", "stroke"),
    ("is this a storke", "stroke"),
    ("my wife colapsed", "fainting"),
    ("FACE DROOOOOPING", "face-droop"),
])
def test_typos_and_case(triage: Triage, message: str, sign: str) -> None:
    finding = triage.check(message)
    assert finding is not None and sign in finding.signs


@pytest.mark.parametrize("message", ["cant talk", "can't talk", "can’t talk", "CANT TALK", "can not talk"])
def test_apostrophes_optional(triage: Triage, message: str) -> None:
    assert triage.check(message) == Finding(("speech-trouble",))


@pytest.mark.parametrize("message", [
    "what are the warning signs",
    "what does a stroke look like",
    "is lip twitching dangerous",
    "can lip twitching be a sign of stroke?",
    "is numbness a sign of stroke?",
    "my dad had a stroke years ago",
])
def test_general_questions_are_not_alerts(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


@pytest.mark.parametrize("message", [
    "is numbness a sign of stroke? my face is numb",
    "is this a stroke?",
    "what do I do, she collapsed",
])
def test_questions_about_someone_alert(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


@pytest.mark.parametrize("message", ["my lip twitched all week", "i blink a lot", "I use eye drops"])
def test_ordinary_words_are_not_corrected_into_signs(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


def test_long_text_is_linear_and_still_finds_the_sign(triage: Triage) -> None:
    filler = "my lip twitches a bit when I drink coffee and " * 230
    assert len(filler) > 10_000
    assert triage.check(filler) is None
    assert triage.check(filler + " suddenly my face is drooping") == Finding(("face-droop",))
    hostile = "no " * 3000 + "a " * 2000 + "face " * 2000
    assert triage.check(hostile) is None


def test_findings_list_every_sign_in_file_order(triage: Triage) -> None:
    assert triage.check("she collapsed and her face is drooping") == Finding(("face-droop", "fainting"))


def test_empty_and_punctuation_only(triage: Triage) -> None:
    assert triage.check("") is None
    assert triage.check(" ?!.,; ") is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_check_never_raises(text: str) -> None:
    result = _shared_triage().check(text)
    assert result is None or isinstance(result, Finding)


SOUP = ["no", "not", "face", "drooping", ",", "arm", "weak", "can't", "feel", "?", "strok",
        "my", "but", "sudden", "headache", "isn't", "'", "é", "!!"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(SOUP), max_size=40))
def test_check_never_raises_on_word_soup(tokens: list[str]) -> None:
    result = _shared_triage().check(" ".join(tokens))
    assert result is None or isinstance(result, Finding)


_CACHE: list[Triage] = []


def _shared_triage() -> Triage:
    """Hypothesis tests cannot take function-scoped fixtures; build the engine once."""
    if not _CACHE:
        _CACHE.append(Triage(TriageRules.model_validate(_raw_rules())))
    return _CACHE[0]


def _with_phrase(phrase: str) -> dict:
    raw = _raw_rules()
    raw["signs"]["seizure"]["phrases"].append(phrase)
    return raw


@pytest.mark.parametrize(("phrase", "says"), [
    ("@nosuchlist ~2 fit", "unknown word list '@nosuchlist'"),
    ("fit|", "empty alternative"),
    ("~2 fit", "cannot start with a gap"),
    ("fit (", "is not a word"),
    ("fit?", "could match no words"),
])
def test_bad_phrase_is_a_load_error_naming_the_sign(phrase: str, says: str) -> None:
    with pytest.raises(ValidationError) as error:
        TriageRules.model_validate(_with_phrase(phrase))
    message = str(error.value)
    assert "sign 'seizure'" in message and says in message and phrase in message


def test_a_broken_word_list_is_named_at_every_phrase_that_uses_it() -> None:
    """A language's word lists are built once for its signs and its cues alike: a broken one is
    still a load error at each phrase that uses it, a sign's and a context cue's."""
    raw = _raw_rules()
    raw["words"]["broken"] = ["fit ("]
    raw["signs"]["seizure"]["phrases"].append("@broken ~2 now")
    raw["signs"]["seizure"]["phrases"].append("@broken again")
    raw["context"]["normal"].append("@broken ~2 fine")
    with pytest.raises(ValidationError) as error:
        TriageRules.model_validate(raw)
    message = str(error.value)
    assert message.count("in word list '@broken': '(' is not a word") == 3
    assert "sign 'seizure': phrase '@broken again'" in message
    assert "context 'normal': phrase '@broken ~2 fine'" in message


def test_unknown_keys_are_refused() -> None:
    raw = _raw_rules()
    raw["signs"]["seizure"]["phrase"] = ["typo in the key"]
    with pytest.raises(ValidationError):
        TriageRules.model_validate(raw)


def test_bad_sign_id_is_refused() -> None:
    raw = _raw_rules()
    raw["signs"]["Bad Id"] = {"name": "x", "phrases": ["x"]}
    with pytest.raises(ValidationError, match="sign id"):
        TriageRules.model_validate(raw)


def test_every_dev_set_is_there() -> None:
    names = {p.name for p in DEV_SETS}
    assert {"triage-dev.tsv", "triage-more.tsv", "triage-kinds.tsv", "triage-holdout.tsv"} <= names


# --- Scope: a cue reaches only inside its own clause -------------------------------------

@pytest.mark.parametrize("message", [
    "no fever, but my leg suddenly feels heavy and useless",
    "not sure, but my arm is weak",
    "no pain at all but i can't lift my right arm",
    "i don't have a headache, however my face is drooping",
    "not dizzy, although my left hand feels numb",
    "no twitching today, now my whole arm is numb",
    "my dad had a stroke in 2015 and now his speech is slurred again",
    "years ago i fainted, now my arm is numb",
])
def test_a_cue_ends_with_its_clause(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


@pytest.mark.parametrize("message", [
    "my eyesight is normal and i can feel everything",
    "speech fine, no weakness, just the twitch",
    "no numbness, no droop, no headache, only my upper lip jumps",
    "no slurred speech, no confusion, just annoying twitches",
    "she has no weakness and no droop",
])
def test_whole_negated_statements_are_calm(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


# --- Questions about a sign versus reports of one ----------------------------------------

@pytest.mark.parametrize("message", [
    "how would i tell if my smile is uneven?",
    "am i at risk of a stroke one day?",
    "how can i tell a stroke from bell's palsy?",
    "what are the warning signs of a stroke?",
    "what should i do if my face droops?",
    "if i ever get a sudden headache should i call an ambulance?",
    "does lip twitching mean i will have a stroke in the future?",
    "tell me about seizures",
    "my sister worries her face might droop one day",
])
def test_questions_about_signs_are_calm(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


@pytest.mark.parametrize("message", [
    "is it a stroke if my face is drooping right now?",
    "why is my face drooping on one side?",
    "should i be worried that my speech is slurred right now?",
    "what are the signs of a stroke? my dad's face is drooping",
    "what should i do my face is drooping",
    "could i be having a stroke?",
    "i'm scared i'm having a stroke",
    "how do i know if its serious, my face is drooping",
])
def test_questions_that_describe_a_sign_now_alert(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


# --- Past events, idioms, ordinary explanations -------------------------------------------

@pytest.mark.parametrize("message", [
    "i passed out once in school",
    "my dad had a stroke in 2015",
    "years ago i had a seizure",
    "when i was a kid i had a fit with a high fever",
    "my husband had a seizure a long time ago but none since",
    "i used to get migraines with blurry vision as a student",
])
def test_events_long_past_are_calm(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


@pytest.mark.parametrize("message", [
    "she had a seizure as a child and is having one again now",
    "he fainted at school today",
    "once she stood up she collapsed",
    "he collapsed and i put him back in the chair",
])
def test_past_cues_do_not_hide_what_is_happening_now(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


@pytest.mark.parametrize("message", [
    "i can't understand why this happens",
    "i can't see the point",
    "this is doing my head in",
    "i'm dying to know",
    "it's killing me how long this lasts",
    "i was paralysed with fear when i saw it in the mirror",
    "i keep falling asleep on the sofa",
    "i can't stand this twitching",
])
def test_idioms_are_calm(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


def test_an_idiom_hides_only_its_own_words(triage: Triage) -> None:
    assert triage.check("i can't understand why my face is drooping") == Finding(("face-droop",))
    assert triage.check("my head is killing me out of nowhere") == Finding(("sudden-headache",))


@pytest.mark.parametrize(("message", "finding"), [
    ("should i worry about seizures if my lip twitches", None),
    ("should i worry about seizures if my lip keeps twitching", None),  # "keeps" is the twitch's
    ("should i worry about seizures if my face is drooping", Finding(("face-droop",))),
    ("i'm worried about a stroke because my face is drooping", Finding(("face-droop",))),
    ("can this turn into a seizure", None),
    ("can this turn into a seizure? he is shaking all over", Finding(("seizure",))),
])
def test_a_question_about_a_sign_covers_only_the_sign_it_names(
    triage: Triage, message: str, finding: Finding | None,
) -> None:
    assert triage.check(message) == finding


def test_numbness_after_dental_work_is_expected(triage: Triage) -> None:
    assert triage.check("my lip is numb after the dentist's injection") is None
    assert triage.check("the dentist numbed my jaw this morning") is None
    assert triage.check("my lip is numb after the dentist but now my arm is numb too") is not None
    assert triage.check("my lip is numb and my arm is numb, i went to the dentist yesterday") is not None
    assert triage.check("after the dentist my face is drooping") == Finding(("face-droop",))


# --- Typos, and each kind of sign -----------------------------------------------------------

@pytest.mark.parametrize(("message", "sign"), [
    ("numbess in my whole left arm", "numbness"),
    ("my arm is weaak", "weakness"),
    ("my leg is weeak and heavy", "weakness"),
    ("his speech is sluured", "speech-trouble"),
    ("her face is droopping", "face-droop"),
    ("face dropy", "face-droop"),
    ("my hand is numbb", "numbness"),
    ("i think my arm is paralized", "paralysis"),
    ("my son is having a seisure", "seizure"),
    ("my face is sooo numb", "numbness"),
    ("i have the wrost headache of my life", "sudden-headache"),
    ("my dad is confussed and doesnt know where he is", "confusion"),
])
def test_missing_doubled_and_swapped_letters(triage: Triage, message: str, sign: str) -> None:
    finding = triage.check(message)
    assert finding is not None and sign in finding.signs


@pytest.mark.parametrize(("message", "sign"), [
    ("i feel really dizzy all of a sudden and cant walk straight", "balance"),
    ("my dad keeps losing his balance", "balance"),
    ("he's stumbling and veering to one side when he walks", "balance"),
    ("my legs just wouldnt hold me up", "balance"),
    ("it's like a curtain came down over my left eye", "vision-change"),
    ("i can only see half of things", "vision-change"),
    ("part of my vision is missing on the left side", "vision-change"),
    ("i'm seeing double all of a sudden", "vision-change"),
    ("when i smile only the left side moves", "face-droop"),
    ("my smile is lopsided", "face-droop"),
    ("my cheek feels stiff and heavy", "face-droop"),
    ("one side of my mouth won't move", "face-droop"),
    ("he can't close one eye", "face-droop"),
    ("my head is killing me out of nowhere", "sudden-headache"),
    ("a banging pain in my head that hit me suddenly", "sudden-headache"),
    ("thunderclap pain at the back of my head", "sudden-headache"),
    ("i think i'm having a TIA", "stroke"),
    ("my grandad is having a mini stroke", "stroke"),
    ("she has all the FAST signs", "stroke"),
    ("my husband is showing stroke symptoms", "stroke"),
    ("he swallowed a whole pack of tablets", "poisoning"),
    ("i took too many pills", "poisoning"),
    ("my toddler drank bleach", "poisoning"),
    ("i took 20 paracetamol", "poisoning"),
])
def test_each_kind_of_sign(triage: Triage, message: str, sign: str) -> None:
    finding = triage.check(message)
    assert finding is not None and sign in finding.signs


@pytest.mark.parametrize("message", [
    "i feel a bit dizzy when i skip breakfast",
    "i took ibuprofen for my back, can it cause twitching?",
    "i have food poisoning i think",
    "i drank too much coffee, my lip is twitching",
])
def test_ordinary_days_are_calm(triage: Triage, message: str) -> None:
    assert triage.check(message) is None


@pytest.mark.parametrize("message", [
    "my mum's face dropped on one side",
    "my grandma speaking funny and her mouth look not same both side",
    "my father he cannot lift arm and talk strange",
    "my grandmother no can walk, she fall to one side",
])
def test_second_hand_and_non_native_reports_alert(triage: Triage, message: str) -> None:
    assert triage.check(message) is not None


# --- Bounded work ----------------------------------------------------------------------------

def _made_up(size: int, seed: int) -> str:
    rng = random.Random(seed)
    words = ("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 11))) for _ in range(size))
    return " ".join(words)[:size]


@pytest.mark.parametrize("size", [4_000, 16_000, 50_000])
def test_typo_correction_has_a_budget_per_message(size: int) -> None:
    triage = Triage(TriageRules.model_validate(_raw_rules()))
    for seed in (1, 2):
        before = triage.speller.corrections
        assert triage.check(_made_up(size, seed) + " my face is drooping") == Finding(("face-droop",))
        assert triage.speller.corrections - before <= BUDGET + 4


def test_a_word_seen_before_costs_no_correction() -> None:
    triage = Triage(TriageRules.model_validate(_raw_rules()))
    triage.check("my face is droopping and my arm is weaak")
    before = triage.speller.corrections
    assert triage.check("my face is droopping and my arm is weaak") == Finding(("face-droop", "weakness"))
    assert triage.speller.corrections == before


def test_a_typo_within_the_budget_is_still_read() -> None:
    triage = Triage(TriageRules.model_validate(_raw_rules()))
    new_words = _made_up(BUDGET * 3, 3).split()[: BUDGET // 2]
    assert triage.check(" ".join(new_words) + " my arm is weaak") == Finding(("weakness",))


# --- The file's new parts are validated, naming where -----------------------------------------

def test_bad_cue_phrase_names_its_list() -> None:
    raw = _raw_rules()
    raw["context"]["past"]["after"].append("years|")
    with pytest.raises(ValidationError) as error:
        TriageRules.model_validate(raw)
    assert "context 'past:after'" in str(error.value) and "empty alternative" in str(error.value)


def test_bad_within_cue_names_its_list() -> None:
    raw = _raw_rules()
    raw["context"]["hypothetical"]["within"].append("worry about ~2")
    with pytest.raises(ValidationError) as error:
        TriageRules.model_validate(raw)
    assert "context 'hypothetical:within'" in str(error.value) and "end with a gap" in str(error.value)


def test_bad_explanation_phrase_names_its_sign() -> None:
    raw = _raw_rules()
    raw["signs"]["numbness"]["explained_by"][0]["unless"].append("@nosuchlist")
    with pytest.raises(ValidationError) as error:
        TriageRules.model_validate(raw)
    assert "sign 'numbness': explained_by 1" in str(error.value) and "@nosuchlist" in str(error.value)


def test_unknown_context_key_is_refused() -> None:
    raw = _raw_rules()
    raw["context"]["futur"] = ["one day"]
    with pytest.raises(ValidationError, match="futur"):
        TriageRules.model_validate(raw)


def test_check_content_reports_a_broken_cue_list(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    raw = _raw_rules()
    raw["context"]["hypothetical"]["before"].append("~2 if")
    (flows / "triage.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "messenger_bot", "check-content", str(flows)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "triage.yaml" in done.stdout + done.stderr
    assert "context 'hypothetical:before'" in done.stdout + done.stderr


def _content_words() -> set[str]:
    content = load_content(ROOT / "flows")
    found: set[str] = set()
    for node in content.nodes.values():
        for text in (getattr(node, "text", None), getattr(node, "title", None)):
            if isinstance(text, str):
                found.update(words(normalise(text)))
    return found


def test_the_bots_own_words_are_not_corrected_into_other_words() -> None:
    """Real words near a warning word ("hearing" ~ "searing", "walking" ~ "talking") stay as typed."""
    speller = Triage(TriageRules.model_validate(_raw_rules())).speller
    allowed = {normalise(k) for k in _raw_rules()["spellings"]}
    changed = {}
    for word in sorted(_content_words() - allowed):
        read = speller.correct(word)
        same_word = read.rstrip("s") == word.rstrip("s") or word.removesuffix("'s") == read
        if read != word and not same_word and skeleton(read) != skeleton(word):
            changed[word] = read
    assert not changed


FLOODS = ["no numb ", "numb. ", "what is numb? ", "years ago i fainted ", "my face is drooping "]


@pytest.mark.parametrize("flood", FLOODS)
def test_a_flood_of_one_phrase_is_judged_a_bounded_number_of_times(
    flood: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10,000 mentions of one sign: a few dozen are judged, then the flood is over-triaged."""
    triage = Triage(TriageRules.model_validate(_raw_rules()))
    judged = []
    stands = triage._stands
    monkeypatch.setattr(triage, "_stands", lambda *args: judged.append(args[1]) or stands(*args))
    assert triage.check((flood * 10_000)[:50_000]) is not None
    assert 0 < len(judged) <= 64


@pytest.mark.parametrize(("message", "expected"), [
    ("i was scared it was a stroke but the doctor said it's stress", None),
    ("the doctor said it's a migraine but my face is drooping", ("face-droop",)),
    ("the doctor said it's nothing, but my arm is numb again today", ("numbness",)),
    ("my face is drooping, the doctor said it's stress but it's getting worse", ("face-droop",)),
])
def test_found_normal_covers_only_what_came_before_it(
    triage: Triage, message: str, expected: tuple | None,
) -> None:
    found = triage.check(message)
    assert (found.signs if found else None) == expected


@pytest.mark.parametrize(("calm", "alarming"), [
    ("i have a splitting headache from the kids screaming", "worst headache of my life after drinking"),
    ("my vision is blurry when i take my glasses off", "my vision suddenly went blurry at the screen"),
    ("my legs are weak after the gym", "my left arm is weak after the gym"),
])
def test_an_everyday_cause_explains_a_sign_unless_it_sounds_sudden(
    triage: Triage, calm: str, alarming: str,
) -> None:
    assert triage.check(calm) is None
    assert triage.check(alarming) is not None


@pytest.mark.parametrize(("typed", "read"), [
    ("speek", "speak"), ("spek", "speak"), ("wiak", "weak"), ("smle", "smile"),
    ("amr", "arm"), ("arn", "arm"),
])
def test_short_key_words_forgive_a_vowel_or_a_lost_letter(typed: str, read: str) -> None:
    speller = Triage(TriageRules.model_validate(_raw_rules())).speller
    assert speller.correct(typed) == read


@pytest.mark.parametrize("word", ["logs", "heat", "peak", "lamb", "feint", "wards", "cell", "soon", "step"])
def test_short_real_words_stay_as_typed(word: str) -> None:
    """Only the listed key words take the short-word step: "logs" is never "legs"."""
    speller = Triage(TriageRules.model_validate(_raw_rules())).speller
    assert speller.correct(word) == word


def test_a_gap_never_crosses_and_now(triage: Triage) -> None:
    """The phrase "mini stroke ~3 now" stays in its clause; a "now" in the same clause still counts."""
    past = "my grandma had a mini stroke last year and now my lip twitches, am i at risk?"
    assert triage.check(past) is None
    assert triage.check("i think i had a mini stroke just now") is not None
    assert triage.check("my arm is now weak") is not None


def test_every_phrase_of_every_language_compiles() -> None:
    """Regexes are compiled on first use, not at start: each shipped phrase must compile."""
    content = load_content(ROOT / "flows")
    for language in content.languages.values():
        for phrase in [*language.triage.phrases, *language.triage.cues]:
            assert phrase.regex.pattern == phrase.source, (language.code, phrase.sign)


@functools.cache
def _english() -> Triage:
    return Triage(TriageRules.model_validate(_raw_rules()))


def _every_match(index: PhraseIndex, layout: Layout) -> set[tuple[str, int, int]]:
    """Every phrase of the index tried at every word: what the index must find, however it skips."""
    phrases = {phrase for listed in index._by_anchor.values() for phrase in listed}
    found = set()
    for i in range(len(layout.canon)):
        for phrase in phrases:
            match = phrase.regex.match(layout.string, layout.starts[i])
            if match:
                found.add((phrase.sign, i, bisect_left(layout.starts, match.end())))
    return found


_SIGN_WORDS = sorted({w for p in _english()._signs._by_anchor for w in [p] if w.isalpha()})[:120]
_PIECES = st.sampled_from([*_SIGN_WORDS, "my", "face", "is", "drooping", "arm", "weak", "no", "not", "and",
                           "now", "but", ",", ".", "?", "suddenly", "she", "can't", "speak", "lip", "coffee"])


@settings(max_examples=60, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=40), st.integers(min_value=1, max_value=6), _PIECES)
def test_phrases_are_found_wherever_they_match_in_a_repeated_text(
    piece: list[str], times: int, last: str,
) -> None:
    """A message that repeats itself is matched once per distinct window of words: the mentions
    found are exactly those of every phrase tried at every word, the last repeat's changed word too."""
    triage = _english()
    layout = Layout([*piece * times, last, *piece], triage._interest)
    for index in (triage._signs, triage._cues):
        found = {(m.kind, m.start, m.end) for m in index.matches(layout)}
        assert found == _every_match(index, layout)


def test_every_phrase_of_every_language_has_a_bounded_reach() -> None:
    """A phrase with no bound on the words it reads would be tried at every word of a message."""
    for code in ("", "es", "pt"):
        raw = yaml.safe_load((ROOT / "flows" / code / "triage.yaml").read_text(encoding="utf-8"))
        triage = Triage(TriageRules.model_validate(raw))
        for index in (triage._signs, triage._cues):
            phrases = [phrase for listed in index._by_anchor.values() for phrase in listed]
            assert index.reach(phrases) is not None
