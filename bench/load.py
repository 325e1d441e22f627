"""Load: hundreds of simulated users on every channel against one real `serve`, while reminders go out.

    .venv/bin/python bench/load.py [--duration 60] [--users 200] [--think 0.5 3] [--reminders 3000]
    .venv/bin/python bench/load.py --soak 600      # steady load; memory after warm-up vs at the end

One `messenger-bot serve` process (SQLite in a temporary folder) runs Telegram by
webhook with a secret, WhatsApp with PUBLIC_BASE_URL (so the posts can be signed as
Twilio signs them), the web chat, and the reminder scheduler, with `--reminders` water
reminders seeded to fall due over the first fifth of the run, half on Telegram and half on
WhatsApp (an approved template, as they are outside the 24-hour window). The fake Telegram
Bot API and the fake Twilio REST API (tests/fakes) run in a second process, on loopback.
The send rates are the production ones (TELEGRAM_MPS 30, WHATSAPP_MPS 10), as serve runs;
`--uncapped` raises them so the fakes are the only limit.

Each simulated user is an asyncio task that holds conversations one after another: a
new identity for each (a chat id, a phone number or a browser key), a few to a dozen
messages (a greeting, taps, typed questions with typos, numbers on WhatsApp, commands,
now and then a red flag), with a think time between them, so no identity comes near
the flood limits. All web chat users share the loopback address, so the per-address web
chat limit (WEBCHAT_IP_RATE) is raised; the per-browser limit is not.

Printed: requests per second, p50/p95/p99 latency per channel and overall, the same for
requests sent while Telegram reminders were still going out next to those after the last
one arrived (a Telegram webhook answers once its reply is sent, so that is what a person
waits; bench/reply_latency.py measures the same with 600 due at once), errors
(non-2xx other than 429, or no answer; the target is 0) and 429s apart, reminders the
fakes received during the run, the server's CPU use and peak memory (VmHWM), and the
WARNING/ERROR lines of its log. Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import (
    ROOT,
    TELEGRAM_SECRET_HEADER,
    clean_env,
    cpu_seconds,
    percentile,
    proc_status_kib,
    twilio_signed,
    wait_healthy,
)

from tests.fakes.telegram_api import SENDING, FakeTelegram, tap_update, text_update
from tests.fakes.twilio_api import FakeTwilio

SECRET = "load-webhook-secret"
TWILIO_TOKEN = "load-auth-token"
TWILIO_ACCOUNT = "AC" + "0" * 32
TWILIO_FROM = "whatsapp:+14155238886"
TEMPLATE_SID = "HX" + "0" * 32
#: Identities: simulated users from these up; seeded reminder recipients apart from them.
TELEGRAM_USERS = 100_000_000
REMINDER_CHATS = 900_000_000
REMINDER_NUMBERS = "whatsapp:+1555"
#: WhatsApp users' country codes (the alert names each one's emergency number).
COUNTRIES = ["+44770", "+1415", "+6140", "+4915", "+9198", "+3361"]
CHANNELS = ("telegram", "whatsapp", "web")
DEFAULT_MIX = "telegram=40,whatsapp=35,web=25"
SPEC = json.dumps({"every_hours": 1, "start": "00:00", "end": "23:59"})

QUESTIONS = [
    "why is my lip twitching", "can coffee make my lip twitch?", "is it serious", "what can i do at home",
    "lip twitchng after too much cofee", "does stress cause it?", "how much water should i drink",
    "could it be low potasium", "my upper lip keeps jumping", "when should I see a doctor",
    "is it parkinsons", "which vitamins help", "remind me to drink water", "how do doctors diagnose it",
    "can my medication cause twitching", "is there a treatment", "how do I stop it", "it happens at work",
]
RED_FLAGS = [
    "my face is drooping on one side", "sudden numbness in my left arm and face",
    "i cant speak properly and my lip is twitching", "worst headache of my life, it came on suddenly",
    "my mum just fainted and her lip was twitching", "he is having a seizure",
]
TELEGRAM_COMMANDS = ["/menu", "/help", "/reminders", "/mydata", "/back", "/about", "/water", "/caffeine"]
WHATSAPP_COMMANDS = ["menu", "help", "back", "my data", "about"]


# -- the fake providers: their own process, asked for their records over stdin/stdout -------------


def run_fakes() -> None:
    """Child process: both fakes until stdin closes; a line "counts" prints what they received."""
    # A send cut off when serve stops is reported from serve's side (the outbox), not as a traceback here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    with FakeTelegram() as telegram, FakeTwilio() as twilio:
        print(json.dumps({"telegram": telegram.base_url, "token": telegram.token, "twilio": twilio.base_url}),
              flush=True)
        for line in sys.stdin:
            if line.strip() == "counts":
                print(json.dumps(fake_counts(telegram, twilio)), flush=True)


def fake_counts(telegram: Any, twilio: Any) -> dict[str, float]:
    """Reminders and replies the fakes took (2xx), by channel; failures they gave; when the
    last Telegram reminder arrived (epoch seconds, 0 for none)."""
    calls = list(telegram.calls)
    sent = [c for c in calls if c.method in SENDING and c.status == 200 and c.chat_id is not None]
    reminders = [c for c in sent if c.method == "sendMessage" and c.chat_id >= REMINDER_CHATS]
    messages = twilio.messages
    return {
        "telegram_reminders": len(reminders),
        "telegram_last_reminder_at": max((c.at for c in reminders), default=0.0),
        "telegram_replies": sum(c.chat_id < REMINDER_CHATS for c in sent),
        "telegram_refused": sum(c.status != 200 for c in calls),
        "whatsapp_reminders": sum(m.status == 201 and m.form.get("To", "").startswith(REMINDER_NUMBERS)
                                  for m in messages),
        "whatsapp_rest_other": sum(not m.form.get("To", "").startswith(REMINDER_NUMBERS) for m in messages),
        "whatsapp_refused": sum(m.status != 201 for m in messages),
    }


class Fakes:
    """The fakes' process, seen from here."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--fakes"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.urls: dict[str, str] = json.loads(self.proc.stdout.readline())

    def counts(self) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("counts\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the server -------------------------------------------------------------------------------------


def seed_reminders(database: Path, count: int, first_due: float, last_due: float) -> None:
    """`count` water reminders falling due evenly from `first_due` to `last_due`, half per channel."""
    from messenger_bot.storage import storage_for

    async def migrate() -> None:
        store = storage_for(f"sqlite:///{database}")
        await store.open()  # creates the file and runs the migrations, as serve would
        await store.close()

    asyncio.run(migrate())
    now = time.time()
    step = (last_due - first_due) / max(1, count - 1)
    rows = []
    for i in range(count):
        telegram = i % 2 == 1
        channel = "telegram" if telegram else "whatsapp"
        user = str(REMINDER_CHATS + i) if telegram else f"{REMINDER_NUMBERS}{i:07d}"
        rows.append((channel, user, "water", SPEC, "Etc/UTC", 1, first_due + i * step, now, now))
    with sqlite3.connect(database) as con:
        con.executemany(
            "INSERT INTO reminder_subscriptions (channel, user_key, kind, spec, timezone, active,"
            " next_due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def start_serve(
    folder: Path, port: int, fakes: Fakes, uncapped: bool = False
) -> tuple[subprocess.Popen[bytes], Path]:
    """`python -m messenger_bot serve`, in the temporary folder (no .env is read), logging to a file."""
    base = f"http://127.0.0.1:{port}"
    rates = {"telegram_mps": "100000", "whatsapp_mps": "400"} if uncapped else {}
    env = clean_env(
        database_url=f"sqlite:///{folder / 'load.sqlite3'}", port=str(port), host="127.0.0.1",
        log_level="INFO",
        telegram_bot_token=fakes.urls["token"], telegram_base_url=fakes.urls["telegram"],
        telegram_webhook_url="https://load.example.org/telegram/webhook", telegram_webhook_secret=SECRET,
        twilio_account_sid=TWILIO_ACCOUNT, twilio_auth_token=TWILIO_TOKEN,
        twilio_whatsapp_from=TWILIO_FROM, twilio_api_base_url=fakes.urls["twilio"], public_base_url=base,
        whatsapp_template_water=TEMPLATE_SID, webchat_ip_rate="1000000000", **rates,
    )
    log_path = folder / "serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "messenger_bot", "serve"], env=env, cwd=folder,
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    return proc, log_path


def outbox_states(database: Path) -> dict[str, int]:
    """Reminder outbox rows by status once serve has stopped ("pending": in flight when it stopped)."""
    with sqlite3.connect(database) as con:
        return dict(con.execute("SELECT status, COUNT(*) FROM reminder_outbox GROUP BY status").fetchall())


def stop_serve(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# -- the simulated users ----------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: (epoch seconds at the start, latency) per channel, to split by whether reminders were going out.
    timed: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    exceptions: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    red_flags: Counter[str] = field(default_factory=Counter)
    web_alerts: int = 0

    def record(self, channel: str, seconds: float, status: int, body: str, at: float = 0.0) -> None:
        self.latencies[channel].append(seconds)
        self.timed[channel].append((at, seconds))
        self.statuses[channel, status] += 1
        if not (200 <= status < 300 or status == 429) and len(self.samples) < 10:
            self.samples.append(f"{channel} HTTP {status}: {body[:160]}")

    def failed(self, channel: str, error: Exception) -> None:
        self.exceptions[channel, type(error).__name__] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{channel} {type(error).__name__}: {str(error)[:160]}")

    def count(self, channel: str | None = None, errors: bool = False, throttled: bool = False) -> int:
        total = 0
        for (name, status), n in self.statuses.items():
            if channel not in (None, name):
                continue
            bad = not 200 <= status < 300 and status != 429
            if (errors and bad) or (throttled and status == 429) or (not errors and not throttled):
                total += n
        if errors:
            total += sum(n for (name, _), n in self.exceptions.items() if channel in (None, name))
        return total


class Users:
    """The simulated people; each task holds conversations one after another until the deadline."""

    def __init__(self, base: str, args: argparse.Namespace, seed: int) -> None:
        from messenger_bot.channels.telegram.render import CODEC
        from messenger_bot.wiring import load_content

        self.base = base
        #: One TLS context for every client (never used on loopback, but httpx makes one per client).
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.signed_url = f"{base}/whatsapp/webhook"
        self.args = args
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.identities = itertools.count(1)
        self.update_ids = itertools.count(1)
        content = load_content(ROOT / "flows")
        self.payloads = sorted({b.payload for buttons in content.buttons.values() for b in buttons})
        self.callback_data = [CODEC.encode(p) for p in self.payloads]
        self.deadline = 0.0

    async def run(self, users: int, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        await asyncio.gather(*(self.person() for _ in range(users)))

    async def person(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.think[1]))  # people arrive over a few seconds
        if time.monotonic() >= self.deadline:
            return
        conversations = {"telegram": self.telegram, "whatsapp": self.whatsapp, "web": self.web}
        # A client (a connection) per person: one shared pool of hundreds of connections costs
        # httpcore more CPU per request than the server spends answering it.
        async with httpx.AsyncClient(base_url=self.base, verify=self.tls, timeout=30) as client:
            while time.monotonic() < self.deadline:
                channel = self.rng.choices(CHANNELS, [self.args.mix.get(c, 0) for c in CHANNELS])[0]
                await conversations[channel](client, self.rng.randint(3, 12))

    async def think(self) -> bool:
        """Wait as a person reading the answer would; False once the run is over."""
        pause = self.rng.uniform(*self.args.think)
        await asyncio.sleep(max(0.0, min(pause, self.deadline - time.monotonic())))
        return time.monotonic() < self.deadline

    def typed(self, channel: str) -> str:
        if self.rng.random() < self.args.red_flags:
            self.stats.red_flags[channel] += 1
            return self.rng.choice(RED_FLAGS)
        return self.rng.choice(QUESTIONS)

    async def post(
        self, client: httpx.AsyncClient, channel: str, path: str, content: bytes, headers: dict[str, str]
    ) -> httpx.Response | None:
        started, at = time.perf_counter(), time.time()
        try:
            response = await client.post(path, content=content, headers=headers)
        except httpx.HTTPError as error:
            self.stats.failed(channel, error)
            return None
        self.stats.record(channel, time.perf_counter() - started, response.status_code, response.text, at)
        return response

    # -- one conversation per channel ---------------------------------------------------------------

    async def telegram(self, client: httpx.AsyncClient, steps: int) -> None:
        chat = TELEGRAM_USERS + next(self.identities)
        headers = {"content-type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}
        for step in range(steps):
            update_id, roll = next(self.update_ids), self.rng.random()
            if step == 0:
                update = text_update(update_id, chat, "/start", message_id=step + 1)
            elif roll < 0.45:
                data = self.rng.choice(self.callback_data)
                update = tap_update(update_id, chat, data, message_id=1000 + step)
            elif roll < 0.85:
                update = text_update(update_id, chat, self.typed("telegram"), message_id=step + 1)
            else:
                update = text_update(update_id, chat, self.rng.choice(TELEGRAM_COMMANDS), message_id=step + 1)
            await self.post(client, "telegram", "/telegram/webhook", json.dumps(update).encode(), headers)
            if not await self.think():
                return

    async def whatsapp(self, client: httpx.AsyncClient, steps: int) -> None:
        number = f"{self.rng.choice(COUNTRIES)}{next(self.identities):07d}"
        for step in range(steps):
            roll = self.rng.random()
            if step == 0:
                body = self.rng.choice(["hi", "menu", "hello"])
            elif roll < 0.4:
                body = str(self.rng.randint(1, 4))  # an option of the numbered menu just shown
            elif roll < 0.85:
                body = self.typed("whatsapp")
            else:
                body = self.rng.choice(WHATSAPP_COMMANDS)
            fields = {
                "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": TWILIO_ACCOUNT,
                "From": f"whatsapp:{number}", "To": TWILIO_FROM, "Body": body, "NumMedia": "0",
                "ProfileName": "Load", "WaId": number[1:],
            }
            content, headers = twilio_signed(TWILIO_TOKEN, self.signed_url, fields)
            await self.post(client, "whatsapp", "/whatsapp/webhook", content, headers)
            if not await self.think():
                return

    async def web(self, client: httpx.AsyncClient, steps: int) -> None:
        user = f"load-{next(self.identities):08d}-{secrets.token_hex(4)}"
        buttons: list[str] = []
        for step in range(steps):
            message: dict[str, str]
            roll = self.rng.random()
            if step == 0:
                message = {"text": "hi"}
            elif roll < 0.5 and buttons:
                message = {"button": self.rng.choice(buttons)}  # a button the last answer showed
            else:
                message = {"text": self.typed("web")}
            body = json.dumps({"user": user, **message}).encode()
            response = await self.post(client, "web", "/api/chat", body, {"content-type": "application/json"})
            if response is not None and response.status_code == 200:
                replies = response.json().get("replies", [])
                self.stats.web_alerts += any(r.get("kind") == "alert" for r in replies)
                buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
            if not await self.think():
                return


# -- measuring the server ---------------------------------------------------------------------------


@dataclass
class Memory:
    """VmRSS of the server, sampled every second while the load runs."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)

    async def sample(self, started: float, until: float) -> None:
        while time.monotonic() < until:
            rss = proc_status_kib(self.pid, "VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic() - started, rss))
            await asyncio.sleep(1.0)

    def around(self, at: float, width: float = 5.0) -> float | None:
        """The median RSS (KiB) of the samples in [at - width, at]: one figure, not one noisy sample."""
        values = sorted(kib for t, kib in self.samples if at - width <= t <= at)
        return values[len(values) // 2] if values else None


async def progress(users: Users, memory: Memory, started: float, until: float, every: float) -> None:
    while time.monotonic() + every < until:
        await asyncio.sleep(every)
        elapsed = time.monotonic() - started
        done = users.stats.count()
        rss = memory.samples[-1][1] / 1024 if memory.samples else float("nan")
        errors, throttled = users.stats.count(errors=True), users.stats.count(throttled=True)
        print(f"  {elapsed:5.0f} s: {done} requests ({done / elapsed:.0f}/s), errors {errors},"
              f" 429 {throttled}, serve RSS {rss:.0f} MiB", flush=True)


async def drive(base: str, pid: int, args: argparse.Namespace) -> tuple[Users, Memory, float]:
    users = Users(base, args, args.seed)
    memory = Memory(pid)
    started = time.monotonic()
    until = started + args.duration
    every = 60.0 if args.soak else 15.0
    await asyncio.gather(
        users.run(args.users, args.duration), memory.sample(started, until + 1),
        progress(users, memory, started, until, every),
    )
    return users, memory, time.monotonic() - started


# -- the report -------------------------------------------------------------------------------------


def report(
    users: Users, memory: Memory, elapsed: float, figures: dict[str, Any], args: argparse.Namespace
) -> None:
    stats = users.stats
    think = f"{args.think[0]:g}-{args.think[1]:g} s"
    print(f"\n{args.users} simulated users, think time {think}, {elapsed:.0f} s; one serve process"
          f" (SQLite, scheduler on); fakes on loopback; {figures['cpus']} CPUs")
    heads = ["requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    cells = " ".join(f"{h:>7}" for h in heads[1:])
    print(f"{'channel':9} {heads[0]:>8} {cells} {'errors':>6} {'429':>5}")
    everything: list[float] = []
    for channel in (*CHANNELS, None):
        values = sorted(stats.latencies[channel]) if channel else sorted(everything)
        if channel:
            everything.extend(values)
        name = channel or "overall"
        done = stats.count(channel)
        cells = [percentile(values, q) * 1000 for q in (50, 95, 99, 100)]
        print(f"{name:9} {done:8} {done / elapsed:7.1f} " + " ".join(f"{c:7.1f}" for c in cells)
              + f" {stats.count(channel, errors=True):6} {stats.count(channel, throttled=True):5}")
    report_phases(stats, figures["fakes"]["telegram_last_reminder_at"])
    errors = stats.count(errors=True)
    print(f"errors (non-2xx other than 429, or no answer): {errors} (target 0)")
    for (channel, name), n in sorted(stats.exceptions.items()):
        print(f"  {channel}: {n} x {name}")
    for sample in stats.samples:
        print(f"  e.g. {sample}")
    red = sum(stats.red_flags.values())
    print(f"red flags sent: {red} ({', '.join(f'{k} {v}' for k, v in sorted(stats.red_flags.items()))});"
          f" web chat answers with an alert: {stats.web_alerts} of {stats.red_flags['web']} web red flags")
    fakes = figures["fakes"]
    sent = fakes["telegram_reminders"] + fakes["whatsapp_reminders"]
    print(f"reminders sent during the run (fakes' records): {sent} of {args.reminders} seeded to fall due"
          f" (Telegram {fakes['telegram_reminders']}, WhatsApp {fakes['whatsapp_reminders']});"
          f" serve's own log: sent {figures['log_sent']}")
    states = ", ".join(f"{k} {v}" for k, v in sorted(figures["outbox"].items())) or "none"
    print(f"reminder outbox after serve stopped (SIGTERM): {states}")
    print(f"replies the fake Bot API took: {fakes['telegram_replies']}; refused by the fakes:"
          f" Telegram {fakes['telegram_refused']}, Twilio {fakes['whatsapp_refused']}")
    cpu = figures["cpu"]
    if cpu is not None:
        print(f"serve CPU: {cpu:.0f} s in {elapsed:.0f} s = {100 * cpu / elapsed:.0f}% of one core")
    own, fakes_cpu = figures["self_cpu"], figures["fakes_cpu"]
    print(f"CPU used by the load generator: {own:.0f} s; by the fakes: {fakes_cpu:.0f} s")
    idle, peak = _mib(figures["rss_idle"]), _mib(figures["hwm"])
    print(f"serve memory: RSS before the load {idle}, peak (VmHWM) {peak}")
    if args.soak:
        warm, end = memory.around(args.warmup), memory.around(elapsed)
        print(f"soak: RSS after warm-up ({args.warmup:g} s) {_mib(warm)}, at the end {_mib(end)}", end="")
        if warm and end:
            change = (end - warm) / warm
            verdict = "within" if abs(change) <= 0.10 else "NOT within"
            print(f": {change:+.1%}, {verdict} 10% of the after-warm-up figure")
        else:
            print()
        step = max(1, len(memory.samples) // 10)
        points = memory.samples[::step]
        print("  RSS (MiB) over time: " + ", ".join(f"{t:.0f}s {kib / 1024:.0f}" for t, kib in points))
    levels = figures["log_levels"]
    print(f"serve log: {levels.get('WARNING', 0)} WARNING, {levels.get('ERROR', 0)} ERROR lines"
          f" (exit code {figures['exit_code']})")
    for line in figures["log_problems"]:
        print(f"  {line}")
    print(f"reproduce: {figures['command']}")


def report_phases(stats: Stats, last_reminder_at: float) -> None:
    """Latency of requests sent while Telegram reminders were going out, next to those after."""
    if not last_reminder_at:
        print("no Telegram reminder arrived: no latency with reminders due to show")
        return
    print("latency while Telegram reminders were going out | after the last one arrived:")
    for channel in CHANNELS:
        during = sorted(s for at, s in stats.timed[channel] if at <= last_reminder_at)
        after = sorted(s for at, s in stats.timed[channel] if at > last_reminder_at)
        cells = [f"p{q} {percentile(values, q) * 1000:6.1f}" for values in (during, after) for q in (50, 99)]
        ratio = percentile(during, 99) / percentile(after, 99) if during and after else float("nan")
        print(f"  {channel:9} {len(during):6} requests {cells[0]} {cells[1]} ms | {len(after):6} requests"
              f" {cells[2]} {cells[3]} ms; p99 ratio {ratio:.2f}")


def read_log(path: Path) -> tuple[Counter[str], list[str], int]:
    """Lines by level, the commonest WARNING/ERROR events, and the reminders the log says were sent."""
    levels: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    sent = 0
    for raw in path.read_text(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            problems[raw[:200]] += 1  # not one of our JSON lines (a traceback from outside logging)
            continue
        levels[line.get("level", "?")] += 1
        event = str(line.get("event", ""))
        if event.startswith("reminders: sent "):
            sent += int(event.split()[2].rstrip(","))
        if line.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            shape = re.sub(r"\d+", "N", event[:160])  # one line per kind of event, not per time or id
            problems[f"{line['level']} {line.get('logger')}: {shape}"] += 1
    shown = [f"{n} x {text}" for text, n in problems.most_common(8)]
    return levels, shown, sent


def _mib(kib: float | None) -> str:
    return f"{kib / 1024:.0f} MiB" if kib else "unknown"


# -- running it -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--users", type=int, default=200, help="simulated users at once (default 200)")
    parser.add_argument("--think", type=float, nargs=2, default=[0.5, 3.0], metavar=("MIN", "MAX"),
                        help="seconds a user waits between messages, uniform (default 0.5 3)")
    parser.add_argument("--reminders", type=int, default=300,
                        help="reminders falling due over the first fifth of the run (default 300)")
    parser.add_argument("--uncapped", action="store_true",
                        help="raise TELEGRAM_MPS and WHATSAPP_MPS so only the fakes limit the sends")
    parser.add_argument("--red-flags", type=float, default=0.01,
                        help="share of typed messages that are red flags (default 0.01)")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="run this long and compare memory at the end with memory after warm-up")
    parser.add_argument("--warmup", type=float,
                        help="soak warm-up in seconds (default: a quarter of the soak, at most 60)")
    parser.add_argument("--mix", default=DEFAULT_MIX, type=_mix,
                        help=f"share of conversations per channel (default {DEFAULT_MIX})")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--serve-log", type=Path, help="keep serve's log (JSON lines) in this file")
    parser.add_argument("--fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.soak:
        args.duration = args.soak
        args.warmup = args.warmup if args.warmup is not None else min(60.0, args.soak / 4)
    if args.users < 1 or args.duration <= 0 or not 0 <= args.think[0] <= args.think[1]:
        parser.error("--users must be >= 1, --duration > 0, and --think MIN MAX with 0 <= MIN <= MAX")
    return args


def _mix(text: str) -> dict[str, float]:
    try:
        mix = {name.strip(): float(share) for name, share in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError("write it as telegram=40,whatsapp=35,web=25") from None
    if set(mix) - set(CHANNELS) or sum(mix.values()) <= 0:
        raise argparse.ArgumentTypeError(f"channels are {', '.join(CHANNELS)}, with shares > 0")
    return mix


def command_line(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python bench/load.py"]
    if args.soak:
        parts.append(f"--soak {args.soak:g}")
    else:
        parts.append(f"--duration {args.duration:g}")
    parts.append(f"--users {args.users} --think {args.think[0]:g} {args.think[1]:g}"
                 f" --reminders {args.reminders} --red-flags {args.red_flags:g} --seed {args.seed}")
    if args.uncapped:
        parts.append("--uncapped")
    mix = ",".join(f"{name}={share:g}" for name, share in args.mix.items())
    if mix != DEFAULT_MIX:
        parts.append(f"--mix {mix}")
    return " ".join(parts)


def main() -> int:
    args = parse_args()
    if args.fakes:
        run_fakes()
        return 0
    from tests.support.server import free_port

    print(f"$ {command_line(args)}", flush=True)
    fakes = Fakes()
    try:
        with tempfile.TemporaryDirectory(prefix="messenger-bot-load-") as tmp:
            folder = Path(tmp)
            now = time.time()
            seed_reminders(folder / "load.sqlite3", args.reminders, now - 5, now + args.duration * 0.2)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc, log_path = start_serve(folder, port, fakes, args.uncapped)
            try:
                wait_healthy(base, proc)
                figures: dict[str, Any] = {"rss_idle": proc_status_kib(proc.pid, "VmRSS"), "cpus": _cpus()}
                cpu_before = cpu_seconds(proc.pid)
                print(f"serve is up (pid {proc.pid}); {args.users} users for {args.duration:g} s", flush=True)
                users, memory, elapsed = asyncio.run(drive(base, proc.pid, args))
                cpu_after = cpu_seconds(proc.pid)
                known = cpu_before is not None and cpu_after is not None
                figures["cpu"] = cpu_after - cpu_before if known else None  # type: ignore[operator]
                figures["hwm"] = proc_status_kib(proc.pid, "VmHWM")
                figures["fakes"] = fakes.counts()
                figures["fakes_cpu"] = cpu_seconds(fakes.proc.pid)
                figures["self_cpu"] = cpu_seconds(os.getpid())
            finally:
                figures_exit = stop_serve(proc)
            figures["exit_code"] = figures_exit
            figures["outbox"] = outbox_states(folder / "load.sqlite3")
            if args.serve_log:
                shutil.copyfile(log_path, args.serve_log)
            figures["log_levels"], figures["log_problems"], figures["log_sent"] = read_log(log_path)
            figures["command"] = command_line(args)
            report(users, memory, elapsed, figures, args)
    finally:
        fakes.stop()
    return 0


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
