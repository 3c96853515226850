"""Loading and saving aggregates: a snapshot and the newer events in, pending events out."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .aggregate import Aggregate
from .errors import NotFound
from .events import NewEvent, new_event_id
from .store import AppendResult, EventStore, Snapshot

A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """Loads aggregates from the store (snapshot + newer events) and saves their new events."""

    def __init__(self, store: EventStore, aggregate: type[A]) -> None:
        self.store = store
        self.aggregate = aggregate

    def load(self, id: str, cur: Any = None, up_to: int | None = None) -> A:  # noqa: A002
        """The aggregate as its stream tells it (``up_to``: as it was at that version). A
        stream of another type is as unknown as a missing one: a member id where a hub id
        belongs names no hub. Unknown is the same ``NotFound`` that another hub's object gets
        from the access check, word for word, so no answer tells a county whether another
        county's id exists."""
        instance = self.aggregate(id)
        kind = self.aggregate.stream_type
        if self.aggregate.snapshot_every:
            snap = self.store.load_snapshot(id, cur)
            if snap is not None and snap.stream_type == kind and (
                    up_to is None or snap.version <= up_to):
                instance.restore_state(snap.state)
                instance.version = snap.version
        for event in self.store.read_stream(id, instance.version, cur, up_to=up_to):
            if event.stream_type != kind:
                break
            instance.replay(event)
        if instance.version == 0:
            raise NotFound(f"no {self.aggregate.noun} {id}")
        return instance

    def load_many(self, ids: list[str], cur: Any = None) -> dict[str, A]:
        """The aggregates of these ids that exist (and are of this type), in one read; for
        aggregates that keep no snapshots."""
        instances = {}
        for id_, events in self.store.read_streams(ids, cur).items():
            instance = self.aggregate(id_)
            for event in events:
                if event.stream_type != self.aggregate.stream_type:
                    break
                instance.replay(event)
            if instance.version:
                instances[id_] = instance
        return instances

    @staticmethod
    def stamp(instance: Aggregate, metadata: dict[str, Any] | None = None) -> list[NewEvent]:
        """Give the pending events their ids, hub and metadata, once, before they are saved."""
        instance.pending = [
            NewEvent(e.type, e.data, e.schema_version, e.hub_id or instance.hub_id,
                     {**(metadata or {}), **e.metadata}, e.event_id or new_event_id())
            for e in instance.pending]
        return instance.pending

    def save(self, instance: A, *, metadata: dict[str, Any] | None = None,
             cur: Any = None) -> AppendResult:
        """Append the pending events at the version the aggregate was loaded at (so a stream
        that moved meanwhile is a WrongExpectedVersion) and snapshot when one is due."""
        events = self.stamp(instance, metadata)
        expected = instance.version
        result = self.store.append(instance.id, instance.stream_type, expected, events, cur=cur)
        instance.pending = []
        instance.version = result.version
        every = self.aggregate.snapshot_every
        if every and result.version // every > expected // every:
            self.store.save_snapshot(Snapshot(instance.id, instance.stream_type,
                                              result.version, instance.snapshot_state()), cur)
        return result
