"""How long the bot keeps each kind of row, and the job that forgets the rest.

Every table that holds something per user or per message has a rule: here (`RULES`) or in the
feature that owns it (its `FeatureSpec.retention`, with the pass's `expiries` and `keeps_user`
beside it); a table added without one fails tests/test_privacy.py. The limits are settings
(settings.py), so an
operator can shorten them. `serve` prunes once at start and then every hour (with the other
background jobs, so not under `--no-scheduler`); `messenger-bot prune` does one pass, for a
platform's cron and for checking what a pass would remove at a given time (`--now`).

Forgetting a user removes the same rows as "delete my data". Each pass deletes in small
batches, each its own transaction, so a large backlog never holds the database for long;
passes on several instances at once only find less to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from messenger_bot.features import FeatureSpec
from messenger_bot.runtime import Runtime
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage
from messenger_bot.storage.base import ts

log = logging.getLogger("messenger_bot.retention")

#: How often `serve` prunes. An hour is fine-grained next to limits counted in days.
EVERY = timedelta(hours=1)
WEB = "web"

#: Every table the engine and the channels keep, and how long its rows live (the words SECURITY.md
#: repeats); a feature declares its own tables' rules beside them (features.py), and
#: `wiring.retention_rules()` is the whole list.
RULES: dict[str, str] = {
    "users": "web chat: WEBCHAT_USER_DAYS after the last message (WEBCHAT_ONE_MESSAGE_HOURS for a key "
             "that sent one message); other channels: USER_DAYS after the last message, unless a "
             "reminder is on",
    "whatsapp_outbound": "WHATSAPP_OUTBOUND_DAYS after its last status; with its user",
    "inbound_messages": "DEDUP_DAYS",
    "whatsapp_templates": "nothing about users: the bot's own menu templates",
    "schema_migrations": "nothing about users: the schema's version",
    "admin_daily": "counts only, nothing about users: kept for the operators' trends",
    "unanswered": "UNANSWERED_DAYS, scrubbed and linked to no user (admin/inbox.py)",
    "unanswered_groups": "UNANSWERED_DAYS after their last message (admin/inbox.py)",
}


@dataclass(frozen=True)
class Limits:
    """The retention settings of the engine's and channels' tables, as durations (a feature's
    come with its `expiries`)."""

    webchat_user: timedelta
    webchat_one_message: timedelta
    user: timedelta
    dedup: timedelta
    whatsapp_outbound: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            webchat_user=timedelta(days=settings.webchat_user_days),
            webchat_one_message=timedelta(hours=settings.webchat_one_message_hours),
            user=timedelta(days=settings.user_days),
            dedup=timedelta(days=settings.dedup_days),
            whatsapp_outbound=timedelta(days=settings.whatsapp_outbound_days),
        )


async def prune(
    store: Storage, settings: Settings, now: datetime, features: Sequence[FeatureSpec] = ()
) -> dict[str, int]:
    """One pass: what each rule removed (users by channel group, rows by table), the engine's and
    channels' rules first, then each feature's `expiries`."""
    removed = await _prune_own(store, Limits.of(settings), now, _kept(features))
    for expiry in (expiry for spec in features for expiry in spec.expiries):
        removed[expiry.table] = await store.forget_rows_where(
            expiry.table, expiry.key, expiry.condition, expiry.cutoff(settings, now))
    return removed


def _kept(features: Sequence[FeatureSpec]) -> str:
    """The features' reasons to keep a silent messaging user, as one SQL condition to add."""
    return "".join(f" AND NOT ({spec.keeps_user})" for spec in features if spec.keeps_user)


async def _prune_own(store: Storage, limits: Limits, now: datetime, kept: str) -> dict[str, int]:
    def before(age: timedelta) -> float | None:
        return ts(now - age)

    return {
        "web chat users": await store.forget_users_where(
            "channel = ? AND (last_seen < ? OR (last_seen = first_seen AND last_seen < ?))",
            WEB, before(limits.webchat_user), before(limits.webchat_one_message),
        ),
        "other users": await store.forget_users_where(
            f"channel <> ? AND last_seen < ?{kept}", WEB, before(limits.user),
        ),
        "inbound_messages": await store.forget_rows_where(
            "inbound_messages", "channel, message_id", "received_at < ?", before(limits.dedup)),
        "whatsapp_outbound": await store.forget_rows_where(
            "whatsapp_outbound", "sid", "updated_at < ?", before(limits.whatsapp_outbound)),
    }


def summary(removed: dict[str, int]) -> str:
    """One line for the log and the command: "web chat users 3, inbound_messages 120, …"."""
    return ", ".join(f"{what} {count}" for what, count in removed.items())


class RetentionJob:
    """A `Background` of web/app.py: a pass at start, then one every `every`."""

    def __init__(
        self, settings: Settings, features: Sequence[FeatureSpec] = (), every: timedelta = EVERY
    ) -> None:
        self.settings = settings
        self.features = tuple(features)
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def start(self, runtime: Runtime) -> None:
        self._task = asyncio.create_task(self._run(runtime.store), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()  # a batch in progress rolls back; the next start does it again
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, store: Storage) -> None:
        while True:
            try:
                removed = await prune(store, self.settings, _now(), self.features)
            except Exception:
                log.exception("retention pass failed; the next one tries again")
            else:
                if any(removed.values()):
                    log.info("retention: removed %s", summary(removed))
            await asyncio.sleep(self.every.total_seconds())


def _now() -> datetime:
    return datetime.now(UTC)
