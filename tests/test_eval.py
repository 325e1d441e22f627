"""The development sets in tests/eval/, scored the way the held-out set is judged.

Every `triage-*.tsv` and `faq-*.tsv` there is scored through messenger_bot.evaluation, the
module `messenger-bot eval` prints from, so this test and the command cannot disagree. Run
with `-s` to see the scores and every miss. Triage: every alert line alerts, at most 1 in 10
"no" lines do. Typed questions: at least 90% land on an accepted topic. The command itself is
driven as a subprocess, as a content editor runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from messenger_bot.evaluation import Score, evaluate
from messenger_bot.settings import load_settings
from messenger_bot.wiring import open_runtime
from tests.conftest import EVAL

#: The default language's sets and each language's (tests/eval/<code>/), but not the lines another
#: language's triage alone alerts on (triage-crosslanguage.tsv: tests/test_triage_languages.py holds
#: them to the issue's bound across languages) nor the mixed-language held-out sets, scored once
#: and reported in the README, never tuned against.
_APART = ("triage-crosslanguage", "triage-mixed-holdout")
TRIAGE_SETS = sorted(p for p in EVAL.glob("**/triage-*.tsv") if not p.name.startswith(_APART))
FAQ_SETS = sorted(EVAL.glob("**/faq-*.tsv"))


def test_the_dev_sets_are_in_the_checkout() -> None:
    names = {path.name for path in [*TRIAGE_SETS, *FAQ_SETS]}
    assert {"triage-dev.tsv", "triage-more.tsv", "faq-dev.tsv", "faq-more.tsv"} <= names


async def scored(path: Path, tmp_path: Path) -> Score:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    [score] = await evaluate([path], settings, open_runtime)
    print("\n" + "\n".join(score.report()))
    return score


@pytest.mark.parametrize("path", TRIAGE_SETS, ids=lambda p: str(p.relative_to(EVAL)))
async def test_triage_set(path: Path, tmp_path: Path) -> None:
    score = await scored(path, tmp_path)
    assert score.devset.kind == "triage", f"{path.name} is named triage-* but holds topic labels"
    assert score.recall.hits == score.recall.total, "\n".join(score.report())
    assert score.false_alarms.hits * 10 <= score.false_alarms.total, "\n".join(score.report())


@pytest.mark.parametrize("path", FAQ_SETS, ids=lambda p: str(p.relative_to(EVAL)))
async def test_faq_set(path: Path, tmp_path: Path) -> None:
    score = await scored(path, tmp_path)
    assert score.devset.kind == "topics", f"{path.name} is named faq-* but holds alert/no labels"
    assert score.accuracy.hits >= 0.9 * score.accuracy.total, "\n".join(score.report())


# -- the command ----------------------------------------------------------------------------


def run_eval(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "messenger_bot", "eval", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_prints_figures_and_every_miss_with_its_line(bot_env: dict[str, str], tmp_path: Path) -> None:
    triage = write(
        tmp_path / "triage.tsv",
        "# a comment, then a blank line",
        "",
        "alert\tmy face is drooping and I can't speak",
        "no\tmy lip twitches after coffee",
        "no\tmy arm suddenly went weak",
    )
    topics = write(
        tmp_path / "topics.tsv",
        "caffeine\tcan coffee cause it?",
        "caffeine,stress\tdoes too much coffee make my lip twitch",
        "potassium\tcan coffee cause it?",
    )
    done = run_eval(bot_env, str(triage), str(topics))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "triage recall: 1/1 = 100%" in out
    assert "false alarms: 1/2 = 50%" in out
    assert "line 5: false alarm: my arm suddenly went weak" in out
    assert "topic accuracy: 2/3 = 67%" in out
    assert "line 3: got caffeine, wanted potassium: can coffee cause it?" in out
    assert out.count("line ") == 2, "only the misses are listed"
    assert out.splitlines()[-1] == (
        "total: triage recall 1/1 = 100%, false alarms 1/2 = 50%, topic accuracy 2/3 = 67%"
    )


def test_each_line_is_a_new_user(bot_env: dict[str, str], tmp_path: Path) -> None:
    """"yes" right after "delete my data" would confirm the deletion (a command reply); as its
    own user's first message it is not understood."""
    topics = write(tmp_path / "topics.tsv", "about\tdelete my data", "about\tyes")
    done = run_eval(bot_env, str(topics))
    assert "line 1: got command, wanted about: delete my data" in done.stdout
    assert "line 2: got fallback, wanted about: yes" in done.stdout


@pytest.mark.parametrize(("lines", "says"), [
    (
        ["alert\tmy face droops", "caffeine\tcan coffee cause it?"],
        "bad.tsv:2: a topics line in a file that began as a triage set (line 1)",
    ),
    (["# only a comment"], "bad.tsv: no lines to score"),
    (["caffeine can coffee cause it?"], "bad.tsv:1: expected LABEL<TAB>message"),
    (["caffeine\t   "], "bad.tsv:1: expected LABEL<TAB>message"),
    (["Alert\tmy face droops"], "bad.tsv:1: 'Alert' is neither alert, no nor a topic id"),
    (["no-such-topic\twhat is this"], "bad.tsv:1: no topic 'no-such-topic' in the content"),
])
def test_a_bad_file_is_exit_2_naming_file_and_line(
    bot_env: dict[str, str], tmp_path: Path, lines: list[str], says: str
) -> None:
    good = write(tmp_path / "good.tsv", "caffeine\tcan coffee cause it?")
    done = run_eval(bot_env, str(good), str(write(tmp_path / "bad.tsv", *lines)))
    assert done.returncode == 2
    assert says in done.stderr
    assert "topic accuracy" not in done.stdout, "a bad file stops the run before any scoring"
