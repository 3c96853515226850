"""Where the kernel meets nameko: one dependency and one set of entrypoints per service.

    class Membership(KernelEntrypoints):
        name = "membership"
        kernel = Kernel(projections=PROJECTIONS, redact=redact)

``Kernel`` gives workers the database pool and the event store, migrates the database at start,
and runs the service's background work in the same process: the relay (active in one replica,
standby in the others), the projection runner, and the metrics/health HTTP server.
``KernelEntrypoints`` adds the RPC methods every service answers (its log for catch-up, its
dead letters) and parks its dead letters.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import kombu
import psycopg2
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy

from . import metrics
from .aggregate import Aggregate, Repository
from .commands import Session, run_command
from .config import Settings
from .consumers import (
    DeadLetterParker,
    DeadLetters,
    ReliableEventHandler,
    catch_up,
    consumer_methods,
)
from .db import Database
from .errors import ERRORS, ConsortiumError, NotFound, rebuild
from .events import Upcasters
from .identity import CONTEXT_KEY, Identity, check_identity_secret
from .migrate import migrate
from .projections import Projection, ProjectionRunner
from .relay import Redactor, Relay
from .store import EventStore

A = TypeVar("A", bound=Aggregate)

log = logging.getLogger("eventstore.kernel")


def register_remote_errors() -> None:
    """Let nameko rebuild our errors on the calling side, field errors included."""
    from nameko.exceptions import registry
    for cls in ERRORS.values():
        registry[f"{cls.__module__}.{cls.__name__}"] = functools.partial(rebuild, cls)


register_remote_errors()


class ClientErrorsAreNotFailures(logging.Filter):
    """nameko logs every exception a worker raised with its traceback at ERROR. A refused
    request (bad input, not found, a conflict: a ConsortiumError below 500) is the service
    working, not failing: one INFO line, so the log's errors and tracebacks are the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ConsortiumError) and exc.status < 500:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
            worker = record.args[0] if isinstance(record.args, tuple) and record.args else ""
            record.msg, record.args = "refused %s: %s %s", (worker, type(exc).__name__,
                                                             exc.detail)
        return True


class Kernel(DependencyProvider):
    def __init__(self, projections: list[Projection] | None = None,
                 redact: Redactor | None = None, upcasters: Upcasters | None = None,
                 run_relay: bool = True) -> None:
        self.projections = projections or []
        self.redact = redact
        self.upcasters = upcasters or Upcasters()
        self.run_relay = run_relay
        self.relay: Relay | None = None
        self.runner: ProjectionRunner | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def setup(self) -> None:
        reason = check_identity_secret()
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
        self.store = EventStore(self.db, service, self.upcasters)
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
                               redact=self.redact)
            self.container.spawn_managed_thread(self.relay.run, identifier="relay")
        if self.projections:
            self.runner = ProjectionRunner(self.db, service, self.projections,
                                           poll_seconds=self.settings.projection_poll_seconds)
            self.container.spawn_managed_thread(self.runner.run, identifier="projections")
        self.container.spawn_managed_thread(self._watch, identifier="gauges")
        if consumer_methods(self.container.service_cls):
            self.container.spawn_managed_thread(self._catch_up_on_start, identifier="catch-up")
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

    def _catch_up_on_start(self) -> None:
        """Read what each source published while this service was not listening: a service
        added to a running platform, or a queue that was deleted, learns the past from the
        source's log (the inbox makes it safe to repeat). A checkpoint per source keeps
        restarts cheap; a source that is not up yet is retried."""
        cls = self.container.service_cls
        service = cls.__new__(cls)   # handlers get the kernel; no worker exists here
        setattr(service, next(n for n in dir(cls) if isinstance(getattr(cls, n, None), Kernel)),
                self)
        config = {"AMQP_URI": self.settings.amqp_uri}
        for source in sorted({src for src, _, _ in consumer_methods(cls)}):
            name = f"catch-up:{source}"
            while not self._stopping.is_set():
                try:
                    with ClusterRpcProxy(config, timeout=30) as cluster:
                        read_page = getattr(cluster, source).read_events
                        result = catch_up(self.db, cls, service, source, read_page,
                                          start=list(self.store.checkpoint(name)))
                    self.store.save_checkpoint(name, tuple(result["next"]))
                    break
                except Exception as exc:  # noqa: BLE001 - the source may not be up yet
                    log.info("catch-up with %s not possible yet: %s", source, exc)
                    self._stopping.wait(2.0)

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

    @contextmanager
    def reading(self, caller: Identity) -> Iterator[Any]:
        """A read-only transaction on behalf of ``caller``: PostgreSQL's row-level security
        shows it only the rows of the caller's hubs (eventstore/schema/0002_hub_scope.sql)."""
        scope = "*" if caller.all_hubs else (",".join(caller.hubs) or "-")
        with self.db.transaction() as cur:
            cur.execute("SELECT set_config('consortium.hubs', %s, true)", (scope,))
            yield cur

    def command(self, caller: Identity, run: Callable[[Session], Any], key: str | None = None,
                request: Any = None) -> Any:
        """Run a command in one transaction (see eventstore.commands)."""
        inline = [p for p in self.projections if p.inline]
        return run_command(self.db, self.store, inline, caller, run, key, request)

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

        return {"database": database, "broker": broker, "relay": relay}

    def _consumer_queues(self) -> list[str]:
        return [e.queue.name for e in self.container.entrypoints
                if isinstance(e, ReliableEventHandler) and getattr(e, "queue", None)]

    def _watch(self) -> None:
        """Refresh the gauges that need a query: consumer lag and waiting dead letters."""
        service = self.container.service_name
        while not self._stopping.wait(5.0):
            try:
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
        return lambda: Identity.from_header(worker_ctx.data.get(CONTEXT_KEY))


