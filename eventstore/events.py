"""Events as values: what a command records (``NewEvent``) and what the log gives back
(``RecordedEvent``), plus the upcasters that bring old event versions up to date on read."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import InvalidEvent

# One encoder, built once: the append path runs it for every event.
_encode = json.JSONEncoder(allow_nan=False).encode


def new_event_id() -> str:
    """A random (version 4) UUID as text, without building a uuid.UUID on the hot path."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    schema_version: int = 1
    hub_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Empty: the store assigns one when the event is appended.
    event_id: str = ""

    def validate(self, index: int = 0) -> tuple[str, str, str]:
        """Check the event can be stored; return its id, data and metadata as JSON text."""
        where = f"events[{index}]"
        if not isinstance(self.type, str) or not self.type.strip():
            raise InvalidEvent(f"{where}: type is missing", {f"{where}.type": ["required"]})
        if not isinstance(self.data, dict):
            raise InvalidEvent(f"{where}: data must be an object",
                               {f"{where}.data": ["must be a JSON object"]})
        if not isinstance(self.schema_version, int) or self.schema_version < 1:
            raise InvalidEvent(f"{where}: schema_version must be a positive integer",
                               {f"{where}.schema_version": ["must be a positive integer"]})
        event_id = self.event_id
        if event_id:
            try:
                uuid.UUID(str(event_id))
            except ValueError:
                raise InvalidEvent(f"{where}: event_id is not a UUID",
                                   {f"{where}.event_id": ["must be a UUID"]}) from None
        else:
            event_id = new_event_id()
        try:
            data = _encode(self.data)
            metadata = _encode(self.metadata) if self.metadata else "{}"
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(f"{where}: not JSON-serialisable: {exc}",
                               {f"{where}.data": [f"not JSON-serialisable: {exc}"]}) from None
        if "\\u0000" in data or "\\u0000" in metadata:
            raise InvalidEvent(f"{where}: PostgreSQL cannot store a NUL character",
                               {f"{where}.data": ["contains a NUL character"]})
        return event_id, data, metadata


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    tx_id: int
    event_id: str
    stream_id: str
    stream_type: str
    version: int
    type: str
    schema_version: int
    hub_id: str | None
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def cursor(self) -> tuple[int, int]:
        """Where this event stands in commit order: (transaction id, position)."""
        return (self.tx_id, self.position)

    def to_message(self, source: str) -> dict[str, Any]:
        """The JSON body the relay publishes and consumers receive."""
        return {
            "source": source, "event_id": self.event_id, "position": self.position,
            "tx_id": self.tx_id, "stream_id": self.stream_id, "stream_type": self.stream_type,
            "version": self.version, "type": self.type, "schema_version": self.schema_version,
            "hub_id": self.hub_id, "data": self.data, "metadata": self.metadata,
            "recorded_at": self.recorded_at.isoformat(),
        }

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> RecordedEvent:
        return cls(
            position=int(body["position"]), tx_id=int(body["tx_id"]),
            event_id=str(body["event_id"]), stream_id=body["stream_id"],
            stream_type=body["stream_type"], version=int(body["version"]), type=body["type"],
            schema_version=int(body.get("schema_version", 1)), hub_id=body.get("hub_id"),
            data=body["data"], metadata=body.get("metadata") or {},
            recorded_at=datetime.fromisoformat(body["recorded_at"]),
        )


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Upcasters:
    """Functions that turn version N of an event's data into version N+1.

    Old events stay in the log as written; they are upcast every time they are read, so code
    only ever sees the current shape.
    """

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def decorate(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._steps:
                raise ValueError(f"an upcaster for {event_type} v{from_version} exists already")
            self._steps[key] = fn
            return fn
        return decorate

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        data, version = event.data, event.schema_version
        while (step := self._steps.get((event.type, version))) is not None:
            data, version = step(data), version + 1
        if version == event.schema_version:
            return event
        return RecordedEvent(
            event.position, event.tx_id, event.event_id, event.stream_id, event.stream_type,
            event.version, event.type, version, event.hub_id, data, event.metadata,
            event.recorded_at,
        )

    def __bool__(self) -> bool:
        return bool(self._steps)


def upcasters_of(package: str) -> Upcasters:
    """A service's upcasters: ``UPCASTERS`` in its domain module (``<package>.domain``), where
    its events are decided; none if it declares none. The kernel and operator tools both read
    them here, so every reader of the log sees the same shapes."""
    import importlib
    try:
        domain = importlib.import_module(f"{package}.domain")
    except ModuleNotFoundError:
        return Upcasters()
    found = getattr(domain, "UPCASTERS", None)
    return found if isinstance(found, Upcasters) else Upcasters()
