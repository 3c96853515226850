"""The shared kernel: event store, aggregates, relay, consumers, projections, metrics, config."""

from .aggregate import Aggregate, Repository, applies
from .errors import (
    Conflict,
    ConsortiumError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationError,
    WrongExpectedVersion,
)
from .events import NewEvent, RecordedEvent, Upcasters
from .store import START, AppendResult, EventStore

__all__ = [
    "START", "Aggregate", "AppendResult", "Conflict", "ConsortiumError", "EventStore",
    "Forbidden", "NewEvent", "NotFound", "PreconditionFailed", "RecordedEvent", "Repository",
    "Upcasters", "ValidationError", "WrongExpectedVersion", "applies",
]
