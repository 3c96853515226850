"""Where the kernel meets nameko: one dependency and one set of entrypoints per service.

    class Membership(KernelEntrypoints):
        name = "membership"
        kernel = Kernel(projections=PROJECTIONS, read_model=MembershipReadModel)

        @rpc
        def offboard_member(self, member_id, payload):
            data = load(schemas.Offboarding, payload)
            return self.commands.on(Member, member_id,
                                    lambda member, session: member.offboard(data["reason"]),
                                    view=lambda member, session: schemas.member(member))

``Kernel`` holds the service's database pool and its one event store (with its upcasters, used
by aggregates, projections, the relay and consumers alike), migrates the database at start, and
runs the service's background work in the same process: the relay (active in one replica,
standby in the others), the projection runner, start-up catch-up, and the metrics/health HTTP
server. ``KernelEntrypoints`` gives every worker ``self.caller()`` (the signed identity from the
gateway), ``self.commands`` (load → check access → decide → save, once per Idempotency-Key)
and ``self.read_model`` (the service's queries on behalf of the caller), and adds the RPC
methods every service answers (its log for catch-up, its dead letters).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import amqp
import kombu
import kombu.exceptions
import psycopg2
import psycopg2.errors
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, RpcConsumer

from . import metrics
from .aggregate import Aggregate
from .commands import Session, UnitOfWork
from .config import Settings, check_credentials
from .consumers import (
    DeadLetterParker,
    DeadLetters,
    ReliableEventHandler,
    ReliableQueueConsumer,
    catch_up,
    consumer_methods,
)
from .db import Database
from .errors import ERRORS, ValidationError, rebuild
from .events import RecordedEvent, Upcasters, upcasters_of
from .identity import (
    Access,
    Identity,
    check_identity_secret,
    hub_writers,
    signed_event,
)
from .logs import REQUEST_ID, ClientErrorsAreNotFailures, set_request_id
from .migrate import migrate
from .projections import Projection, ProjectionRunner
from .readmodel import ReadModel
from .relay import Redactor, Relay
from .rpc import RPC_MESSAGE, RPC_REPLY_TO, SignedClusterRpcProxy, caller_of, signed_rpc
from .store import EventStore

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

log = logging.getLogger("eventstore.kernel")


def register_remote_errors() -> None:
    """Let nameko rebuild our errors on the calling side, field errors included."""
    from nameko.exceptions import registry
    for cls in ERRORS.values():
        registry[f"{cls.__module__}.{cls.__name__}"] = functools.partial(rebuild, cls)


register_remote_errors()


BROKER_FAULTS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)


class ReliableRpcConsumer(RpcConsumer):
    """nameko's consumer of a service's RPC queue, except that no message can kill the
    service: nameko answers every request, even one for a method that does not exist, and a
    request with no answer queue or id (which any broker user may publish) made that answer
    raise in the consumer and stop the whole container, and the message, requeued, stopped
    the next one too. Such a request is dropped (no one waits for its answer), a body that is
    not JSON too, and an answer that cannot be sent is logged."""

    queue_consumer = ReliableQueueConsumer()

    def handle_message(self, body, message):
        properties = message.properties
        if not properties.get("reply_to") or not properties.get("correlation_id"):
            log.warning("an RPC request to %s with no answer queue or id was dropped",
                        message.delivery_info.get("routing_key"))
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_FAULTS as fault:
            log.warning("an answer could not be sent (%s: %s); the caller will time out",
                        type(fault).__name__, fault)
            return result, exc_info


class ReliableRpc(Rpc):
    """nameko's RPC entrypoint, hardened for a broker that goes away and for messages no one
    should send (``ReliableRpcConsumer``): an answer that cannot be sent is logged and dropped
    (the caller times out: 503) instead of killing the service's container, and the message's
    id travels with the worker so that a command delivered again (its acknowledgement lost
    with the connection) answers as the first time instead of being applied twice
    (``CommandRunner``)."""

    rpc_consumer = ReliableRpcConsumer()

    def handle_message(self, body, message):
        # The message's id (its AMQP correlation id: the same when RabbitMQ delivers it again,
        # as it does when the answer's acknowledgement was lost) and its reply queue, from the
        # message's properties, over any header of those names a client sent.
        message.headers = {**(message.headers or {}),
                           f"nameko.{RPC_MESSAGE}": message.properties.get("correlation_id"),
                           f"nameko.{RPC_REPLY_TO}": message.properties.get("reply_to")}
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_FAULTS as fault:
            log.warning("the answer to %s could not be sent (%s: %s); the caller will time "
                        "out", worker_ctx.call_id, type(fault).__name__, fault)
            return result, exc_info


rpc = ReliableRpc.decorator


class RequestScope(DependencyProvider):
    """Keeps the id of the request a worker serves in a green-thread local while it runs, so
    every log line of the request carries it (eventstore.logs)."""

    def worker_setup(self, worker_ctx) -> None:
        set_request_id(worker_ctx.data.get(REQUEST_ID))

    def worker_teardown(self, worker_ctx) -> None:
        set_request_id(None)


class Kernel(DependencyProvider):
    def __init__(self, projections: list[Projection] | None = None,
                 read_model: type[ReadModel] = ReadModel, redact: Redactor | None = None,
                 upcasters: Upcasters | None = None, run_relay: bool = True) -> None:
        self.projections = projections or []
        self.read_model = read_model
        self.redact = redact
        self.upcasters = upcasters
        self.run_relay = run_relay
        self.relay: Relay | None = None
        self.runner: ProjectionRunner | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def setup(self) -> None:
        reason = check_identity_secret() or check_credentials(self.container.service_name)
        if reason:
            log.critical("%s refuses to start: %s", self.container.service_name, reason)
            logging.shutdown()
            os._exit(2)
        containers_log = logging.getLogger("nameko.containers")
        if not any(isinstance(f, ClientErrorsAreNotFailures) for f in containers_log.filters):
            containers_log.addFilter(ClientErrorsAreNotFailures())
        import psycogreen.eventlet
        psycogreen.eventlet.patch_psycopg()  # psycopg2 waits cooperatively under eventlet
        service = self.container.service_name
        self.settings = Settings.from_env(service)
        self.db = Database(self.settings.database_url, size=20, application_name=service)
        if self.upcasters is None:
            package = self.container.service_cls.__module__.rpartition(".")[0]
            self.upcasters = upcasters_of(package)
        self.store = EventStore(self.db, service, self.upcasters)
        self.work = UnitOfWork(self.db, self.store, [p for p in self.projections if p.inline],
                               lambda cur, caller: self.read_model(cur, caller, self.store))
        self.dead_letters = DeadLetters(self.db, self.settings.amqp_uri, service)
        module = sys.modules[self.container.service_cls.__module__]
        self.migrations = Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]

    def start(self) -> None:
        self._migrate_or_exit()
        service = self.container.service_name
        if self.run_relay:
            self.relay = Relay(service, self.settings.database_url, self.settings.amqp_uri,
                               batch_size=self.settings.relay_batch_size,
                               poll_seconds=self.settings.relay_poll_seconds,
                               redact=self.redact, store=self.store,
                               confirm_timeout=self.settings.relay_confirm_seconds,
                               fence_seconds=self.settings.relay_fence_seconds)
            self.container.spawn_managed_thread(self.relay.run, identifier="relay")
        if self.projections:
            self.runner = ProjectionRunner(self.db, self.store, self.projections,
                                           poll_seconds=self.settings.projection_poll_seconds)
            self.container.spawn_managed_thread(self.runner.run, identifier="projections")
        self.container.spawn_managed_thread(self._watch, identifier="gauges")
        if consumer_methods(self.container.service_cls):
            self.container.spawn_managed_thread(self._keep_caught_up, identifier="catch-up")
        if self.settings.metrics_port:
            self.metrics_server = metrics.serve_metrics(self.settings.metrics_port,
                                                        self.health_checks())

    def _migrate_or_exit(self) -> None:
        """Wait for the database a little (it may be starting too), then give up loudly.

        A service without its database can do nothing; exiting lets the supervisor (the
        runner, compose, systemd) see it, where a nameko container that failed to start would
        leave the process hanging.
        """
        deadline = time.monotonic() + self.settings.startup_timeout_seconds
        while True:
            try:
                applied = migrate(self.settings.database_url, self.migrations)
                break
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    log.critical("database unreachable, exiting: %s", exc)
                    logging.shutdown()
                    os._exit(3)
                time.sleep(1.0)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))

    def _keep_caught_up(self) -> None:
        """Read what each source published that this service has not handled: at start (a
        service added to a running platform, or a queue that was deleted, learns the past from
        the source's log), then every ``catch_up_seconds``, which keeps the checkpoint per
        source near the head, so a restart re-reads only what may have been missed. An event a
        consumer cannot handle is parked as a dead letter and the catch-up goes on; a source
        that is not up is retried."""
        cls = self.container.service_cls
        service = cls.__new__(cls)   # handlers need only the kernel; no worker exists here
        service.kernel = self
        sources = sorted({contract.source for contract, _ in consumer_methods(cls)})
        while not self._stopping.is_set():
            pending = False
            for source in sources:
                name = f"catch-up:{source}"

                def advance(cursor: list[int], name: str = name) -> None:
                    self.store.save_checkpoint(name, (int(cursor[0]), int(cursor[1])))
                try:
                    with self.rpc_to_services(timeout=30) as cluster:
                        read_page = getattr(cluster, source).read_events
                        catch_up(cls, service, source, read_page,
                                 start=list(self.store.checkpoint(name)), advance=advance,
                                 park=self.dead_letters.park_unhandled)
                except Exception as exc:  # noqa: BLE001 - the source may not be up yet
                    log.info("catch-up with %s not possible now: %s", source, exc)
                    pending = True
            self._stopping.wait(2.0 if pending else self.settings.catch_up_seconds)

    def handled(self, event_ids: list[Any]) -> set[tuple[str, str]]:
        """(consumer, event id) of these events that this service's consumers handled."""
        ids = [i for i in event_ids if isinstance(i, str)]
        if not ids:
            return set()
        def query(cur: Any) -> set[tuple[str, str]]:
            cur.execute("SELECT consumer, event_id::text FROM inbox "
                        "WHERE event_id = ANY(%s::uuid[])", (ids,))
            return set(cur.fetchall())
        try:
            return self.db.with_cursor(query)
        except psycopg2.errors.InvalidTextRepresentation:
            return set()   # an id that is no UUID was handled by no one

    def stop(self) -> None:
        self._stopping.set()
        if self.relay:
            self.relay.stop()
        if self.runner:
            self.runner.stop()
        if getattr(self, "metrics_server", None):
            self.metrics_server.shutdown()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> Kernel:
        return self

    def rpc_to_services(self, timeout: float) -> SignedClusterRpcProxy:
        """A client of other services' kernel RPC methods (catch-up), calling as this service:
        an identity that opens those methods and no hub's objects, signed per message."""
        service = self.container.service_name
        return signed_rpc(self.settings.amqp_uri, Identity.service(service),
                          f"{service}-catch-up", timeout=timeout)

    def handle(self, consumer: str, source: str, event: RecordedEvent,
               work: Callable[[Session], Any]) -> bool:
        """Handle another service's event once (see eventstore.consumers)."""
        caller = Identity.system(self.container.service_name)
        return self.work.handle(consumer, source, event, caller, work)

    @contextmanager
    def reading(self, caller: Identity) -> Iterator[Any]:
        """A read-only transaction on behalf of ``caller``: PostgreSQL's row-level security
        shows it only the rows of the caller's hubs (eventstore/schema/0002_hub_scope.sql)."""
        scope = "*" if caller.all_hubs else (",".join(caller.hubs) or "-")
        with self.db.transaction() as cur:
            cur.execute("SELECT set_config('consortium.hubs', %s, true)", (scope,))
            yield cur

    # -- health and gauges -------------------------------------------------------------------

    def health_checks(self) -> dict[str, metrics.HealthCheck]:
        def database() -> tuple[bool, str]:
            with self.db.connection() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True, "reachable"

        def broker() -> tuple[bool, str]:
            with kombu.Connection(self.settings.amqp_uri, connect_timeout=2) as conn:
                conn.connect()
            return True, "reachable"

        def relay() -> tuple[bool, str]:
            if self.relay is None:
                return True, "not run here"
            return True, "active" if self.relay.active else "standby"

        def log() -> tuple[bool, str]:
            # Held back is latency, not failure: the service itself is healthy, the horizon is
            # the server's (an alert watches the gauges).
            events, seconds = self.store.held_back()
            return True, (f"{events} committed events held back for {seconds:.0f}s by an open "
                          "transaction on the server" if events else "readable to the head")

        return {"database": database, "broker": broker, "relay": relay, "log": log}

    def _consumer_queues(self) -> list[str]:
        return [e.queue.name for e in self.container.entrypoints
                if isinstance(e, ReliableEventHandler) and getattr(e, "queue", None)]

    def _watch(self) -> None:
        """Refresh the gauges that need a query: how far the log is held back, consumer lag
        and waiting dead letters."""
        service = self.container.service_name
        last_pruned = 0.0
        while not self._stopping.wait(self.settings.gauge_seconds):
            try:
                if time.monotonic() - last_pruned > 3600:
                    self.store.forget_keys(self.settings.idempotency_days)
                    last_pruned = time.monotonic()
                events, seconds = self.store.held_back()
                metrics.LOG_HELD_BACK_EVENTS.labels(service).set(events)
                metrics.LOG_HELD_BACK_SECONDS.labels(service).set(seconds)
                metrics.DEAD_LETTERS_WAITING.labels(service).set(self.dead_letters.waiting())
                queues = self._consumer_queues()
                if queues:
                    with kombu.Connection(self.settings.amqp_uri) as conn:
                        channel = conn.channel()
                        for queue in queues:
                            depth = channel.queue_declare(queue, passive=True).message_count
                            metrics.CONSUMER_LAG.labels(queue).set(depth)
            except Exception as exc:  # noqa: BLE001 - a gauge is not worth a crash
                log.warning("gauges not refreshed: %s", exc)


class Caller(DependencyProvider):
    """``self.caller()`` in a worker: the identity the gateway put in the call context.

    Lazy, so that calls which need no identity (catch-up, dead letters) do not fail on it.
    """

    def get_dependency(self, worker_ctx) -> Callable[[], Identity]:
        return lambda: caller_of(worker_ctx)


# What the gateway passes with a command besides the caller (nameko carries context data to
# the service as message headers): the HTTP request's Idempotency-Key and If-Match, and the
# moment (epoch seconds) after which it will have answered 503 and nothing may commit.
IDEMPOTENCY_KEY = "idempotency_key"
IF_MATCH = "if_match"
DEADLINE = "deadline"


class CommandRunner:
    """One command of one worker: load what it is about, check the caller may change it,
    decide, save (eventstore.commands.UnitOfWork). The Idempotency-Key and If-Match come from
    the call context, the idempotency fingerprint from the request itself (the entrypoint and
    its arguments), so no command lists what makes it 'the same'."""

    def __init__(self, kernel: Kernel, worker_ctx: Any) -> None:
        self.kernel = kernel
        self.worker_ctx = worker_ctx

    def on(self, what: type[A] | Callable[[Session, str], T], id_: str,
           decide: Callable[[Any, Session], Any],
           view: Callable[[Any, Session], Any] | None = None, *,
           access: Access = hub_writers, summary: Callable[[Any], Any] | None = None,
           changes_target: bool = True) -> Any:
        """A command on one object: ``what`` is an aggregate class, or a function that finds
        the object in the session (a record another service told about). ``decide(target,
        session)`` lets the domain decide and returns what ``view(result, session)`` answers
        (the target itself when it returns None). ``summary(answer)`` is what an Idempotency-Key
        keeps of an answer too large to keep whole (eventstore.commands.RECORD_LIMIT_BYTES),
        when the answer is not an aggregate the log can render again. ``changes_target=False``
        says the command only adds something under its target (enrolling a member in a hub):
        it need not queue behind the target's writers."""
        if isinstance(what, type) and issubclass(what, Aggregate):
            aggregate = what

            def find(session: Session) -> Any:
                return session.load(aggregate, str(id_))
        else:
            def find(session: Session) -> Any:
                return what(session, str(id_))  # type: ignore[call-arg]

        def locate(session: Session) -> Any:
            target = find(session)
            access(session.caller, target)
            return target
        return self._run(locate, decide, view, summary, queue=changes_target)

    def new(self, decide: Callable[[None, Session], Any],
            view: Callable[[Any, Session], Any] | None = None, *,
            access: Callable[[Identity], None],
            summary: Callable[[Any], Any] | None = None) -> Any:
        """A command about nothing that exists yet (registering a hub): ``access`` checks the
        caller alone."""
        def locate(session: Session) -> None:
            access(session.caller)
        return self._run(locate, decide, view, summary)

    def _run(self, locate: Callable[[Session], Any], decide: Callable[[Any, Session], Any],
             view: Callable[[Any, Session], Any] | None,
             summary: Callable[[Any], Any] | None = None, queue: bool = True) -> Any:
        ctx = self.worker_ctx
        caller = caller_of(ctx)
        key = ctx.data.get(IDEMPOTENCY_KEY)
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
            raise ValidationError("Idempotency-Key must be 1 to 200 characters",
                                  {"Idempotency-Key": ["1 to 200 characters"]})
        if key is None and ctx.data.get(RPC_MESSAGE):
            # No key from the client: the RPC message's own id is one, so a message delivered
            # twice is applied once.
            key = f"rpc:{ctx.data[RPC_MESSAGE]}"
        expected = _if_match(ctx.data.get(IF_MATCH))
        deadline = _deadline(ctx.data.get(DEADLINE))
        request = [ctx.service_name, ctx.entrypoint.method_name, list(ctx.args), ctx.kwargs]
        # The events the request causes carry its id: an operator follows it from the HTTP
        # answer through every service's log to the log of events.
        metadata = {"correlation_id": ctx.data[REQUEST_ID]} if ctx.data.get(REQUEST_ID) else {}

        def decided(target: Any, session: Session) -> Any:
            result = decide(target, session)
            return target if result is None else result

        def answer(result: Any, session: Session) -> Any:
            return result if view is None else view(result, session)

        return self.kernel.work.command(caller, locate, decided, answer, key=key,
                                        request=request, expected_version=expected,
                                        deadline=deadline, metadata=metadata, summary=summary,
                                        queue=queue)


def _deadline(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        raise ValidationError("the call's deadline is not a time") from None


def _if_match(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError('If-Match is an ETag like "3"',
                              {"If-Match": ['an ETag like "3"']}) from None


class Commands(DependencyProvider):
    """``self.commands`` in a worker: ``on(...)`` and ``new(...)`` (``CommandRunner``)."""

    def get_dependency(self, worker_ctx) -> CommandRunner:
        return CommandRunner(_kernel_of(self.container), worker_ctx)


class ReadModelAccess(DependencyProvider):
    """``self.read_model`` in a worker: the service's read model (``Kernel(read_model=...)``)
    in a read-only transaction on behalf of the caller, opened at the first query and ended
    with the worker."""

    def setup(self) -> None:
        self._open: dict[Any, Any] = {}

    def get_dependency(self, worker_ctx) -> ReadModel:
        kernel = _kernel_of(self.container)

        def open_transaction() -> Any:
            stack = ExitStack()
            self._open[worker_ctx] = stack
            return stack.enter_context(kernel.reading(caller))

        caller: Any = _LazyCaller(worker_ctx)   # an Identity, read when first needed
        return kernel.read_model(open_transaction, caller, kernel.store)

    def worker_teardown(self, worker_ctx) -> None:
        stack = self._open.pop(worker_ctx, None)
        if stack is not None:
            stack.close()


class _LazyCaller:
    """The worker's caller, read from the context when a query first needs it."""

    def __init__(self, worker_ctx: Any) -> None:
        self._ctx = worker_ctx
        self._identity: Identity | None = None

    def __getattr__(self, name: str) -> Any:
        if self._identity is None:
            self._identity = caller_of(self._ctx)
        return getattr(self._identity, name)


def _kernel_of(container: Any) -> Kernel:
    for dependency in container.dependencies:
        if isinstance(dependency, Kernel):
            return dependency
    raise TypeError(f"{container.service_name} needs a Kernel() dependency")


class KernelEntrypoints:
    """The dependencies every service's workers use, the RPC methods every service answers,
    and the parker of its dead letters."""

    kernel: Kernel
    if TYPE_CHECKING:   # what a worker sees (nameko injects it in place of the provider)
        caller: Callable[[], Identity]
        commands: CommandRunner
        read_model: ReadModel
    else:
        caller = Caller()
        commands = Commands()
        read_model = ReadModelAccess()
        request_scope = RequestScope()

    @rpc
    def ping(self) -> dict[str, bool]:
        """The gateway's readiness probe: the service takes RPC calls. Needs no identity, so
        an anonymous probe puts none on the bus, and tells nothing but that."""
        return {"ok": True}

    @rpc
    def read_events(self, after: list[int], limit: int = 500,
                    types: list[str] | None = None) -> dict[str, Any]:
        """A page of this service's log after the cursor ``after`` (catch-up, feeds): every
        hub's events, so only for the platform itself. The answer is signed for this request
        (``verify_page``): a catch-up keeps its ``next`` as its checkpoint."""
        from .identity import signed_page
        self.caller().require_platform()
        limit = max(1, min(int(limit), 5000))
        store = self.kernel.store
        start = [int(after[0]), int(after[1])]
        batch = store.read_all((start[0], start[1]), limit)
        wanted = set(types) if types else None
        service = self.kernel.container.service_name
        return signed_page(service, start, types, {
            "events": [signed_event(e.to_message(service)) for e in batch
                       if wanted is None or e.type in wanted],
            "next": list(batch[-1].cursor) if batch else start,
            "more": len(batch) == limit,
        })

    @rpc
    def catch_up(self, source: str) -> dict[str, int]:
        """Re-read ``source``'s log through this service's consumers of it (inbox dedups)."""
        self.caller().require_platform()
        with self.kernel.rpc_to_services(timeout=60) as cluster:
            proxy = getattr(cluster, source)
            return catch_up(type(self), self, source,
                            lambda after, limit, types: proxy.read_events(after, limit, types))

    @rpc
    def dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        self.caller().require_platform()
        letters = self.kernel.dead_letters.list(include_replayed)
        for letter in letters:
            for key in ("parked_at", "replayed_at"):
                if letter[key] is not None:
                    letter[key] = letter[key].isoformat()
        return letters

    @rpc
    def replay_dead_letter(self, letter_id: int) -> None:
        self.caller().require_platform()
        self.kernel.dead_letters.replay(int(letter_id))

    @DeadLetterParker.decorator
    def park_dead_letter(self, body: Any, headers: dict[str, Any]) -> None:
        self.kernel.dead_letters.park(body, headers)
