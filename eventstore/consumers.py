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

import datetime
import decimal
import functools
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable
from typing import Any

import eventlet
import kombu
import psycopg2
from kombu import Exchange, Queue, binding
from nameko.events import EventHandler
from nameko.messaging import Consumer, QueueConsumer
from nameko.rpc import RpcConsumer

from . import metrics
from .broker import DEAD_LETTER_EXCHANGE, ensure_exchange
from .config import Settings
from .contracts import Published
from .db import Database
from .errors import Conflict, ForgedEvent, NotFound, PoisonMessage
from .events import RecordedEvent
from .identity import verify_event, verify_page

log = logging.getLogger("eventstore.consumers")

# Why, and from which queue, a message the service parked itself died.
REASON_HEADER = "x-consortium-reason"
QUEUE_HEADER = "x-consortium-queue"
# A fault tests inject into a real process (tests/integration/test_process.py); unset in use.
FAILPOINT = os.environ.get("CONSORTIUM_FAILPOINT", "")
# The database is down (or the connection broke): parking again later may succeed. Any other
# failure to park a message as received is its content, which no retry changes.
DATABASE_DOWN = (psycopg2.OperationalError, psycopg2.InterfaceError)
# The parker's pause before a dead letter it could not park goes back to its queue: doubling
# from the first, up to the last, so an outage never turns into a hot redelivery loop.
PARK_RETRY_SECONDS = (0.1, 5.0)


def dead_letter_queue(service: str) -> str:
    return f"dead-letters.{service}"


