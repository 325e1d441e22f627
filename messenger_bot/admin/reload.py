"""Content changes without a restart: SIGHUP (or `messenger-bot reload`) swaps in flows/.

The new content is loaded and validated off the event loop; only a complete, valid
`Content` is swapped in, by replacing the runtime's engine in one assignment, so a turn
already running finishes on the old content and every new turn starts on the new one.
Broken content is refused with check-content's lines in the log, and the old content
keeps serving. `serve` writes its pid to PID_DIR/serve-PORT.pid so `reload` can find it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from messenger_bot.content import ContentError
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings

log = logging.getLogger("messenger_bot.admin")


def pid_file(settings: Settings) -> Path:
    return settings.pid_dir / f"serve-{settings.port}.pid"


def write_pid(settings: Settings) -> Path | None:
    path = pid_file(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    except OSError as error:  # a read-only disk must not stop the bot; `kill -HUP` still works
        log.warning("could not write the pid file %s: %s", path, error)
        return None
    return path


def remove_pid(path: Path | None) -> None:
    if path is not None and path.exists() and path.read_text(encoding="utf-8").strip() == str(os.getpid()):
        path.unlink()


async def reload_content(runtime: Runtime) -> bool:
    """Swap in the content on disk if it is valid; otherwise log why and keep the old."""
    directory = runtime.settings.content_dir
    try:
        content = await asyncio.to_thread(runtime.load)
    except ContentError as error:
        for line in error.problems:
            log.error("reload refused: %s", line)
        log.error("reload refused: %d problem(s) in %s; still serving the previous content",
                  len(error.problems), directory)
        return False
    engine = runtime.engine_for(content)
    engine.observers = runtime.engine.observers
    runtime.content, runtime.engine = content, engine
    log.info("content reloaded from %s: %d nodes", directory, len(content.nodes))
    return True


def on_sighup(runtime: Runtime) -> None:
    """Install the handler in the running loop: each SIGHUP reloads once, in order."""
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()

    async def reload_once() -> None:
        async with lock:
            await reload_content(runtime)

    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reload_once()))
    except (ValueError, RuntimeError, NotImplementedError) as error:  # not the main thread, or Windows
        log.info("no reload on SIGHUP in this process (%s)", type(error).__name__)


def _is_serve(pid: int) -> bool:
    """Whether the pid is a running messenger-bot (where /proc tells; elsewhere, trust the file)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self").exists():
        return True
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    program = any(a == b"messenger_bot" or a.endswith(b"messenger-bot") for a in args)
    return program and b"serve" in args


def send_reload(settings: Settings, problems: list[str]) -> int:
    """`messenger-bot reload`: with the content checked here first (`problems`, check-content's
    lines), SIGHUP each serve of PID_DIR."""
    if problems:
        for problem in problems:
            print(problem)
        print(f"not reloaded: {len(problems)} problem(s) in {settings.content_dir}", file=sys.stderr)
        return 1
    signalled = 0
    for path in sorted(settings.pid_dir.glob("serve-*.pid")):
        try:
            pid = int(path.read_text(encoding="utf-8").strip())
            if not _is_serve(pid):  # a process killed outright left its file, and the pid was reused
                continue
            os.kill(pid, signal.SIGHUP)
        except (ValueError, OSError):  # gone since, or not ours to signal
            continue
        print(f"reload sent to serve (pid {pid}, {path.name})")
        signalled += 1
    if not signalled:
        print(f"no running serve found in {settings.pid_dir}/ (send it SIGHUP: kill -HUP <pid>)",
              file=sys.stderr)
        return 1
    return 0
