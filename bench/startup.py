"""Start-up: `messenger-bot serve` to its first /healthz 200, web chat alone and with every channel.

    .venv/bin/python bench/startup.py [--runs 5]

Each run starts a fresh `python -m messenger_bot serve` (SQLite in a new temporary folder,
so the migrations run too) and asks /healthz every 10 ms from the moment the process is
started. "all channels" adds Telegram by webhook (getMe, setMyCommands and setWebhook go
to the fake Bot API) and WhatsApp (to the fake Twilio API), both in a process of their
own, started once before the runs. Printed: min / median / max seconds of each, targets
< 1 s (web chat) and < 1.5 s (all channels), and a bare Starlette app on uvicorn as the floor;
then each median as a multiple of the floor's, and the CPU seconds the process had used when it
first answered (from /proc: on a shared, busy machine the steadier figure of the two).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import clean_env
from load import Fakes, stop_serve

from tests.support.server import free_port

BARE = (
    "import sys, uvicorn\n"
    "from starlette.applications import Starlette\n"
    "from starlette.responses import JSONResponse\n"
    "from starlette.routing import Route\n"
    "async def healthz(request): return JSONResponse({'status': 'ok'})\n"
    "uvicorn.run(Starlette(routes=[Route('/healthz', healthz)]), host='127.0.0.1', port=int(sys.argv[1]),"
    " log_config=None, access_log=False)\n"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def until_healthy(command: list[str], env: dict[str, str], port: int, cwd: Path) -> tuple[float, float]:
    """Seconds from starting the process to its first /healthz 200, and the CPU seconds it had
    used by then; the process is stopped after."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=1) as client:
            while proc.poll() is None:
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        return time.perf_counter() - started, cpu_seconds(proc.pid)
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise SystemExit(f"{command[-1]} exited with {proc.returncode} before it was healthy")
    finally:
        stop_serve(proc)


def settings_for(kind: str, folder: Path, port: int, fakes: Fakes) -> dict[str, str]:
    base = {"database_url": f"sqlite:///{folder / 'start.sqlite3'}", "port": str(port), "host": "127.0.0.1",
            "log_level": "WARNING"}
    if kind == "all channels":
        base.update(
            telegram_bot_token=fakes.urls["token"], telegram_base_url=fakes.urls["telegram"],
            telegram_webhook_url="https://start.example.org/telegram/webhook",
            twilio_account_sid="AC" + "0" * 32, twilio_auth_token="start-token",
            twilio_whatsapp_from="whatsapp:+14155238886", twilio_api_base_url=fakes.urls["twilio"],
            public_base_url="https://start.example.org",
        )
    return clean_env(**base)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"$ .venv/bin/python bench/startup.py --runs {args.runs}", flush=True)
    fakes = Fakes()
    times: dict[str, list[float]] = {"bare Starlette": [], "web chat alone": [], "all channels": []}
    cpu: dict[str, list[float]] = {kind: [] for kind in times}
    try:
        for _ in range(args.runs):
            for kind in times:
                with tempfile.TemporaryDirectory(prefix="messenger-bot-start-") as tmp:
                    port = free_port()
                    if kind == "bare Starlette":
                        command = [sys.executable, "-c", BARE, str(port)]
                    else:
                        command = [sys.executable, "-m", "messenger_bot", "serve"]
                    env = settings_for(kind, Path(tmp), port, fakes)
                    wall, used = until_healthy(command, env, port, Path(tmp))
                    times[kind].append(wall)
                    cpu[kind].append(used)
    finally:
        fakes.stop()
    targets = {"web chat alone": " (target < 1 s)", "all channels": " (target < 1.5 s)"}
    for kind, values in times.items():
        print(f"{kind:15} min {min(values):.2f} s, median {statistics.median(values):.2f} s,"
              f" max {max(values):.2f} s{targets.get(kind, '')}")
    floor, floor_cpu = statistics.median(times["bare Starlette"]), statistics.median(cpu["bare Starlette"])
    for kind in times:
        wall, used = statistics.median(times[kind]), statistics.median(cpu[kind])
        print(f"{kind:15} median {wall / floor:5.1f} x bare Starlette; CPU to first 200: median {used:.2f} s"
              f" ({used / floor_cpu:.1f} x bare)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
