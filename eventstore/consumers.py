"""Consumers of other services' events: decided once, retried a bounded number of times, then
a dead letter.

    class Cycles(KernelEntrypoints):
        name = "cycles"
        kernel = Kernel(...)

        @consumes(membership.MemberEnrolled)
        def on_member_enrolled(self, session, event):
            session.read_model.member_enrolled(event.recorded.stream_id, event.hub_id,
                                               event.name)

- **Decides like a command.** A handler gets a ``Session`` (eventstore.commands): it may load
  aggregates, let them decide and record events (a process manager: booking an expert reserves
  time, records an engagement or refuses it), and write read-model rows. Its effects and the
  inbox row commit in one transaction, so an event is handled, and its consequences recorded,
  exactly once however often it is delivered. It reads the event through the producer's
  published contract (eventstore.contracts).
- **Nothing is lost on error.** nameko's ``event_handler`` acks and drops a message whose
  handler raised. Here the queue is a quorum queue with ``x-delivery-limit`` and a dead-letter
  exchange, and the handler requeues on error: a poison message is tried ``limit + 1`` times,
  then RabbitMQ moves it to ``dead-letters.<service>``, from where the service parks it in its
  ``dead_letters`` table for an operator to list and replay (``python -m eventstore
  dead-letters``).
- **Catch-up.** A consumer that lost messages anyway (it was not bound yet, a queue was deleted)
  re-reads the source's log over RPC (``catch_up``); the inbox makes that safe to repeat.
See docs/decisions/002-consumers-never-lose-events.md.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import eventlet
import kombu
from kombu import Exchange, Queue
from nameko.events import EventHandler
from nameko.messaging import Consumer, QueueConsumer

from . import metrics
from .config import Settings
from .contracts import Published
from .db import Database
from .errors import NotFound, PoisonMessage
from .events import RecordedEvent
from .identity import verify_event

log = logging.getLogger("eventstore.consumers")

DEAD_LETTER_EXCHANGE = "consortium.dead-letters"
# Why, and from which queue, a message the service parked itself died.
REASON_HEADER = "x-consortium-reason"
QUEUE_HEADER = "x-consortium-queue"
# A fault tests inject into a real process (tests/integration/test_process.py); unset in use.
FAILPOINT = os.environ.get("CONSORTIUM_FAILPOINT", "")


def dead_letter_queue(service: str) -> str:
    return f"dead-letters.{service}"


def declare_dead_letter_route(amqp_uri: str, service: str) -> None:
    """The exchange and queue dead letters go to; must exist before a message dies."""
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        exchange = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
        exchange(channel).declare()
        Queue(dead_letter_queue(service), exchange, routing_key=service,
              durable=True)(channel).declare()


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except for a message whose body cannot be decoded: kombu's
    default acknowledges and drops it; here it becomes a dead letter with the reason."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = functools.partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc) -> None:
        if isinstance(provider, DeadLetterParker):
            # A dead letter that is not JSON is still a dead letter: park its text.
            provider.handle_message(_text(message.body), message)
            return
        send_to_dead_letters(self.amqp_uri, self.container.service_name, message,
                             f"undecodable: {exc}", provider.queue.name)
        self.ack_message(message)


class ReliableEventHandler(EventHandler):
    """An ``EventHandler`` on a quorum queue that dead-letters after ``delivery_limit`` retries,
    and at once a message that no retry can handle (a forged event, one that breaks its
    contract, one that cannot be decoded)."""

    queue_consumer = ReliableQueueConsumer()

    def __init__(self, source_service: str, event_type: str,
                 delivery_limit: int | None = None, **kwargs: Any) -> None:
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)
        self.delivery_limit = delivery_limit

    def setup(self) -> None:
        super().setup()
        service = self.container.service_name
        limit = self.delivery_limit or Settings.from_env(service).consumer_delivery_limit
        declare_dead_letter_route(self.container.config["AMQP_URI"], service)
        plain: Queue = self.queue  # type: ignore[has-type]
        self.queue = Queue(
            plain.name, exchange=plain.exchange, routing_key=self.event_type,
            durable=True, queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": service,
            })

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None and result and FAILPOINT == "consumer-after-commit":
            # Tests only: die as a machine would between the commit and the ack.
            os._exit(9)
        if exc_info is not None and isinstance(exc_info[1], PoisonMessage):
            try:
                send_to_dead_letters(self.container.config["AMQP_URI"],
                                     self.container.service_name, message,
                                     f"{type(exc_info[1]).__name__}: {exc_info[1].detail}",
                                     self.queue.name)
            except (OSError, kombu.exceptions.KombuError) as fault:
                # The broker went away: the message comes back and is parked then.
                log.warning("could not park a poison message now: %s", fault)
                self.queue_consumer.requeue_message(message)
                return
            self.queue_consumer.ack_message(message)
            return
        if exc_info is not None:
            # A short, growing pause before the retry, so a passing fault can pass.
            attempt = int((message.headers or {}).get("x-delivery-count") or 0)
            eventlet.sleep(min(0.05 * 2 ** attempt, 2.0))
        super().handle_message_processed(message, result, exc_info)


class DeadLetterParker(Consumer):
    """Moves this service's dead letters from RabbitMQ into its ``dead_letters`` table."""

    queue_consumer = ReliableQueueConsumer()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queue=None, requeue_on_error=True, **kwargs)

    def setup(self) -> None:
        service = self.container.service_name
        declare_dead_letter_route(self.container.config["AMQP_URI"], service)
        self.queue = Queue(dead_letter_queue(service),
                           Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
                           routing_key=service, durable=True)
        super().setup()

    def handle_message(self, body, message):
        # The worker needs the headers (x-death says where and why the message died).
        handle_result = functools.partial(self.handle_result, message)
        self.container.spawn_worker(self, (body, dict(message.headers or {})), {},
                                    context_data={}, handle_result=handle_result)


