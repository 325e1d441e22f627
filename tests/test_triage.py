"""Red-flag triage: the dev sets, focused behaviour, and robustness.

`pytest -s tests/test_triage.py` prints recall and false-alarm rate per dev set.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from messenger_bot.triage import Finding, Triage, TriageRules

ROOT = Path(__file__).parents[1]
DEV_SETS = [ROOT / "tests" / "eval" / "triage-dev.tsv", ROOT / "tests" / "eval" / "triage-more.tsv"]
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


@pytest.mark.parametrize("path", DEV_SETS, ids=lambda p: p.name)
def test_dev_set(triage: Triage, path: Path) -> None:
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