PAGE_MAX = 200


def new_id(prefix: str) -> str:
    """A server-chosen id, like ``mem-3f9a0c1b2d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def page_limit(limit: Any) -> int:
    try:
        return max(1, min(int(limit), PAGE_MAX))
    except (TypeError, ValueError):
        return 50


def page(items: list[dict], more: bool) -> dict:
    """A list answer: the items and the cursor of the next page (API.md)."""
    return {"items": items, "next": items[-1]["id"] if more and items else None}


class KernelEntrypoints:
    """RPC methods and the dead-letter parker that every service has, and the loading of an
    aggregate on behalf of the caller that every service does."""

    kernel: Kernel
    caller: Caller

    def load(self, session: Session, aggregate: type[A], id_: str, what: str) -> A:
        """An aggregate for a command; another hub's is as unknown as a missing one."""
        try:
            instance = session.load(aggregate, str(id_))
        except NotFound:
            raise NotFound(f"no {what} {id_}") from None
        session.caller.require_read(instance.hub_id, what)
        return instance

    def read(self, aggregate: type[A], id_: str, what: str, cur: Any = None) -> A:
        """An aggregate for a read, checked against the caller like ``load``."""
        try:
            instance = Repository(self.kernel.store, aggregate).load(str(id_), cur)
        except NotFound:
            raise NotFound(f"no {what} {id_}") from None
        self.caller().require_read(instance.hub_id, what)
        return instance

    @rpc
    def read_events(self, after: list[int], limit: int = 500,
                    types: list[str] | None = None) -> dict[str, Any]:
        """A page of this service's log after the cursor ``after`` (catch-up, feeds)."""
        limit = max(1, min(int(limit), 5000))
        store = self.kernel.store
        batch = store.read_all((int(after[0]), int(after[1])), limit)
        wanted = set(types) if types else None
        service = self.kernel.container.service_name
        return {
            "events": [e.to_message(service) for e in batch
                       if wanted is None or e.type in wanted],
            "next": list(batch[-1].cursor) if batch else [int(after[0]), int(after[1])],
            "more": len(batch) == limit,
        }

    @rpc
    def catch_up(self, source: str) -> dict[str, int]:
        """Re-read ``source``'s log through this service's consumers of it (inbox dedups)."""
        config = {"AMQP_URI": self.kernel.settings.amqp_uri}
        with ClusterRpcProxy(config, timeout=60) as cluster:
            proxy = getattr(cluster, source)
            return catch_up(self.kernel.db, type(self), self, source,
                            lambda after, limit, types: proxy.read_events(after, limit, types))

    @rpc
    def dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        letters = self.kernel.dead_letters.list(include_replayed)
        for letter in letters:
            for key in ("parked_at", "replayed_at"):
                if letter[key] is not None:
                    letter[key] = letter[key].isoformat()
        return letters

    @rpc
    def replay_dead_letter(self, letter_id: int) -> None:
        self.kernel.dead_letters.replay(int(letter_id))

    @DeadLetterParker.decorator
    def park_dead_letter(self, body: Any, headers: dict[str, Any]) -> None:
        self.kernel.dead_letters.park(body, headers)