def consumes(contract: type[Published], *, delivery_limit: int | None = None) -> Callable:
    """Declare ``fn(self, session, event)`` the consumer of a published event of another
    service; ``event`` is an instance of the contract."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def handle(self, body):
            verify_event(body, contract.source)
            return handle_event(self, fn, contract, RecordedEvent.from_message(body))

        handle.__consumes__ = (contract, fn)  # type: ignore[attr-defined]
        return ReliableEventHandler.decorator(contract.source, contract.type,
                                              delivery_limit=delivery_limit)(handle)

    return decorate


def handle_event(service: Any, fn: Callable, contract: type[Published],
                 event: RecordedEvent) -> bool:
    """Run one consumer for one event through the service's kernel (``service.kernel``, the
    attribute every service declares)."""
    return service.kernel.handle(fn.__name__, contract.source, event,
                                 lambda session: fn(service, session, contract.from_event(event)))


def send_to_dead_letters(amqp_uri: str, service: str, message: Any, reason: str,
                         queue: str) -> None:
    """Park a message that no retry can handle: straight to the service's dead-letter route,
    with why and where it died (confirmed before the original is acknowledged)."""
    headers = {**(message.headers or {}), REASON_HEADER: reason[:500], QUEUE_HEADER: queue}
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        kombu.Producer(conn.channel()).publish(
            message.body, exchange=DEAD_LETTER_EXCHANGE, routing_key=service, headers=headers,
            content_type=message.content_type, content_encoding=message.content_encoding,
            delivery_mode=2)
    log.warning("dead letter from %s: %s", queue, reason)


def consumer_queue(service: str, source: str, event_type: str, method: str) -> str:
    """The queue of one consumer method, as nameko names it."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def _text(body: Any) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def consumer_methods(service_cls: type) -> list[tuple[type[Published], Callable]]:
    """(contract, fn) of every ``@consumes`` method of a service class."""
    found = []
    for name in dir(service_cls):
        spec = getattr(getattr(service_cls, name, None), "__consumes__", None)
        if spec is not None:
            found.append(spec)
    return found


