"""The relay: publishes a service's log to RabbitMQ (the store is the outbox).

It tails the log from a durable checkpoint in commit order, publishes each event in nameko's
event format (exchange ``<service>.events``, routing key = event type, JSON body) with publisher
confirms, and advances the checkpoint only after the broker confirmed the batch. So delivery is
at least once and in log order: after a crash or a dropped connection the unconfirmed tail of a
batch is published again, never skipped.

Exactly one relay is active per service: each candidate holds its own database connection and
tries ``pg_try_advisory_lock``; the lock is released when that connection ends (the process died
or lost the database), and a standby takes over within ``standby_poll_seconds``.

An event no queue is bound to is dropped by RabbitMQ, by design: consumers that appear later
catch up from the log (see ``eventstore.consumers``), not from the broker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import amqp
import kombu
import psycopg2

from . import metrics
from .db import Timeouts, connect
from .events import RecordedEvent
from .identity import signed_event
from .push import PUBLIC_EXCHANGE, PublicPush
from .store import EventStore

log = logging.getLogger("eventstore.relay")

CHECKPOINT = "relay"


class PublishRefused(Exception):
    """The broker nacked a message or the confirms did not arrive in time."""


class Relay:
    def __init__(self, service: str, database_url: str, amqp_uri: str, *,
                 batch_size: int = 500, poll_seconds: float = 0.05,
                 standby_poll_seconds: float = 0.5, confirm_timeout: float = 10.0,
                 store: EventStore, fence_seconds: float = 15.0,
                 push: PublicPush | None = None) -> None:
        self.service = service
        self.database_url = database_url
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.standby_poll_seconds = standby_poll_seconds
        self.confirm_timeout = confirm_timeout
        # How long a frozen relay may hold the lock: PostgreSQL ends its idle session then.
        # More than confirm_timeout, so waiting for confirms never looks like a freeze.
        self.fence_seconds = max(fence_seconds, confirm_timeout + 2)
        self._in_touch = 0.0
        # The service's one store (its upcasters apply to what is published); the relay passes
        # its own connection's cursor to every call.
        self.store = store
        self.exchange = f"{service}.events"
        # The public forms for the agencies' exchange (eventstore.push), if the service has any.
        self.push = push
        self.active = False
        self.stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        """Relay until ``stop()``; survives database and broker failures by retrying."""
        backoff = 0.1
        while not self.stopping.is_set():
            try:
                self._run_once()
                backoff = 0.1
            except (psycopg2.Error, OSError, amqp.exceptions.AMQPError, PublishRefused,
                    kombu.exceptions.KombuError) as exc:
                kind = "database" if isinstance(exc, psycopg2.Error) else "broker"
                metrics.RELAY_ERRORS.labels(self.service, kind).inc()
                log.warning("relay %s: %s failure, retrying: %s", self.service, kind, exc)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        self.stopping.set()

    def _set_active(self, active: bool) -> None:
        self.active = active
        metrics.RELAY_ACTIVE.labels(self.service).set(1 if active else 0)

    def _run_once(self) -> None:
        # A relay that freezes (SIGSTOP, a hung host) still answers TCP keepalives, so only
        # PostgreSQL can end its session, and with it the lock, when it stays idle: the
        # standby then takes over within fence_seconds (docs/decisions/003).
        conn = connect(self.database_url, application_name=f"relay:{self.service}",
                       timeouts=Timeouts(statement_seconds=30,
                                         idle_in_transaction_seconds=30,
                                         idle_session_seconds=self.fence_seconds))
        try:
            with conn.cursor() as cur:
                while not self.stopping.is_set():
                    cur.execute("SELECT pg_try_advisory_lock(hashtext('relay'))")
                    if cur.fetchone()[0]:
                        break
                    self.stopping.wait(self.standby_poll_seconds)
                else:
                    return
                log.info("relay %s: active", self.service)
                self._set_active(True)
                with kombu.Connection(self.amqp_uri, heartbeat=30) as broker:
                    self._pump(cur, broker)
        finally:
            # Not active any more from the moment the lock may go: before the session ends,
            # so two relays never both say they are active.
            self._set_active(False)
            conn.close()

    # -- the loop ----------------------------------------------------------------------------

    def _pump(self, cur, broker: kombu.Connection) -> None:
        store = self.store
        channel = broker.channel()
        kombu.Exchange(self.exchange, type="topic", durable=True)(channel).declare()
        if self.push is not None:
            # Declared by provisioning; a service's user may publish to it, not declare it.
            from .broker import ensure_exchange
            ensure_exchange(self.amqp_uri, PUBLIC_EXCHANGE)
        confirms = _Confirms(channel)
        cursor = store.checkpoint(CHECKPOINT, cur)
        last_lag_check = 0.0
        while not self.stopping.is_set():
            batch = store.read_all(cursor, self.batch_size, cur)
            self._in_touch = time.monotonic()
            if batch:
                started = time.perf_counter()
                for event in batch:
                    self._still_active(cur)
                    self._publish(channel, confirms, event)
                pushed = self.push.messages(batch, cur) if self.push is not None else []
                for event, key, cloud_event in pushed:
                    confirms.publish(channel, json.dumps(cloud_event), PUBLIC_EXCHANGE, key,
                                     {}, event.event_id,
                                     content_type="application/cloudevents+json")
                confirms.wait(broker, self.confirm_timeout)
                self._still_active(cur)
                cursor = batch[-1].cursor
                store.save_checkpoint(CHECKPOINT, cursor, cur)
                metrics.RELAY_PUBLISHED.labels(self.service).inc(len(batch))
                metrics.RELAY_PUBLIC_PUSHED.labels(self.service).inc(len(pushed))
                metrics.RELAY_PUBLISH_SECONDS.labels(self.service).observe(
                    time.perf_counter() - started)
            now = time.monotonic()
            if len(batch) < self.batch_size or now - last_lag_check > 1.0:
                metrics.RELAY_LAG.labels(self.service).set(
                    store.count_after(cursor, 100_000, cur) if batch else 0)
                last_lag_check = now
            if len(batch) < self.batch_size:
                # Heartbeats and unsolicited frames (a connection.close) are handled here too.
                _idle(broker, self.poll_seconds)

    def _still_active(self, cur) -> None:
        """Fencing: a relay that was frozen long enough to lose its session (and the lock)
        must not publish the rest of a batch it read before; the next relay publishes it, in
        order. Frozen or not shows on the monotonic clock; a session that may have ended is
        asked (a round trip only then), and a dead one stops this relay here."""
        if time.monotonic() - self._in_touch > self.fence_seconds / 3:
            cur.execute("SELECT 1")
            self._in_touch = time.monotonic()

    def _publish(self, channel, confirms: _Confirms, event: RecordedEvent) -> None:
        body = signed_event(event.to_message(self.service))
        headers = {"nameko.correlation_id": event.metadata.get("correlation_id", "")}
        confirms.publish(channel, json.dumps(body), self.exchange, event.type, headers,
                         event.event_id)


class _Confirms:
    """Publisher confirms for a batch: publish many, then wait until the broker acked them all."""

    def __init__(self, channel) -> None:
        channel.confirm_select()
        self.next_tag = 1
        self.unconfirmed: set[int] = set()
        self.refused = False
        channel.events["basic_ack"].add(self._ack)
        channel.events["basic_nack"].add(self._nack)

    def publish(self, channel, body: str, exchange: str, routing_key: str,
                headers: dict[str, Any], message_id: str,
                content_type: str = "application/json") -> None:
        message = amqp.Message(body, content_type=content_type,
                               content_encoding="utf-8", delivery_mode=2,
                               message_id=message_id, application_headers=headers)
        channel.basic_publish(message, exchange=exchange, routing_key=routing_key)
        self.unconfirmed.add(self.next_tag)
        self.next_tag += 1

    def _ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self.unconfirmed = {t for t in self.unconfirmed if t > tag}
        else:
            self.unconfirmed.discard(tag)

    def _nack(self, tag: int, multiple: bool) -> None:
        self.refused = True
        self._ack(tag, multiple)

    def wait(self, broker: kombu.Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishRefused(f"{len(self.unconfirmed)} publishes not confirmed in time")
            try:
                broker.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        if self.refused:
            self.refused = False
            raise PublishRefused("the broker refused a publish (nack)")


def _idle(broker: kombu.Connection, seconds: float) -> None:
    try:
        broker.heartbeat_check()
        broker.drain_events(timeout=seconds)
    except TimeoutError:
        pass
