"""`GET /files/<token>`: a rendered chart or PDF, while its link is valid, and never cached longer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from messenger_bot.diary.files import EXTENSIONS, PATH, fetch_file
from messenger_bot.runtime import Runtime


class DiaryFiles:
    """Started and stopped with the background parts (web/app.py); it only serves files, it says nothing."""

    name = "files"
    body_limits: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route(PATH + "{token}", self.file, methods=["GET", "HEAD"])]

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def stop(self) -> None:
        self.runtime = None

    async def file(self, request: Request) -> Response:
        """404 alike for a forged, expired, deleted or unknown link: nothing tells them apart."""
        if self.runtime is None:
            return JSONResponse({"error": "starting or stopping"}, status_code=503)
        now = datetime.now(UTC)
        found = await fetch_file(self.runtime.store, request.path_params["token"], now)
        if found is None:
            return JSONResponse(
                {"error": "this link has expired or does not exist"},
                status_code=404,
                headers={"cache-control": "no-store"},
            )
        remaining = max(0, int(found.expires_at - now.timestamp()))
        headers = {
            "cache-control": f"private, max-age={remaining}",
            "expires": datetime.fromtimestamp(found.expires_at, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "content-disposition": f"inline; filename=summary.{EXTENSIONS.get(found.mime, 'bin')}",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-robots-tag": "noindex",
        }
        return Response(found.body, media_type=found.mime, headers=headers)
