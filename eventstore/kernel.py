"""The kernel of a service process: one nameko dependency that owns the service's database
pool and its one event store (with its upcasters, used by aggregates, projections, the relay and
consumers alike), migrates the database at start, and runs the service's background work in
the same process: the relay (active in one replica, standby in the others), the projection
runner (when a projection is asynchronous), catch-up with each source's log, the gauges, and
the metrics/health HTTP server.

    class Membership(KernelEntrypoints):
        name = "membership"
        kernel = Kernel(projections=PROJECTIONS, read_model=MembershipReadModel)

What workers get from it is in eventstore.entrypoints.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu
import psycopg2
import psycopg2.errors
from nameko.extensions import DependencyProvider

from . import metrics
from .commands import Session, UnitOfWork
from .config import Settings, check_credentials
from .consumers import DeadLetters, ReliableEventHandler, catch_up, consumer_methods
from .contracts import contracts_of_service
from .db import Database
from .events import RecordedEvent, Upcasters, upcasters_of
from .identity import Identity, check_identity_secret
from .logs import ClientErrorsAreNotFailures
from .migrate import included_in, migrate
from .operations import Operations
from .projections import Projection, ProjectionRunner
from .push import HUB_STATES_SQL, PublicPush
from .readmodel import ReadModel
from .relay import Relay
from .rpc import SignedClusterRpcProxy, signed_rpc
from .store import EventStore

log = logging.getLogger("eventstore.kernel")



class CatchUpSchedule:
    """When to read each source's log next: every ``every`` seconds after a catch-up that
    worked; after one that failed (the source is down, or not deployed yet: a service may
    consume the contract of one still being written), again in 2 seconds, then 4, 8, … up to
    ``every``. Says whether a failure is worth a log line (the first of a run of them, then
    each time the wait has grown to ``every``)."""

    FIRST_RETRY = 2.0

    def __init__(self, sources: list[str], every: float) -> None:
        self.every = every
        self._at = dict.fromkeys(sources, 0.0)
        self._retry: dict[str, float] = {}

    def due(self, now: float) -> list[str]:
        return [source for source, at in self._at.items() if at <= now]

    def next_due(self) -> float:
        return min(self._at.values())

    def succeeded(self, source: str, now: float) -> None:
        self._retry.pop(source, None)
        self._at[source] = now + self.every

    def failed(self, source: str, now: float) -> bool:
        wait = min(self._retry.get(source, self.FIRST_RETRY / 2) * 2, self.every)
        first = source not in self._retry
        self._retry[source] = wait
        self._at[source] = now + wait
        return first or wait >= self.every

class Kernel(DependencyProvider):
    def __init__(self, projections: list[Projection] | None = None,
                 read_model: type[ReadModel] = ReadModel,
                 upcasters: Upcasters | None = None, run_relay: bool = True) -> None:
        self.projections = projections or []
        self.read_model = read_model
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
        self.operations = Operations(service, self.db, self.store, self.dead_letters,
                                     self.projections)
        module = sys.modules[self.container.service_cls.__module__]
        self.migrations = Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]
        # The tables of the modules the service includes (the membership directory) come with
        # them: a base class that declares ``included_migrations``.
        self.included = included_in(self.container.service_cls)

    def start(self) -> None:
        self._migrate_or_exit()
        service = self.container.service_name
        if self.run_relay:
            self.relay = Relay(service, self.settings.database_url, self.settings.amqp_uri,
                               batch_size=self.settings.relay_batch_size,
                               poll_seconds=self.settings.relay_poll_seconds,
                               store=self.store,
                               confirm_timeout=self.settings.relay_confirm_seconds,
                               fence_seconds=self.settings.relay_fence_seconds,
                               push=self.public_push())
            self.container.spawn_managed_thread(self.relay.run, identifier="relay")
        if any(not p.inline for p in self.projections):
            # Inline projections are applied by the commands themselves; only an asynchronous
            # one needs a thread that follows the log.
            self.runner = ProjectionRunner(self.db, self.store, self.projections,
                                           poll_seconds=self.settings.projection_poll_seconds)
            self.container.spawn_managed_thread(self.runner.run, identifier="projections")
        self.container.spawn_managed_thread(self._watch, identifier="gauges")
        if consumer_methods(self.container.service_cls):
            self.container.spawn_managed_thread(self._keep_caught_up, identifier="catch-up")
        if self.settings.metrics_port:
            self.metrics_server = metrics.serve_metrics(self.settings.metrics_port,
                                                        self.health_checks())

    def public_push(self) -> PublicPush | None:
        """The public forms the relay pushes to the agencies (eventstore.push), if any."""
        cls = self.container.service_cls
        contracts = contracts_of_service(cls)
        if not any(c.public is not None for c in contracts):
            return None
        return PublicPush(self.container.service_name, contracts,
                          getattr(cls, "hub_states_sql", HUB_STATES_SQL))

    def _migrate_or_exit(self) -> None:
        """Wait for the database a little (it may be starting too), then give up loudly.

        A service without its database can do nothing; exiting lets the supervisor (the
        runner, compose, systemd) see it, where a nameko container that failed to start would
        leave the process hanging.
        """
        deadline = time.monotonic() + self.settings.startup_timeout_seconds
        while True:
            try:
                applied = migrate(self.settings.database_url, self.migrations,
                                  self.included)
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
        consumer cannot handle is parked as a dead letter and the catch-up goes on. A source
        that is not up is tried again on its own schedule (``CatchUpSchedule``), so one that
        is not deployed yet costs a call now and then, and the others keep theirs."""
        cls = self.container.service_cls
        service = cls.__new__(cls)   # handlers need only the kernel; no worker exists here
        service.kernel = self
        schedule = CatchUpSchedule(
            sorted({contract.source for contract, _ in consumer_methods(cls)}),
            self.settings.catch_up_seconds)
        while not self._stopping.is_set():
            for source in schedule.due(time.monotonic()):
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
                    if schedule.failed(source, time.monotonic()):
                        log.info("catch-up with %s not possible now: %s", source, exc)
                else:
                    schedule.succeeded(source, time.monotonic())
            self._stopping.wait(max(0.0, schedule.next_due() - time.monotonic()))

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

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting in each of the service's consumer queues."""
        queues = self._consumer_queues()
        if not queues:
            return {}
        with kombu.Connection(self.settings.amqp_uri) as conn:
            channel = conn.channel()
            return {queue: channel.queue_declare(queue, passive=True).message_count
                    for queue in queues}

    def spawn(self, work: Callable[[], None]) -> None:
        """Run ``work`` in the service's process beside its workers (an operator's rebuild)."""
        self.container.spawn_managed_thread(work, identifier="operator-work")

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
                for queue, depth in self.queue_depths().items():
                    metrics.CONSUMER_LAG.labels(queue).set(depth)
            except Exception as exc:  # noqa: BLE001 - a gauge is not worth a crash
                log.warning("gauges not refreshed: %s", exc)
