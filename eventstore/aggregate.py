"""Aggregates: plain Python objects that decide and record events.

A command method checks the invariants and calls ``self.record(type, **data)``; ``record``
applies the event at once through the ``@applies`` method of its type, so the state and the
recorded events cannot drift apart. Loading replays the same ``@applies`` methods. No I/O here:
the ``Repository`` (below) and the services do that.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from .errors import StreamNotFound
from .events import NewEvent, RecordedEvent
from .store import AppendResult, EventStore, Snapshot

A = TypeVar("A", bound="Aggregate")
Applier = Callable[[Any, dict[str, Any]], None]


def applies(event_type: str) -> Callable[[Applier], Applier]:
    """Mark a method as the one that changes the state for ``event_type``."""
    def mark(fn: Applier) -> Applier:
        fn.__applies__ = event_type  # type: ignore[attr-defined]
        return fn
    return mark


class Aggregate:
    stream_type: ClassVar[str] = ""
    # How many events between snapshots; 0 keeps no snapshots.
    snapshot_every: ClassVar[int] = 0
    _appliers: ClassVar[dict[str, Applier]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        appliers: dict[str, Applier] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                event_type = getattr(attr, "__applies__", None)
                if event_type is not None:
                    appliers[event_type] = attr
        cls._appliers = appliers
        if not cls.stream_type:
            cls.stream_type = cls.__name__.lower()

    def __init__(self, id: str) -> None:  # noqa: A002 - the domain's word
        self.id = id
        self.version = 0
        self.hub_id: str | None = None
        self.pending: list[NewEvent] = []

    def record(self, event_type: str, **data: Any) -> None:
        """Record a new event and apply it now."""
        if event_type not in self._appliers:
            raise TypeError(f"{type(self).__name__} has no @applies({event_type!r})")
        self.pending.append(NewEvent(event_type, data, hub_id=self.hub_id))
        self._appliers[event_type](self, data)

    def replay(self, event: RecordedEvent) -> None:
        applier = self._appliers.get(event.type)
        if applier is not None:  # events of no interest to this state are skipped
            applier(self, event.data)
        if event.hub_id is not None:
            self.hub_id = event.hub_id
        self.version = event.version

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    # Snapshots: the default captures the public attributes, which must be JSON values.
    def snapshot_state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()
                if not k.startswith("_") and k not in ("id", "version", "pending")}

    def restore_state(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class Repository:
    """Loads aggregates from the store (snapshot + newer events) and saves their new events."""

    def __init__(self, store: EventStore, aggregate: type[A]) -> None:
        self.store = store
        self.aggregate = aggregate

    def load(self, id: str, cur: Any = None) -> Any:  # noqa: A002
        instance = self.create(id)
        if self.aggregate.snapshot_every:
            snap = self.store.load_snapshot(id, cur)
            if snap is not None:
                instance.restore_state(snap.state)
                instance.version = snap.version
        for event in self.store.read_stream(id, instance.version, cur):
            instance.replay(event)
        if instance.version == 0:
            raise StreamNotFound(f"no {self.aggregate.stream_type} {id!r}", stream_id=id)
        return instance

    def create(self, id: str) -> Any:  # noqa: A002
        return self.aggregate(id)

    @staticmethod
    def stamp(instance: Aggregate, metadata: dict[str, Any] | None = None) -> list[NewEvent]:
        """Give the pending events their ids, hub and metadata, once, before they are saved."""
        instance.pending = [
            NewEvent(e.type, e.data, e.schema_version, e.hub_id or instance.hub_id,
                     {**(metadata or {}), **e.metadata}, e.event_id or str(uuid.uuid4()))
            for e in instance.pending]
        return instance.pending

    def save(self, instance: Aggregate, *, metadata: dict[str, Any] | None = None,
             idempotency_key: str | None = None, response: Any = None,
             cur: Any = None) -> AppendResult:
        events = self.stamp(instance, metadata)
        expected = instance.version
        result = self.store.append(instance.id, instance.stream_type, expected, events,
                                   idempotency_key=idempotency_key, response=response, cur=cur)
        instance.pending = []
        instance.version = result.version
        every = self.aggregate.snapshot_every
        if every and not result.replayed and result.version // every > expected // every:
            self.store.save_snapshot(Snapshot(instance.id, instance.stream_type,
                                              result.version, instance.snapshot_state()), cur)
        return result
