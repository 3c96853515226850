"""Projections: read models kept from a service's own log, checkpointed, rebuildable.

    class MembersView(Projection):
        name = "members"
        tables = ("members_view",)

        @handles("MemberEnrolled")
        def enrolled(self, cur, event):
            cur.execute("INSERT INTO members_view ...", ...)

The runner applies each batch of events and advances the projection's checkpoint in one
transaction, so a crash never applies an event twice or skips one. The checkpoint row is locked
for the batch, so replicas of a service can all run the runner safely. ``rebuild`` builds the
tables again beside the live ones, in short batches, and swaps them in (eventstore/rebuild.py):
readers are served from the current read model all along, and nothing committed meanwhile is
lost.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from . import metrics
from .db import Database
from .events import RecordedEvent
from .store import EventStore

log = logging.getLogger("eventstore.projections")

Handler = Callable[[Any, Any, RecordedEvent], None]
# A projection's handler: (self, cur, event) for a Projection, (self, event) yielding rows for
# a RowProjection.
H = TypeVar("H", bound=Callable[..., Any])


def handles(*event_types: str) -> Callable[[H], H]:
    def mark(fn: H) -> H:
        fn.__handles__ = event_types  # type: ignore[attr-defined]
        return fn
    return mark


class Projection:
    name: ClassVar[str] = ""
    tables: ClassVar[tuple[str, ...]] = ()
    # Inline projections are applied in the transaction of the command that records the event
    # (so a write is visible to the next read); the runner only rebuilds them.
    inline: ClassVar[bool] = False
    _handlers: ClassVar[dict[str, Handler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for event_type in getattr(attr, "__handles__", ()):
                    handlers[event_type] = attr
        cls._handlers = handlers

    @property
    def checkpoint_name(self) -> str:
        return f"projection:{self.name}"

    def apply(self, cur: Any, event: RecordedEvent) -> bool:
        handler = self._handlers.get(event.type)
        if handler is None:
            return False
        handler(self, cur, event)
        return True

    def apply_batch(self, cur: Any, events: list[RecordedEvent]) -> int:
        """Apply events in log order; a projection may override this to write in bulk (a
        rebuild replays the whole log through it)."""
        return sum(self.apply(cur, event) for event in events)


class RowProjection(Projection):
    """A projection whose handlers only add rows: each returns ``(table, row)`` pairs, and a
    batch of events becomes one multi-row INSERT per table.

        @handles("MeasurementRecorded")
        def measured(self, event):
            yield "measurements_view", {"position": event.position, ...}
    """

    def apply(self, cur: Any, event: RecordedEvent) -> bool:
        return self.apply_batch(cur, [event]) > 0

    def apply_batch(self, cur: Any, events: list[RecordedEvent]) -> int:
        from psycopg2.extras import execute_values
        tables: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        applied = 0
        for event in events:
            # A row handler takes (self, event) and yields rows, unlike Handler.
            handler: Any = self._handlers.get(event.type)
            if handler is None:
                continue
            applied += 1
            for table, row in handler(self, event):
                tables.setdefault((table, tuple(row)), []).append(tuple(row.values()))
        for (table, columns), rows in tables.items():
            execute_values(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s", rows,
                           page_size=1000)
        return applied


def load_projections(module: str) -> list[Projection]:
    """The ``PROJECTIONS`` list of a service's projections module."""
    return list(importlib.import_module(module).PROJECTIONS)


class ProjectionRunner:
    def __init__(self, db: Database, store: EventStore, projections: list[Projection],
                 batch_size: int = 1000, poll_seconds: float = 0.05) -> None:
        self.db = db
        self.store = store
        self.projections = projections
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()

    @property
    def asynchronous(self) -> list[Projection]:
        return [p for p in self.projections if not p.inline]

    def run_once(self, projection: Projection) -> int:
        """Apply the next batch; return how many events were read."""
        with self.db.transaction() as cur:
            cursor = self.store.checkpoint(projection.checkpoint_name, cur, lock=True)
            batch = self.store.read_all(cursor, self.batch_size, cur)
            applied = projection.apply_batch(cur, batch)
            if batch:
                self.store.save_checkpoint(projection.checkpoint_name, batch[-1].cursor, cur)
        metrics.PROJECTION_APPLIED.labels(projection.name).inc(applied)
        return len(batch)

    def catch_up(self, projection: Projection | None = None) -> int:
        """Run until the projections are at the head of the log; return events read."""
        total = 0
        for p in [projection] if projection else self.asynchronous:
            while (n := self.run_once(p)) > 0:
                total += n
        return total

    def rebuild(self, *projections: Projection,
                progress: Callable[[int], None] | None = None) -> int:
        """Build the projections' tables again from the whole log beside the live ones and swap
        them in (eventstore/rebuild.py): readers are served all along, nothing committed
        meanwhile is lost. Returns the number of events replayed."""
        from .rebuild import rebuild
        return rebuild(self.db.url, self.store, list(projections), progress=progress)

    def lag(self, projection: Projection) -> int:
        cursor = self.store.checkpoint(projection.checkpoint_name)
        return self.store.count_after(cursor, 100_000)

    def run(self) -> None:
        """Keep every projection at the head until ``stop()``; errors are logged and retried."""
        last_lag = 0.0
        while not self.stopping.is_set():
            busy = False
            for projection in self.asynchronous:
                try:
                    busy = self.run_once(projection) == self.batch_size or busy
                except Exception:  # noqa: BLE001 - a broken projection must not stop the others
                    log.exception("projection %s failed; retrying", projection.name)
                    self.stopping.wait(1.0)
            if time.monotonic() - last_lag > 2.0:
                for projection in self.asynchronous:
                    try:
                        metrics.PROJECTION_LAG.labels(projection.name).set(self.lag(projection))
                    except Exception:  # noqa: BLE001
                        log.exception("projection lag of %s unknown", projection.name)
                last_lag = time.monotonic()
            if not busy:
                self.stopping.wait(self.poll_seconds)

    def stop(self) -> None:
        self.stopping.set()
