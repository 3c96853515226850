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

**What leaves the platform** (issue 19): next to each contract, its owner declares the event's
public form, what a state agency may read of it: ``public = PublicForm(fields=(...),
counts=(...), derived={...})``, an explicit allow-list. A contract without one never leaves.
``counts`` are counts of people (enrollment, votes, a group's size): 1 to 10 are suppressed
(None, and the field named in ``suppressed``), with every ``derived`` value computed from them
(eventstore/disclosure.py). Ids of people and free text written by people are never in a
public form (tests/unit/test_public_forms.py refuses them by name); ``subject=False`` leaves
out the stream id when it names a person.

Plain Python: no I/O, so domain modules and tests may import contracts freely.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, ClassVar, dataclass_transform

from .disclosure import small
from .errors import PoisonMessage, ValidationError
from .events import RecordedEvent


@dataclasses.dataclass(frozen=True)
class PublicForm:
    """What of an event a state agency may read (an allow-list), declared with its contract."""

    fields: tuple[str, ...] = ()            # shown as they are
    counts: tuple[str, ...] = ()            # counts of people: 1 to 10 suppressed
    derived: tuple[tuple[str, str], ...] = ()   # (field, the count it is computed from)
    subject: bool = True                    # the stream id (False when it names a person)

    def names(self) -> list[str]:
        return [*self.fields, *self.counts, *(name for name, _ in self.derived)]

    def of(self, data: dict[str, Any]) -> dict[str, Any]:
        """The public data of an event's data: the allowed fields, small counts and what
        derives from them suppressed (None, named in ``suppressed``)."""
        shown = {name: data.get(name) for name in self.fields}
        hidden = [name for name in self.counts if small(data.get(name))]
        shown.update({name: None if name in hidden else data.get(name) for name in self.counts})
        for name, count in self.derived:
            if count in hidden or not data.get(count):
                hidden.append(name)
            shown[name] = None if name in hidden else data.get(name)
        if hidden:
            shown["suppressed"] = sorted(hidden)
        return shown


class ContractViolation(ValidationError, PoisonMessage):
    title = "Event does not hold to its contract"


@dataclass_transform(frozen_default=True)
class Published:
    """Base of a published event's declaration; subclasses are frozen dataclasses."""

    source: ClassVar[str] = ""
    type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    # What a state agency may read of it; None: it never leaves the platform.
    public: ClassVar[PublicForm | None] = None
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
        if cls.public is not None:
            unknown = sorted(set(cls.public.names()) - set(cls.fields())
                             | {c for _, c in cls.public.derived} - set(cls.public.counts))
            if unknown:
                raise TypeError(f"{cls.__name__}'s public form names what it does not "
                                f"declare (or a derived value's count it does not show): "
                                f"{unknown}")

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


# Where the platform's events say they come from, and the kinds of them (CloudEvents 1.0).
EVENT_SOURCE = "urn:consortium-platform:{service}"
EVENT_TYPE = "org.consortium-platform.{service}.{type}"
EVENT_SCHEMA = "urn:consortium-platform:schema:{service}:{type}:v{version}"


def public_event(contract: type[Published], event: RecordedEvent) -> dict[str, Any] | None:
    """The event as a state agency may read it, a CloudEvents 1.0 JSON object (``dataschema``
    names the contract's schema version; the extension ``hub`` its hub, if it has one), or None
    when the contract has no public form (it never leaves)."""
    form = contract.public
    if form is None:
        return None
    found = {"specversion": "1.0", "id": str(event.event_id),
             "source": EVENT_SOURCE.format(service=contract.source),
             "type": EVENT_TYPE.format(service=contract.source, type=contract.type),
             "time": event.recorded_at.isoformat(), "datacontenttype": "application/json",
             "dataschema": EVENT_SCHEMA.format(service=contract.source, type=contract.type,
                                               version=event.schema_version),
             "data": form.of(event.data)}
    if event.hub_id:
        found["hub"] = event.hub_id
    if form.subject:
        found["subject"] = event.stream_id
    return found


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


def contracts_of_service(service_cls: type) -> list[type[Published]]:
    """The contracts a service publishes: its package's ``contracts`` module, if it has one
    (looked up once: the feed asks on every page)."""
    return _contracts_of_package(service_cls.__module__.rsplit(".", 1)[0])


@functools.cache
def _contracts_of_package(package: str) -> list[type[Published]]:
    import importlib
    try:
        module = importlib.import_module(f"{package}.contracts")
    except ModuleNotFoundError:
        return []
    return contracts_of(module)
