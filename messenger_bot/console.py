"""`messenger-bot chat`: a conversation on stdin/stdout against the real engine.

Interactive mode shows buttons as numbered choices; `--json` speaks the README's
line protocol (one line in, one flushed line out), which tests and scripts drive. The person
at the terminal is where the machine is: its time zone gives the country whose emergency
number an alert names (`--country` says it outright).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any, TextIO

from tzlocal import get_localzone_name

from messenger_bot.conversation import Incoming, Reply
from messenger_bot.emergency import country_for_zone
from messenger_bot.engine import Engine

PROMPT = "> "
#: The channels `chat --channel` stands in for that show menus as numbered text, as those
#: channels state in their own `Incoming` (the terminal itself numbers every menu).
SHOWN_NUMBERED = frozenset({"console", "whatsapp", "sms"})
#: *bold* as WhatsApp writes it; a terminal shows the words without the stars.
_BOLD = re.compile(r"\*(\S(?:[^*\n]*\S)?)\*")

_E164 = re.compile(r"\+[1-9]\d{6,14}")


def machine_country() -> str | None:
    """The country of this machine's time zone (TZ, /etc/localtime, …), or None (UTC, unknown)."""
    try:
        return country_for_zone(get_localzone_name() or "")
    except (LookupError, ValueError, OSError):  # a broken or missing zone setting: no country
        return None


def parse_line(line: str, channel: str, user: str, country: str | None = None) -> Incoming | dict[str, Any]:
    """A `--json` input line as an Incoming, or an error object to print instead."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return Incoming(channel, user, text=line.rstrip("\r\n"), country=country,
                        numbered=channel in SHOWN_NUMBERED, phone=phone_of(user))
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as error:
        return {"error": f"not valid JSON: {error.msg} at column {error.colno}"}
    except RecursionError:
        return {"error": "not valid JSON: nested too deeply"}
    except ValueError:  # an integer of more than 4,300 digits (Python's int-string limit)
        return {"error": "not valid JSON: a number is too long"}
    if not isinstance(data, dict):
        return {"error": 'expected an object like {"text": "..."} or {"button": "..."}'}
    text, button = data.get("text"), data.get("button")
    if button is not None and isinstance(button, str):
        return Incoming(channel, user, button=button, country=country, numbered=channel in SHOWN_NUMBERED,
                        phone=phone_of(user))
    if text is not None and isinstance(text, str):
        return Incoming(channel, user, text=text, country=country, numbered=channel in SHOWN_NUMBERED,
                        phone=phone_of(user))
    return {"error": 'expected "text" or "button" with a string value'}


def phone_of(user: str) -> str | None:
    """A phone channel's adapter passes the number on ("whatsapp:+49…", "+44…"); so does the console
    standing in for one, so the bot can guess the country and time zone as it would there."""
    number = user.removeprefix("whatsapp:")
    return number if _E164.fullmatch(number) else None


def render_plain(replies: list[Reply]) -> str:
    """Replies as a terminal shows them: text, then numbered buttons of the last reply."""
    out = []
    for reply in replies:
        marker = "[!] EMERGENCY: " if reply.kind == "alert" else ""
        out.append(marker + _BOLD.sub(r"\1", reply.text))
        out.extend(f"  {f.label}: {f.url}" for f in reply.files)  # a terminal shows a file's link
    last = next((r for r in reversed(replies) if r.buttons), None)
    if last:
        out.append("\n".join(f"  {i}. {b.label}" for i, b in enumerate(last.buttons, 1)))
        out.append("(type a number, or a question)")
    return "\n\n".join(out)


def run_json(
    runner: asyncio.Runner, engine: Engine, channel: str, user: str, stdin: TextIO, stdout: TextIO,
    country: str | None = None,
) -> None:
    """Blocking reads between turns are fine: nothing else runs on this loop."""
    for line in stdin:
        parsed = parse_line(line, channel, user, country)
        if isinstance(parsed, dict):
            out: dict[str, Any] = parsed
        else:
            out = {"replies": [r.as_json() for r in runner.run(engine.turn(parsed))]}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()


async def run_interactive(engine: Engine, channel: str, user: str, country: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    numbered = channel in SHOWN_NUMBERED
    first = Incoming(channel, user, text="menu", country=country, numbered=numbered, phone=phone_of(user))
    print(render_plain(await engine.turn(first)), flush=True)
    while True:
        print(PROMPT, end="", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            print()
            return
        if line.strip().lower() in {"quit", "exit"}:
            return
        incoming = Incoming(channel, user, text=line.rstrip("\n"), country=country, numbered=numbered)
        print(render_plain(await engine.turn(incoming)), flush=True)
