"""Start the real `messenger-bot serve` as a subprocess and wait until it is healthy."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.support.waiting import HANG_BOUND


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`serve` on loopback with the given environment; `url` is its base URL."""

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "messenger_bot", "serve", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output = ""

    def wait_healthy(self, timeout: float = HANG_BOUND) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.read_output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"serve did not become healthy:\n{self.read_output()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def read_output(self) -> str:
        if self.proc.poll() is not None and self.proc.stdout and not self.output:
            self.output = self.proc.stdout.read()
        return self.output

    def __enter__(self) -> ServeProcess:
        self.wait_healthy()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
