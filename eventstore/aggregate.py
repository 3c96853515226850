"""Aggregates: plain Python objects that decide and record events.

A command method checks the invariants and calls ``self.record(type, **data)``; ``record``
applies the event at once through the ``@applies`` method of its type, so the state and the
recorded events cannot drift apart. Loading replays the same ``@applies`` methods. No I/O here
(``eventstore.repository`` loads and saves): domain modules import this one and nothing that
reaches a database or a broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from .events import NewEvent, RecordedEvent

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
    # What the domain calls it, for messages ("no problem of practice pop-7"); stream_type if "".
    noun: ClassVar[str] = ""
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
        if not cls.noun:
            cls.noun = cls.stream_type

    def __init__(self, id: str) -> None:  # noqa: A002 - the domain's word
        self.id = id
        self.version = 0
        self.hub_id: str | None = None
        self.pending: list[NewEvent] = []

    def record(self, event_type: str, **data: Any) -> None:
        """Record a new event and apply it now. The event's hub is the aggregate's once the
        event is applied: the applier that sets the hub (of a first event) is the one place
        it is set, on a new decision and on every replay alike."""
        if event_type not in self._appliers:
            raise TypeError(f"{type(self).__name__} has no @applies({event_type!r})")
        self._appliers[event_type](self, data)
        self.pending.append(NewEvent(event_type, data, hub_id=self.hub_id))

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