class DeadLetters:
    """Parked messages of one service: park, list, replay."""

    def __init__(self, db: Database, amqp_uri: str, service: str) -> None:
        self.db = db
        self.amqp_uri = amqp_uri
        self.service = service

    def park(self, body: Any, headers: dict[str, Any]) -> int:
        deaths = headers.get("x-death") or [{}]
        death = deaths[0]
        # Parked by the service itself (a poison message): the reason is its own.
        queue = headers.get(QUEUE_HEADER) or death.get("queue", "")
        reason = headers.get(REASON_HEADER) or death.get("reason", "unknown")
        routing_keys = death.get("routing-keys") or [""]
        event_id = body.get("event_id") if isinstance(body, dict) else None
        kept = {k: v for k, v in headers.items() if not k.startswith("x-")}
        text = json.dumps(body) if isinstance(body, (dict, list)) else _text(body)
        with self.db.transaction() as tx:
            tx.execute(
                """INSERT INTO dead_letters (queue, exchange, routing_key, body, headers, reason,
                                             event_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (queue, death.get("exchange", ""), routing_keys[0], text.replace("\x00", ""),
                 json.dumps(kept, default=str), str(reason), event_id))
            letter_id = tx.fetchone()[0]
        metrics.DEAD_LETTERS_PARKED.labels(self.service).inc()
        log.warning("parked dead letter %s from %s (event %s)", letter_id, queue, event_id)
        return letter_id

    def park_unhandled(self, queue: str, body: dict[str, Any], reason: str) -> None:
        """Park an event a catch-up could not handle (as if it had died in ``queue``), unless it
        waits there already."""
        event_id = body.get("event_id")
        with self.db.transaction() as tx:
            tx.execute("""SELECT 1 FROM dead_letters WHERE queue = %s AND event_id = %s
                          AND replayed_at IS NULL""", (queue, event_id))
            if tx.fetchone() is not None:
                return
            tx.execute("""INSERT INTO dead_letters (queue, exchange, routing_key, body, headers,
                                                    reason, event_id)
                          VALUES (%s, '', %s, %s, '{}', %s, %s)""",
                       (queue, body.get("type", ""), json.dumps(body), reason[:1000],
                        event_id))
        metrics.DEAD_LETTERS_PARKED.labels(self.service).inc()
        log.warning("parked dead letter from a catch-up of %s: %s", queue, reason)

    def list(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute(
                """SELECT id, queue, exchange, routing_key, body, reason, event_id, parked_at,
                          replayed_at, replays FROM dead_letters
                   WHERE %s OR replayed_at IS NULL ORDER BY id""", (include_replayed,))
            columns = [c.name for c in cur.description]
            return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

    def waiting(self) -> int:
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL")
            return cur.fetchone()[0]

    def replay(self, letter_id: int) -> None:
        """Send a parked message back to the queue it died in (fresh delivery count)."""
        with self.db.transaction() as tx:
            tx.execute("SELECT queue, body, headers FROM dead_letters WHERE id = %s FOR UPDATE",
                       (letter_id,))
            row = tx.fetchone()
            if row is None:
                raise NotFound(f"no dead letter {letter_id}")
            queue, body, headers = row
            with kombu.Connection(self.amqp_uri,
                                  transport_options={"confirm_publish": True}) as conn:
                kombu.Producer(conn.channel()).publish(
                    body.encode(), exchange="", routing_key=queue, headers=headers,
                    content_type="application/json", content_encoding="utf-8",
                    delivery_mode=2)
            tx.execute("""UPDATE dead_letters SET replayed_at = now(), replays = replays + 1
                          WHERE id = %s""", (letter_id,))
        metrics.DEAD_LETTERS_REPLAYED.labels(self.service).inc()


def catch_up(service_cls: type, service: Any, source: str,
             read_page: Callable[[list[int], int, list[str]], dict[str, Any]],
             page: int = 500, start: list[int] | None = None,
             advance: Callable[[list[int]], None] | None = None,
             park: Callable[[str, dict[str, Any], str], None] | None = None) -> dict[str, Any]:
    """Feed ``source``'s log after ``start`` (from the beginning by default) through this
    service's consumers of it, once per event; ``next`` in the answer is where it stopped.

    Events the inbox shows handled are skipped with one query per page. ``advance(cursor)``
    is told after every page (the kernel keeps its checkpoint there). With ``park``, an event a
    consumer cannot handle is parked as a dead letter (``park(queue, body, reason)``) and the
    catch-up goes on; without it, the failure stops the catch-up.
    """
    handlers = {contract.type: (contract, fn) for contract, fn in consumer_methods(service_cls)
                if contract.source == source}
    cursor = list(start or [0, 0])
    counts: dict[str, Any] = {"read": 0, "applied": 0, "duplicates": 0, "parked": 0}
    started = time.monotonic()
    while True:
        result = read_page(cursor, page, sorted(handlers))
        bodies = result["events"]
        handled = service.kernel.handled([b.get("event_id") for b in bodies
                                          if isinstance(b, dict)])
        for body in bodies:
            counts["read"] += 1
            contract, fn = handlers[body["type"]]
            if (fn.__name__, body.get("event_id")) in handled:
                counts["duplicates"] += 1
                continue
            try:
                verify_event(body, source)
                applied = handle_event(service, fn, contract, RecordedEvent.from_message(body))
            except Exception as exc:
                if park is None:
                    raise
                queue = consumer_queue(service.kernel.container.service_name, source,
                                       contract.type, fn.__name__)
                park(queue, body, f"catch-up: {type(exc).__name__}: {exc}")
                counts["parked"] += 1
                continue
            counts["applied" if applied else "duplicates"] += 1
        metrics.CATCH_UP_EVENTS.labels(source).inc(len(bodies))
        cursor = result["next"]
        if advance is not None:
            advance(cursor)
        if not result["more"]:
            break
    metrics.CATCH_UPS.labels(source).inc()
    if counts["read"]:
        log.info("caught up with %s in %.1fs: %s", source, time.monotonic() - started, counts)
    counts["next"] = cursor
    return counts
