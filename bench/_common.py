"""Small pieces the benchmarks share: a clean environment, health waits, signed requests, /proc figures.

Benchmarks run the server as a child process with settings in its environment; these
helpers keep the caller's own TELEGRAM_/TWILIO_/… variables (or a stray .env) out of it,
build requests the way the providers sign them, and read what a process costs from /proc.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Settings a benchmark sets itself; inherited values would change what is measured.
OWN_PREFIXES = ("TELEGRAM_", "TWILIO_", "DATABASE_", "WHATSAPP_", "WEBCHAT_", "PUBLIC_BASE_URL", "LOG_LEVEL")
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without the bot's settings, plus `settings` (names upper-cased)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update({name.upper(): value for name, value in settings.items()})
    return env


def wait_healthy(base: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    """Until GET /healthz answers 200; SystemExit when the server exits or never gets there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before it was healthy")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def twilio_signed(auth_token: str, url: str, fields: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """A form body and its headers, signed as Twilio signs a webhook to `url` (the public URL)."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(auth_token).compute_signature(url, dict(fields))
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    return urlencode(fields).encode(), headers


def proc_status_kib(pid: int, field: str) -> int | None:
    """A figure of /proc/<pid>/status in KiB (VmRSS: resident now, VmHWM: the peak); None without /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, nearest rank; NaN for no values."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def raw_post(path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """A whole HTTP/1.1 POST, built before the clock starts so the client costs next to nothing."""
    lines = [f"POST {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def raw_load(
    port: int, requests: Sequence[bytes], seconds: float, connections: int
) -> tuple[float, int, int]:
    """Requests answered per second over at most `seconds` (or until `requests` run out), on
    keep-alive connections from plain sockets: an httpx client caps a bare endpoint far below
    what the server can do, and then the ratio measures the client. Returns (rate, 200s, others)."""
    queue = iter(requests)
    ok = other = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal ok, other
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for raw in queue:
                if time.perf_counter() > deadline:
                    return
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    other += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return (ok + other) / (time.perf_counter() - started), ok, other
