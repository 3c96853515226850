"""What of each event may leave the platform (issue 19): every service declares, next to each
contract, its public form — or none, and then it never leaves. Public events are CloudEvents,
read back here by the CloudEvents SDK."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.core.formats.json import JSONFormat

from eventstore.contracts import PublicForm, Published, contracts_of, public_event
from eventstore.events import RecordedEvent

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = [contract for path in sorted(ROOT.glob("services/*/contracts.py"))
             for contract in contracts_of(importlib.import_module(
                 f"services.{path.parent.name}.contracts"))]
# Events that never leave the platform, and why (a new contract must be one or the other).
PRIVATE = {
    "membership.PersonAdded": "its stream is a person; what it says (member, position) could "
                              "name one in a small district",
    "membership.PersonErased": "a person's erasure is nobody else's business",
}
# Fields that hold a person's id, words written by people, or contact data: never public.
NEVER = {"person_id", "released_people", "expert_id", "email", "phone", "comment", "findings",
         "statement", "summary", "bio", "title", "supporting_data", "selection_criteria",
         "explanation", "results"}


def name(contract):
    return f"{contract.source}.{contract.type}"


@pytest.mark.parametrize("contract", CONTRACTS, ids=name)
def test_every_contract_is_public_or_private_by_a_decision(contract):
    assert (contract.public is None) == (name(contract) in PRIVATE), name(contract)


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if c.public], ids=name)
def test_no_public_form_shows_people_or_their_words(contract):
    assert not set(contract.public.names()) & NEVER, name(contract)
    # Free text a person wrote is refused by name; a reason is free text but for the codes
    # resources gives a refused session.
    if "reason" in contract.public.names():
        assert name(contract) == "resources.ExpertSessionRefused"


def recorded(type_, data, hub="el-dorado", stream="el-dorado.07", version=1):
    return RecordedEvent(7, 1, "3f0b5a52-54f4-4f54-8f6e-0f4a1ab2b3c4", stream, "member", 2,
                         type_, version, hub, data, {}, datetime(2027, 1, 14, 17, tzinfo=UTC))


class Enrolled(Published, source="testing"):
    hub_id: str
    name: str
    enrollment: int
    average: float | None
    person_id: str
    public = PublicForm(fields=("hub_id", "name"), counts=("enrollment",),
                        derived=(("average", "enrollment"),))


@pytest.mark.parametrize("enrollment, shown", [(0, True), (1, False), (10, False),
                                               (11, True), (503, True)])
def test_counts_of_1_to_10_and_what_derives_from_them_are_suppressed(enrollment, shown):
    data = {"hub_id": "el-dorado", "name": "Camino Union", "enrollment": enrollment,
            "average": 4.5, "person_id": "el-dorado.ana"}
    public = Enrolled.public.of(data)
    if shown:
        assert public == {"hub_id": "el-dorado", "name": "Camino Union",
                          "enrollment": enrollment,
                          "average": 4.5 if enrollment else None,
                          **({} if enrollment else {"suppressed": ["average"]})}
    else:
        assert public == {"hub_id": "el-dorado", "name": "Camino Union", "enrollment": None,
                          "average": None, "suppressed": ["average", "enrollment"]}


def test_a_public_form_names_only_what_its_contract_declares():
    with pytest.raises(TypeError, match="names what it does not declare"):
        class Leaky(Published, source="testing"):
            hub_id: str
            public = PublicForm(fields=("hub_id", "email"))
    with pytest.raises(TypeError, match="does not show"):
        class Orphan(Published, source="testing"):
            average: float
            n: int
            public = PublicForm(derived=(("average", "n"),))


def test_a_public_event_is_a_cloudevent_the_sdk_reads():
    from services.membership.contracts import MemberEnrolled
    event = public_event(MemberEnrolled, recorded("MemberEnrolled", {
        "hub_id": "el-dorado", "name": "Indian Diggings Elementary", "kind": "district",
        "grade_span": "K-8", "enrollment": 17, "cds_code": None, "nces_id": None}))
    read = JSONFormat().read(None, json.dumps(event))
    assert read.get_specversion() == "1.0" and read.get_id() == event["id"]
    assert read.get_type() == "org.consortium-platform.membership.MemberEnrolled"
    assert read.get_source() == "urn:consortium-platform:membership"
    assert read.get_subject() == "el-dorado.07"
    assert read.get_dataschema() == \
        "urn:consortium-platform:schema:membership:MemberEnrolled:v1"
    assert read.get_extension("hub") == "el-dorado"
    assert read.get_time() == datetime(2027, 1, 14, 17, tzinfo=UTC)
    assert read.get_data() == {"hub_id": "el-dorado", "name": "Indian Diggings Elementary",
                               "kind": "district", "grade_span": "K-8", "cds_code": None,
                               "nces_id": None, "enrollment": 17}


def test_what_has_no_public_form_never_leaves_and_a_person_is_no_subject():
    from services.membership.contracts import PersonAdded
    from services.resources.contracts import ExpertAdded
    assert public_event(PersonAdded, recorded("PersonAdded", {
        "hub_id": "el-dorado", "member_id": None, "position": None})) is None
    expert = public_event(ExpertAdded, recorded("ExpertAdded", {"hub_id": "el-dorado"},
                                                stream="el-dorado.quintero"))
    assert "subject" not in expert and "quintero" not in json.dumps(expert)
    assert JSONFormat().read(None, json.dumps(expert)).get_subject() is None


def test_an_event_without_a_hub_has_no_hub_extension():
    from services.membership.contracts import HubRegistered
    event = public_event(HubRegistered, recorded("HubRegistered", {
        "name": "x", "state": "CA", "county_code": None, "facilitator_org": "y",
        "stage": "external", "time_zone": "America/Los_Angeles"}, hub=None, version=2))
    assert "hub" not in event and event["dataschema"].endswith(":v2")
