"""Red-flag triage: does a message describe a stroke or another emergency happening now?

The vocabulary lives in flows/triage.yaml (its comments explain the phrase syntax), so an
editor can add a phrasing or a cue without touching code. One idea per module:

- `schema`: the file's validated shape; every phrase is compiled at load time, so a broken
  one stops the app with a message naming the sign or cue list;
- `phrases`: the phrase language ("@face ~3 droop*") compiled to regexes over words, with
  bounded gaps only, so matching is linear in the length of a message;
- `speller`: one domain spelling corrector built from the phrases' own words;
- `scopes`: clauses, sentences and where phrases match;
- `matcher`: the decision per sign mention (negation, past, hypothetical, idioms, general
  questions, ordinary explanations), over-triaging whenever no cue says otherwise; `check`
  gives the finding, `read` also where each mention stands or was dismissed, so the languages'
  readings of one message can be combined (messenger_bot/languages.py).
"""

from messenger_bot.triage.matcher import Finding, Reading, Triage
from messenger_bot.triage.phrases import CUE_MARK, Phrase
from messenger_bot.triage.schema import TriageRules

__all__ = ["CUE_MARK", "Finding", "Phrase", "Reading", "Triage", "TriageRules"]
