"""An ExtBot whose getUpdates never fails because of one update PTB cannot read.

PTB parses a whole `getUpdates` batch at once; one update it cannot parse fails the batch, the
offset is never confirmed, and the same batch is fetched (and a traceback logged) in a tight
loop. `TolerantBot` replaces such an update by a bare one with the same `update_id` (logged
once, without its content), so the offset moves past it and everyone else is answered.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

log = logging.getLogger("messenger_bot.telegram")


class TolerantBot(ExtBot[Any]):
    """An ExtBot whose getUpdates never fails because of one update PTB cannot read."""

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        # ExtBot itself extends PTB here (for its rate limiter): every call passes through.
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [u for u in (self._readable(raw) for raw in result) if u is not None]
        return result

    def _readable(self, raw: Any) -> dict[str, Any] | None:
        """The update if PTB can read it; else a bare update with its id (so it is confirmed)."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        try:
            Update.de_json(raw, self)
            return raw
        except Exception as error:  # what a new or broken shape raises varies: never stop polling
            log.warning("telegram polling: skipped update %s, which could not be read (%s)",
                        update_id, type(error).__name__)
        return {"update_id": update_id} if isinstance(update_id, int) else None
