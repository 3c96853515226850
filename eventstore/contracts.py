"""Published-event contracts: what a service promises other services about its events.

Each service declares, in its ``contracts.py``, the events it publishes for others: type,
schema version, and the fields of the event's data with their types.

    class MemberPreworkChanged(Published, source="membership"):
        '''A member's own pre-work became complete, or stopped being so.'''
        ready: bool
        missing: list[str]

A consumer names the declaration (``@consumes(membership.MemberPreworkChanged)``) and reads
the event's data as attributes (``event.ready``), the envelope as ``event.recorded``
(stream, version, hub). An event whose data does not hold to its contract is refused when it
is read (``ContractViolation``: the consumer's message becomes a dead letter), and
tests/unit/test_contracts.py fails when a producer records a published event without a field,
or a consumer reads a field, that the contract does not have. Producers may add fields;
removing or renaming one is a new schema version with an upcaster.

Plain Python: no I/O, so domain modules and tests may import contracts freely.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, dataclass_transform

from .errors import PoisonMessage, ValidationError
from .events import RecordedEvent


class ContractViolation(ValidationError, PoisonMessage):
    title = "Event does not hold to its contract"


@dataclass_transform(frozen_default=True)
class Published:
    """Base of a published event's declaration; subclasses are frozen dataclasses."""

    source: ClassVar[str] = ""
    type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    # Set on each instance read from the log or the bus: the event as recorded.
    recorded: RecordedEvent

    def __init_subclass__(cls, source: str = "", type: str = "",  # noqa: A002
                          schema_version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.source = source or cls.source
        cls.type = type or cls.__name__
        cls.schema_version = schema_version
        dataclasses.dataclass(frozen=True)(cls)
        for hint in cls.fields().values():
            declarable(hint)

    @classmethod
    def fields(cls) -> dict[str, Any]:
        """The data fields and their types, as declared."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]

    @classmethod
    def from_event(cls, event: RecordedEvent) -> Any:
        """The declaration's view of a recorded event; ContractViolation if it does not hold."""
        if event.type != cls.type:
            raise ContractViolation(f"a {event.type} event is not a {cls.type}",
                                    {"type": [f"expected {cls.type}"]})
        errors: dict[str, list[str]] = {}
        values = {}
        for name, hint in cls.fields().items():
            if name not in event.data:
                errors[name] = ["missing"]
                continue
            value = event.data[name]
            if not conforms(value, hint):
                errors[name] = [f"not {describe(hint)}: {value!r:.60}"]
            values[name] = value
        if errors:
            raise ContractViolation(
                f"{cls.source} {cls.type} v{event.schema_version} does not hold to its "
                f"contract: " + ", ".join(sorted(errors)), errors)
        instance = cls(**values)
        object.__setattr__(instance, "recorded", event)
        return instance


def conforms(value: Any, hint: Any) -> bool:
    """Does a JSON value fit a declared type (str, int, float, bool, None, list[...],
    dict[str, ...], unions, Any)?"""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if origin is dict:
        _, item = typing.get_args(hint) or (str, Any)
        return isinstance(value, dict) and all(
            isinstance(k, str) and conforms(v, item) for k, v in value.items())
    if hint in (list, dict):
        return isinstance(value, hint)
    raise TypeError(f"contracts declare JSON types only, not {hint!r}")


JSON_TYPES = (str, int, float, bool, type(None), list, dict)


def declarable(hint: Any) -> None:
    """Refuse, when a contract is declared, a field type that is not JSON: events travel as
    JSON, and the feeds' schemas are generated from these declarations."""
    if hint is Any or hint in JSON_TYPES:
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType, list, dict):
        for arm in typing.get_args(hint):
            declarable(arm)
        return
    raise TypeError(f"contracts declare JSON types only, not {hint!r}")


def describe(hint: Any) -> str:
    """A declared type in words, as declared: ``list[str]``, ``str | None``."""
    if typing.get_origin(hint) is None and hasattr(hint, "__name__"):
        return str(hint.__name__)
    return str(hint).replace("typing.", "")


def contracts_of(module: types.ModuleType) -> list[type[Published]]:
    """The published events a contracts module declares, in declaration order."""
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, Published)
            and value is not Published and value.__module__ == module.__name__]