def replay_exchange(service: str) -> Exchange:
    return Exchange(f"{service}.replays", type="direct", durable=True)


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
        if isinstance(provider, RpcConsumer):
            # A request no one can read has no one to answer either: dropped, and said so.
            log.warning("an RPC request that is not JSON was dropped: %s", exc)
            self.ack_message(message)
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
        # The source's exchange is the source's: bind to it, never declare it (a declare needs
        # a permission that would also let this service delete it; eventstore.broker).
        ensure_exchange(self.container.config["AMQP_URI"], plain.exchange.name)
        source = Exchange(plain.exchange.name, type="topic", durable=True, no_declare=True)
        self.queue = Queue(
            plain.name, durable=True,
            # The source's events, and where an operator's replay of a dead letter comes back
            # in (DeadLetters.replay).
            bindings=[binding(source, routing_key=self.event_type),
                      binding(replay_exchange(service), routing_key=plain.name)],
            queue_arguments={
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
        self._failures = 0   # parks that failed in a row (the database is down)

    def setup(self) -> None:
        service = self.container.service_name
        declare_dead_letter_route(self.container.config["AMQP_URI"], service)
        self.queue = Queue(dead_letter_queue(service),
                           Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
                           routing_key=service, durable=True)
        super().setup()

    def handle_message(self, body, message):
        # The worker needs the headers (x-death says where and why the message died).
        headers = message.headers if isinstance(message.headers, dict) else {}
        handle_result = functools.partial(self.handle_result, message)
        self.container.spawn_worker(self, (body, dict(headers)), {},
                                    context_data={}, handle_result=handle_result)

    def handle_message_processed(self, message, result=None, exc_info=None):
        # ``DeadLetters.park`` parks whatever it is given (a minimal record when the message
        # cannot be stored as received), so a failure here is the database: the message goes
        # back to the queue after a pause that grows while the failures go on.
        if exc_info is None:
            self._failures = 0
        else:
            self._failures += 1
            first, most = PARK_RETRY_SECONDS
            pause = min(first * 2 ** (self._failures - 1), most)
            metrics.CONSUMER_HANDLED.labels(self.method_name, "failed").inc()
            log.warning("could not park a dead letter now (%s: %s); it goes back to the queue "
                        "in %.1fs", type(exc_info[1]).__name__, exc_info[1], pause)
            eventlet.sleep(pause)
        super().handle_message_processed(message, result, exc_info)


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
    return body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else str(body)


def _storable(text: str) -> str:
    """``text`` as PostgreSQL can store it: a NUL character or a lone surrogate escaped
    (``\\x00``, ``\\udc80``), as bytes that are not UTF-8 are by ``_text``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _header_text(value: Any, limit: int = 1000) -> str:
    """A header's value as storable text, whatever its type ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, (str, bytes)):
        return _storable(_text(value))[:limit]
    return _storable(repr(value))[:limit]


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A header's value (any AMQP table value: text, bytes, numbers, decimals, timestamps,
    tables, arrays) as JSON that jsonb takes: no NaN, no NUL, no lone surrogate."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (str, bytes)):
        return _storable(_text(value))
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if depth < 20 and isinstance(value, dict):
        return {_header_text(k, 200): _jsonable(v, depth + 1) for k, v in value.items()}
    if depth < 20 and isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    return _header_text(value, 10_000)


def _first_death(headers: dict[Any, Any]) -> dict[Any, Any]:
    """The latest entry of RabbitMQ's ``x-death`` header ({} when it is missing or is not the
    list of tables RabbitMQ writes: anyone may publish to the dead-letter exchange)."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list):
        deaths = deaths[0] if deaths else None
    return deaths if isinstance(deaths, dict) else {}


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

    def park(self, body: Any, headers: Any) -> int:
        """Store a dead letter, whatever it holds: anyone who may publish to the dead-letter
        exchange can send anything. Text PostgreSQL cannot store is escaped; a message that
        still cannot be stored as received is parked as a minimal record that says why.
        Raises only when the database is down (the parker tries again later)."""
        try:
            row = self._letter(body, headers if isinstance(headers, dict) else {})
            return self._insert(*row)
        except DATABASE_DOWN:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it is, no retry would change it
            try:
                text = ascii(body)
            except Exception:  # noqa: BLE001 - a body even repr cannot show
                text = f"<a body of type {type(body).__name__}>"
            reason = _storable(f"could not be parked as received: {type(exc).__name__}: {exc}")
            return self._insert("", "", "", text, "{}", reason[:1000], None)

    def _letter(self, body: Any, headers: dict[Any, Any]) -> tuple[Any, ...]:
        """(queue, exchange, routing key, body, headers, reason, event id) to store."""
        death = _first_death(headers)
        # Parked by the service itself (a poison message): the reason is its own.
        queue = headers.get(QUEUE_HEADER) or death.get("queue")
        reason = headers.get(REASON_HEADER) or death.get("reason") or "unknown"
        routing_keys = death.get("routing-keys")
        routing_key = (routing_keys[0] if isinstance(routing_keys, list) and routing_keys
                       else routing_keys)
        event_id = body.get("event_id") if isinstance(body, dict) else None
        kept = {k: v for k, v in headers.items()
                if not (isinstance(k, str) and k.startswith("x-"))}
        text = json.dumps(body) if isinstance(body, (dict, list)) else _storable(_text(body))
        try:
            kept_json = json.dumps(_jsonable(kept), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            kept_json = json.dumps({"repr": _header_text(kept, 10_000)})
        return (_header_text(queue), _header_text(death.get("exchange")),
                _header_text(routing_key), text, kept_json, _header_text(reason),
                None if event_id is None else _header_text(event_id, 200))

    def _insert(self, queue: str, exchange: str, routing_key: str, body: str, headers: str,
                reason: str, event_id: str | None) -> int:
        with self.db.transaction() as tx:
            tx.execute(
                """INSERT INTO dead_letters (queue, exchange, routing_key, body, headers, reason,
                                             event_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (queue, exchange, routing_key, body, headers, reason, event_id))
            letter_id = tx.fetchone()[0]
        metrics.DEAD_LETTERS_PARKED.labels(self.service).inc()
        log.warning("parked dead letter %s from %s (event %s): %s", letter_id, queue, event_id,
                    reason)
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
            if not re.fullmatch(rf"evt-.+--{re.escape(self.service)}\.\w+", queue):
                raise Conflict(f"dead letter {letter_id} died in {queue!r}, no consumer "
                               f"queue of {self.service}: it cannot be replayed there")
            # Through the service's own replay exchange, where each of its consumer queues is
            # bound by name: never the default exchange, which reaches any queue at all.
            with kombu.Connection(self.amqp_uri,
                                  transport_options={"confirm_publish": True}) as conn:
                kombu.Producer(conn.channel()).publish(
                    body.encode(), exchange=replay_exchange(self.service), routing_key=queue,
                    headers=headers, content_type="application/json",
                    content_encoding="utf-8", delivery_mode=2)
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

    Every page must be signed by the source for this very request (``verify_page``), follow
    the cursor it was asked for, and hold only events the source signed; a page that does not
    stops the catch-up (``ForgedEvent``) before anything of it is handled, so the checkpoint
    stays where it was and the next catch-up asks again. An event of a type no consumer here
    handles is skipped. Events the inbox shows handled are skipped with one query per page.
    ``advance(cursor)`` is told after every page (the kernel keeps its checkpoint there). With
    ``park``, an event a consumer cannot handle is parked as a dead letter (``park(queue, body,
    reason)``) and the catch-up goes on; without it, the failure stops the catch-up.
    """
    handlers = {contract.type: (contract, fn) for contract, fn in consumer_methods(service_cls)
                if contract.source == source}
    types = sorted(handlers)
    cursor = [int(c) for c in (start or [0, 0])]
    counts: dict[str, Any] = {"read": 0, "applied": 0, "duplicates": 0, "parked": 0,
                              "skipped": 0}
    started = time.monotonic()
    while True:
        result = read_page(cursor, page, types)
        try:
            verify_page(result, source, cursor, types)
            bodies, following, more = _page_after(result, cursor, source)
            for body in bodies:
                verify_event(body, source)
        except ForgedEvent as exc:
            log.warning("catch-up with %s stopped at %s: %s; the checkpoint stays there and "
                        "the next catch-up asks again", source, cursor, exc)
            raise
        handled = service.kernel.handled([b.get("event_id") for b in bodies])
        for body in bodies:
            counts["read"] += 1
            spec = handlers.get(str(body.get("type")))
            if spec is None:   # the source's own event, of a type no consumer here takes
                counts["skipped"] += 1
                continue
            contract, fn = spec
            if (fn.__name__, body.get("event_id")) in handled:
                counts["duplicates"] += 1
                continue
            try:
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
        cursor = following
        if advance is not None:
            advance(cursor)
        if not more:
            break
    metrics.CATCH_UPS.labels(source).inc()
    if counts["read"]:
        log.info("caught up with %s in %.1fs: %s", source, time.monotonic() - started, counts)
    counts["next"] = cursor
    return counts


def _cursor(value: Any) -> tuple[int, int] | None:
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return (value[0], value[1])
    return None


def _page_after(result: dict[str, Any], after: list[int],
                source: str) -> tuple[list[dict[str, Any]], list[int], bool]:
    """(events, next, more) of a page of ``source``'s log asked for after the cursor ``after``,
    when they follow it: every event after ``after``, in log order, up to ``next``; ``next``
    not behind ``after``, and past it when the page has events or says more follow (else a
    catch-up would skip events, or ask for the same page for ever)."""
    bodies, following, more = result.get("events"), _cursor(result.get("next")), \
        result.get("more")
    start = (after[0], after[1])
    if not isinstance(bodies, list) or following is None or not isinstance(more, bool):
        raise ForgedEvent(f"a page of {source}'s log that is not one")
    if following < start or (following == start and (bodies or more)):
        raise ForgedEvent(f"a page of {source}'s log whose next {list(following)} does not "
                          f"follow {list(start)}")
    previous = start
    for body in bodies:
        at = (_cursor([body.get("tx_id"), body.get("position")]) if isinstance(body, dict)
              else None)
        if at is None or not previous < at <= following:
            raise ForgedEvent(f"a page of {source}'s log after {list(start)} with an event "
                              f"out of place")
        previous = at
    return bodies, list(following), more
