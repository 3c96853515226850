"""The rules of eventstore.contracts, each pinned: an event is read through its declaration only
when its type is the declared one and every field holds to its JSON type (ints are not yeses,
numbers are not text, the values of a mapping are checked too), a ContractViolation names
every bad or missing field in words a dead letter shows, declarations are frozen dataclasses
with a type, source and schema version, and contracts_of gives a module's own declarations.
Event data is decoded from JSON, as the store and the bus deliver it."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime
from typing import Any

import pytest

from eventstore.contracts import ContractViolation, Published, contracts_of
from eventstore.events import RecordedEvent


class Visit(Published, source="scheduling"):
    """A declaration with a field of every JSON type a contract may declare."""

    hub_id: str
    attendees: int
    share: float
    confirmed: bool
    note: str | None
    tags: list[str]
    counts: dict[str, int]
    anything: Any
    rows: list
    extra: dict
    loose: typing.List  # noqa: UP006 - the bare typing alias, as a declaration may spell it
    loose_map: typing.Dict  # noqa: UP006


GOOD = {"hub_id": "hub-a", "attendees": 12, "share": 0.25, "confirmed": True, "note": None,
        "tags": ["math", "ela"], "counts": {"k": 3}, "anything": {"deep": [1, None]},
        "rows": [1, "two"], "extra": {"a": [1]}, "loose": [{"x": 1}], "loose_map": {"b": 2}}


def recorded(type_: str, data: dict, schema_version: int = 1) -> RecordedEvent:
    """An event as the log gives it back: its type and data decoded from JSON."""
    return RecordedEvent(7, 1, "00000000-0000-0000-0000-000000000007", "v-1", "visit", 4,
                         json.loads(json.dumps(type_)), schema_version, "hub-a",
                         json.loads(json.dumps(data)), {}, datetime.now(UTC))


def violation(data: dict, type_: str = "Visit") -> ContractViolation:
    with pytest.raises(ContractViolation) as refused:
        Visit.from_event(recorded(type_, data))
    return refused.value


# --- reading an event through its contract -------------------------------------------------

def test_an_event_that_holds_to_its_contract_is_read_as_attributes_with_its_envelope():
    event = recorded("Visit", GOOD)
    visit = Visit.from_event(event)
    assert {name: getattr(visit, name) for name in Visit.fields()} == GOOD
    assert visit.recorded is event


def test_a_whole_number_is_a_float_and_a_note_may_be_text():
    visit = Visit.from_event(recorded("Visit", {**GOOD, "share": 2, "note": "bring lunch"}))
    assert (visit.share, visit.note) == (2, "bring lunch")


@pytest.mark.parametrize("anything", [None, 0, "x", [1], {"a": {"b": []}}, False])
def test_a_field_declared_any_takes_any_json_value(anything):
    assert Visit.from_event(recorded("Visit", {**GOOD, "anything": anything})).anything \
        == anything


@pytest.mark.parametrize("field, value, words", [
    ("hub_id", None, "not str: None"),
    ("hub_id", 5, "not str: 5"),
    ("attendees", "12", "not int: '12'"),
    ("attendees", True, "not int: True"),
    ("attendees", 1.5, "not int: 1.5"),
    ("share", "0.25", "not float: '0.25'"),
    ("share", False, "not float: False"),
    ("confirmed", 1, "not bool: 1"),
    ("confirmed", "yes", "not bool: 'yes'"),
    ("note", 5, "not str | None: 5"),
    ("note", False, "not str | None: False"),
    ("tags", "math", "not list[str]: 'math'"),
    ("tags", ["math", 1], "not list[str]: ['math', 1]"),
    ("counts", {"k": "3"}, "not dict[str, int]: {'k': '3'}"),
    ("counts", {"k": True}, "not dict[str, int]: {'k': True}"),
    ("counts", [], "not dict[str, int]: []"),
    ("counts", "k", "not dict[str, int]: 'k'"),
    ("rows", {"a": 1}, "not list: {'a': 1}"),
    ("extra", [1], "not dict: [1]"),
    ("loose", "x", "not List: 'x'"),
    ("loose_map", [], "not Dict: []"),
])
def test_a_field_that_breaks_its_type_is_refused_naming_it_in_words(field, value, words):
    refused = violation({**GOOD, field: value})
    assert refused.errors == {field: [words]}
    assert str(refused) == f"scheduling Visit v1 does not hold to its contract: {field}"


def test_a_long_value_is_cut_short_in_the_words():
    refused = violation({**GOOD, "hub_id": ["x" * 100]})
    assert refused.errors == {"hub_id": ["not str: " + repr(["x" * 100])[:60]]}


def test_every_missing_and_bad_field_is_named_at_once():
    refused = violation({"attendees": "12", "tags": [1]})
    assert refused.errors == {
        "hub_id": ["missing"], "attendees": ["not int: '12'"], "share": ["missing"],
        "confirmed": ["missing"], "note": ["missing"], "tags": ["not list[str]: [1]"],
        "counts": ["missing"], "anything": ["missing"], "rows": ["missing"],
        "extra": ["missing"], "loose": ["missing"], "loose_map": ["missing"]}
    assert str(refused) == ("scheduling Visit v1 does not hold to its contract: anything, "
                            "attendees, confirmed, counts, extra, hub_id, loose, loose_map, "
                            "note, rows, share, tags")


def test_the_words_name_the_version_the_event_was_recorded_at():
    with pytest.raises(ContractViolation, match="^scheduling Visit v3 does not hold"):
        Visit.from_event(recorded("Visit", {}, schema_version=3))


@pytest.mark.parametrize("other", ["Appointment", "Zone", "visit", "Visits"])
def test_an_event_of_another_type_is_refused_whatever_its_data(other):
    refused = violation(GOOD, type_=other)
    assert refused.errors == {"type": ["expected Visit"]}
    assert str(refused) == f"a {other} event is not a Visit"


def test_a_violation_is_a_poison_message_and_invalid_input():
    from eventstore.errors import PoisonMessage, ValidationError
    refused = violation({})
    assert isinstance(refused, PoisonMessage) and isinstance(refused, ValidationError)
    assert refused.status == 422 and refused.title == "Event does not hold to its contract"


# --- declarations --------------------------------------------------------------------------

def test_an_event_read_through_its_contract_cannot_be_changed():
    visit = Visit.from_event(recorded("Visit", GOOD))
    with pytest.raises(dataclasses.FrozenInstanceError):
        visit.attendees = 13  # type: ignore[misc]


def test_type_checkers_are_told_declarations_are_frozen_dataclasses():
    assert Published.__dataclass_transform__["kwargs"] == {"frozen_default": True}


def test_a_declaration_is_its_class_name_at_version_one_unless_it_says_otherwise():
    assert (Visit.type, Visit.source, Visit.schema_version) == ("Visit", "scheduling", 1)

    class Renamed(Published, source="cycles", type="CycleOpened", schema_version=2):
        cycle_id: str

    assert (Renamed.type, Renamed.source, Renamed.schema_version) == ("CycleOpened", "cycles", 2)
    assert Renamed.from_event(recorded("CycleOpened", {"cycle_id": "c-1"})).cycle_id == "c-1"


def test_a_declaration_derived_from_another_keeps_its_source_and_its_own_name():
    class VisitMoved(Visit):
        to: str

    assert (VisitMoved.source, VisitMoved.type, VisitMoved.schema_version) == (
        "scheduling", "VisitMoved", 1)
    assert list(VisitMoved.fields())[-1] == "to"


def test_the_fields_are_the_declared_ones_in_order_with_their_types():
    assert Visit.fields() == {"hub_id": str, "attendees": int, "share": float,
                              "confirmed": bool, "note": str | None, "tags": list[str],
                              "counts": dict[str, int], "anything": Any, "rows": list,
                              "extra": dict, "loose": typing.List,  # noqa: UP006
                              "loose_map": typing.Dict}  # noqa: UP006


@pytest.mark.parametrize("hint", ["dict[str, datetime]", "list[list[set]]", "int | bytes",
                                  "tuple[int, int]", "object"])
def test_a_field_type_that_is_not_json_is_refused_when_declared(hint):
    module = module_of("services.bad.contracts", f"""
