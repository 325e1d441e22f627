"""Prometheus metrics for `/metrics` (prometheus-client), per process.

Each `serve` keeps its own registry, so several instances are several scrape targets.
Route labels are the matched route's path (a fixed set), never a raw URL, so a scanner
probing random paths cannot grow the label set.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from messenger_bot.engine import TurnOutcome

#: Log messages that mean the database failed (web/app.py and the reminder scheduler write them).
DATABASE_MESSAGES = ("database unavailable", "reminder dispatch pass failed")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("messenger_bot_http_requests", "HTTP requests", ["route", "method", "status"],
                                registry=r)
        self.latency = Histogram("messenger_bot_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.turns = Counter("messenger_bot_turns", "Conversation turns", ["channel"], registry=r)
        self.alerts = Counter("messenger_bot_alerts", "Emergency alerts given", ["channel"], registry=r)
        self.faq = Counter("messenger_bot_faq", "Typed questions by FAQ outcome", ["outcome"], registry=r)
        self.sends = Counter("messenger_bot_sends", "Reminders by channel and final outcome",
                             ["channel", "outcome"], registry=r)
        self.lag = Histogram("messenger_bot_dispatch_lag_seconds", "How late a reminder went out",
                             ["channel"], registry=r, buckets=(1, 5, 10, 30, 60, 300, 900, 3600))
        self.batch = Histogram("messenger_bot_dispatch_batch_size", "Due reminders claimed per batch",
                               ["channel"], registry=r, buckets=(0, 1, 10, 50, 100, 250, 500))
        self.database_errors = Counter("messenger_bot_database_errors", "Database failures seen",
                                       registry=r)

    def on_turn(self, outcome: TurnOutcome) -> None:
        self.turns.labels(outcome.channel).inc()
        if "alert" in outcome.kinds:
            self.alerts.labels(outcome.channel).inc()
        if outcome.faq:
            self.faq.labels(outcome.faq).inc()

    def on_reminder(self, channel: str, status: str, lag: float) -> None:
        self.sends.labels(channel, status).inc()
        if status == "sent":
            self.lag.labels(channel).observe(lag)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseErrorCounter(logging.Handler):
    """Counts the warnings the app logs when the database fails, without a hook in each caller."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.WARNING)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(DATABASE_MESSAGES):
            self.metrics.database_errors.inc()


class RequestMetricsMiddleware:
    """Counts each request and its latency by the route it matched ("unmatched" otherwise)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            route = scope["path"] if "endpoint" in scope else "unmatched"
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
