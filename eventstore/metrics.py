"""Prometheus metrics of the kernel, and the small HTTP server every process exposes.

Names follow Prometheus conventions and the words of the docs: relay, checkpoint, projection,
consumer, dead letter. Every process serves ``/metrics`` and ``/healthz`` on its metrics port.
"""

from __future__ import annotations

import bisect
import json
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Deferred:
    """Observations for hot paths, recorded without taking a lock and handed to ``apply`` in
    batches (every ``batch`` observations, and before every scrape), which folds them into the
    real metrics with a few locked updates instead of several per observation.

    prometheus-client guards each value with a lock; with many writers, three locks per append
    made them queue on each other (bench/eventstore.py). A deque append is atomic.
    """

    _all: weakref.WeakSet[Deferred] = weakref.WeakSet()

    def __init__(self, apply: Callable[[list[tuple]], None], batch: int = 256) -> None:
        self._apply = apply
        self._batch = batch
        self._pending: deque = deque()
        self._flushing = threading.Lock()
        Deferred._all.add(self)

    def observe(self, *values: object) -> None:
        self._pending.append(values)
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        with self._flushing:
            taken = []
            pop = self._pending.popleft
            try:
                while True:
                    taken.append(pop())
            except IndexError:
                pass
            if taken:
                self._apply(taken)


def observe_many(histogram: Any, values: list[float]) -> None:
    """``histogram.observe(v)`` for every value, with one update per bucket.

    prometheus-client 0.x has no bulk observe; this writes the same per-bucket counts and sum
    that ``Histogram.observe`` writes (its ``_buckets`` are not cumulative).
    """
    counts = [0] * len(histogram._upper_bounds)
    for value in values:
        counts[bisect.bisect_left(histogram._upper_bounds, value)] += 1
    histogram._sum.inc(sum(values))
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)


class _FlushBeforeScrape:
    """Registered first, so a scrape sees every deferred observation."""

    def collect(self):
        for deferred in list(Deferred._all):
            deferred.flush()
        return []


REGISTRY.register(_FlushBeforeScrape())

APPEND_SECONDS = Histogram(
    "eventstore_append_seconds", "Time to append one batch of events to a stream",
    ["service"], buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
EVENTS_APPENDED = Counter(
    "eventstore_events_appended_total", "Events appended to the log", ["service", "stream_type"])
APPEND_CONFLICTS = Counter(
    "eventstore_append_conflicts_total", "Appends refused because the stream moved", ["service"])
IDEMPOTENT_REPLAYS = Counter(
    "eventstore_idempotent_replays_total",
    "Commands whose idempotency key was already applied (nothing appended)", ["service"])

COMMAND_RETRIES = Counter(
    "eventstore_command_retries_total",
    "Commands and handled events decided again because a stream they read moved meanwhile",
    ["service"])

COMMANDS_PAST_DEADLINE = Counter(
    "eventstore_commands_past_deadline_total",
    "Commands refused because their caller had stopped waiting (never applied)")

RELAY_PUBLISHED = Counter(
    "relay_events_published_total", "Events published and confirmed by the broker", ["service"])
RELAY_LAG = Gauge(
    "relay_lag_events", "Committed events not yet published by the relay", ["service"])
RELAY_ACTIVE = Gauge(
    "relay_active", "1 when this process holds the relay lock of its service", ["service"])
RELAY_PUBLISH_SECONDS = Histogram(
    "relay_publish_batch_seconds", "Time to publish and confirm one batch", ["service"])
RELAY_PUBLIC_PUSHED = Counter(
    "relay_public_events_pushed_total",
    "Public forms of events published to the agencies' exchange and confirmed", ["service"])
RELAY_PUBLIC_UNROUTED = Counter(
    "relay_public_unrouted_total",
    "Events with a public form not pushed: their hub's state was unknown", ["service"])
RELAY_ERRORS = Counter(
    "relay_errors_total", "Relay failures (broker or database) followed by a retry",
    ["service", "kind"])

CONSUMER_HANDLED = Counter(
    "consumer_events_total", "Events reaching a consumer, by outcome",
    ["consumer", "outcome"])  # outcome: handled | duplicate | failed
CONSUMER_LAG = Gauge(
    "consumer_lag_messages", "Messages waiting in a consumer's queue", ["queue"])
CATCH_UPS = Counter(
    "consumer_catch_ups_total", "Catch-ups with a source's log that ran to its end",
    ["source"])
CATCH_UP_EVENTS = Counter(
    "consumer_catch_up_events_total",
    "Events a catch-up read from a source's log (handled before or not)", ["source"])
DEAD_LETTERS_PARKED = Counter(
    "dead_letters_parked_total", "Messages parked after the delivery limit", ["service"])
DEAD_LETTERS_WAITING = Gauge(
    "dead_letters_waiting", "Parked messages not yet replayed", ["service"])
DEAD_LETTERS_REPLAYED = Counter(
    "dead_letters_replayed_total", "Parked messages replayed by an operator", ["service"])

LOG_HELD_BACK_EVENTS = Gauge(
    "eventstore_log_held_back_events",
    "Committed events no relay, projection or catch-up may read yet: an open transaction "
    "somewhere on the PostgreSQL server holds the log's horizon back", ["service"])
LOG_HELD_BACK_SECONDS = Gauge(
    "eventstore_log_held_back_seconds",
    "How long ago the oldest held-back event was written (0 when none is held back)",
    ["service"])

PROJECTION_APPLIED = Counter(
    "projection_events_applied_total", "Events applied to a projection", ["projection"])
PROJECTION_LAG = Gauge(
    "projection_lag_events", "Committed events a projection has not applied yet",
    ["projection"])

HealthCheck = Callable[[], tuple[bool, str]]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - scrapes every few seconds; not news
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True


def metrics_app(health_checks: dict[str, HealthCheck]):
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path in ("/healthz", "/readyz"):
            results = {}
            for name, check in health_checks.items():
                try:
                    ok, detail = check()
                except Exception as exc:  # noqa: BLE001 - a failing check is the answer
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                results[name] = {"ok": ok, "detail": detail}
            healthy = all(r["ok"] for r in results.values())
            start_response("200 OK" if healthy else "503 Service Unavailable",
                           [("Content-Type", "application/json")])
            body = {"status": "ok" if healthy else "unhealthy", "checks": results}
            return [json.dumps(body).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    return app


def serve_metrics(port: int, health_checks: dict[str, HealthCheck],
                  host: str = "127.0.0.1") -> WSGIServer:
    """Serve ``/metrics`` and ``/healthz`` in a background thread; returns the server."""
    server = make_server(host, port, metrics_app(health_checks),
                         server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name=f"metrics:{port}", daemon=True).start()
    return server
