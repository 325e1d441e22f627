"""`messenger-bot serve`: uvicorn running the app, with a graceful stop on SIGTERM.

uvicorn stops accepting on SIGTERM, lets in-flight requests finish (up to the
timeout), then runs the lifespan's shutdown, which closes channels and the store.
"""

from __future__ import annotations

import signal

import uvicorn
from starlette.applications import Starlette

from messenger_bot import logs
from messenger_bot.settings import Settings

GRACEFUL_SECONDS = 20


def serve(settings: Settings, app: Starlette) -> int:
    """Run `app` (wiring.py builds it, after checking the content) until stopped."""
    logs.configure(settings.log_level, secrets=settings.secret_values())
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        proxy_headers=False,  # the app's ForwardedMiddleware reads X-Forwarded-For, from the right
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the stop signal once it has shut down; after a graceful stop the
    # exit is a clean one (code 0), so the restored handlers ignore that replay.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    server.run()
    return 0 if server.started else 3
