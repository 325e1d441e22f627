"""Content changes without a restart: `messenger-bot reload` and SIGHUP against a real `serve`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import FLOWS
from tests.support.server import ServeProcess

OLD = "My facts come from a public health article, rewritten in plain words."
NEW = "My facts come from a public health article, which we retold in plainer words."


class LogWatch:
    """Reads serve's output as it comes, so a test can wait for a line instead of sleeping."""

    def __init__(self, serve: ServeProcess) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(serve,), daemon=True)
        self._thread.start()

    def _read(self, serve: ServeProcess) -> None:
        assert serve.proc.stdout is not None
        for line in serve.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                assert left > 0, f"no log line with {text!r}:\n{''.join(self.lines)}"
                self._changed.wait(left)


def about(url: str) -> str:
    response = httpx.post(url + "/api/chat", json={"user": "reload-user-1", "button": "about"})
    return response.json()["replies"][-1]["text"]


def reload_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "messenger_bot", "reload"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_reload_swaps_valid_content_and_refuses_broken_content(
    bot_env: dict[str, str], tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    env = {**bot_env, "CONTENT_DIR": str(flows), "PID_DIR": str(tmp_path / "run")}
    serve = ServeProcess(env, "--no-scheduler")
    env["PORT"] = str(serve.port)
    with serve:
        log = LogWatch(serve)
        assert OLD in about(serve.url)
        pid_file = tmp_path / "run" / f"serve-{serve.port}.pid"
        assert pid_file.read_text().strip() == str(serve.proc.pid)

        topic = flows / "topics" / "about.yaml"
        topic.write_text(topic.read_text().replace(OLD, NEW))
        done = reload_command(env)
        assert done.returncode == 0, done.stderr
        assert f"pid {serve.proc.pid}" in done.stdout
        log.wait_for("content reloaded")
        assert NEW in about(serve.url)

        topic.write_text(topic.read_text().replace("{goto: reminders}", "{goto: no-such-node}"))
        refused = reload_command(env)
        assert refused.returncode == 1
        assert "about.yaml" in refused.stdout and "no-such-node" in refused.stdout

        os.kill(serve.proc.pid, signal.SIGHUP)  # straight to the server, as `kill -HUP` would
        log.wait_for("still serving the previous content")
        line = log.wait_for("no-such-node")  # check-content's own line, in the log
        assert "reload refused" in line and "about.yaml" in line and '"level": "ERROR"' in line
        assert NEW in about(serve.url)
        assert httpx.get(serve.url + "/healthz").status_code == 200
    assert not pid_file.exists()


def test_reload_without_a_running_serve_says_so(bot_env: dict[str, str], tmp_path: Path) -> None:
    done = reload_command({**bot_env, "PID_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "no running serve" in done.stderr and "kill -HUP" in done.stderr


def test_reload_never_signals_a_process_that_is_not_serve(bot_env: dict[str, str], tmp_path: Path) -> None:
    """A pid file left by a killed serve may name a pid reused by something else: left alone."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = tmp_path / "run"
        run.mkdir()
        (run / "serve-8000.pid").write_text(f"{other.pid}\n")
        done = reload_command({**bot_env, "PID_DIR": str(run)})
        assert done.returncode == 1 and "no running serve" in done.stderr
        assert other.poll() is None  # SIGHUP would have ended it
    finally:
        other.kill()
        other.wait()
