"""The words carriers and Twilio treat as opting out, back in, or asking for help.

Twilio's own opt-out handling answers these on a long code or toll-free number and, after
STOP, refuses every message to that number (error 21610) until START. The bot follows
it: STOP is the user's own pause and gets no further word from the bot; START lifts it;
HELP gets the bot's short help and how to stop. A Messaging Service with Advanced Opt-Out
names the kind in `OptOutType` (also for keywords configured there); else the message
must be one of Twilio's default keywords, alone. YES (a default START keyword too) is
left to the bot's own questions ("delete my data?"), unless `OptOutType` says START.
"""

from __future__ import annotations

from typing import Literal

from messenger_bot.channels.twilio.form import FormFields

Keyword = Literal["stop", "start", "help"]

#: Twilio's default keywords (case and surrounding space do not matter).
DEFAULTS: dict[str, Keyword] = {
    **dict.fromkeys(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"], "stop"),
    **dict.fromkeys(["START", "UNSTOP"], "start"),
    **dict.fromkeys(["HELP", "INFO"], "help"),
}
_OPT_OUT_TYPES: dict[str, Keyword] = {"STOP": "stop", "START": "start", "HELP": "help"}


def keyword(form: FormFields) -> Keyword | None:
    """What the message means to the carrier, or None for an ordinary message."""
    named = _OPT_OUT_TYPES.get((form.get("OptOutType") or "").strip().upper())
    return named or DEFAULTS.get(form.get("Body", "").strip().upper())