from datetime import datetime
from eventstore.contracts import Published

class Bad(Published, source="bad"):
    field: {hint}
""", run=False)
    with pytest.raises(TypeError, match="^contracts declare JSON types only, not "):
        module.run()


# --- contracts_of --------------------------------------------------------------------------

def module_of(name: str, source: str, run: bool = True) -> types.ModuleType:
    """A contracts module made from source, as an import makes one."""
    module = types.ModuleType(name)
    code = compile(source, name, "exec", dont_inherit=True)   # its own __future__ imports
    module.run = lambda: exec(code, module.__dict__)  # noqa: S102 - the test's own source
    if run:
        module.run()
    return module


CONTRACTS = """
from eventstore.contracts import Published
from services.membership.contracts import MemberEnrolled, PersonErased
from tests.unit.test_contracts_rules import Visit

class Second(Published, source="{source}"):
    a: int

class First(Published, source="{source}"):
    b: str

NOT_A_CONTRACT = dict
"""


@pytest.mark.parametrize("name", ["services.alpha.contracts", "services.zulu.contracts",
                                  "tests.unit.test_contracts_rules_x"])
def test_a_module_declares_its_own_contracts_in_order_not_those_it_imports(name):
    module = module_of(name, CONTRACTS.format(source=name.split(".")[1]))
    assert [c.__name__ for c in contracts_of(module)] == ["Second", "First"]


def test_the_membership_contracts_are_its_own_in_declaration_order():
    import services.membership.contracts as membership
    assert [c.type for c in contracts_of(membership)] == [
        "HubRegistered", "FacilitationHandedOver", "MemberEnrolled", "MemberOffboarded",
        "MemberPreworkChanged", "RoleAssigned", "RoleRemoved", "PersonAdded", "PersonErased"]


def test_the_base_is_no_contract():
    import eventstore.contracts as kernel
    assert contracts_of(kernel) == []
