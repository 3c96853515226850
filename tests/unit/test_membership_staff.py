"""What a roster row does to a member's staff, and who may hold a member's roles."""

from __future__ import annotations

import pytest

from eventstore.errors import NotFound
from eventstore.testing import given
from services.membership.domain import (
    ELSEWHERE,
    ERASED,
    IMPORTED,
    UNCHANGED,
    UPDATED,
    Member,
    Person,
    staff_row_outcome,
)

ENROLLED = ("MemberEnrolled", {"hub_id": "el-dorado", "name": "Camino Union",
                               "kind": "district", "grade_span": "K-8", "enrollment": 503,
                               "cds_code": None, "nces_id": None})
MEMBER = given(Member, "camino", [ENROLLED]).instance


def person(hub="el-dorado", member="camino", erased=False):
    history = [("PersonAdded", {"hub_id": hub, "member_id": member, "position": "teacher"})]
    if erased:
        history.append(("PersonErased", {}))
    return given(Person, "per-1", history).instance


ON_FILE = ("Ana Ruiz", "ana@camino.example")


@pytest.mark.parametrize("who, on_file, expected", [
    (None, None, IMPORTED),
    (person(), ON_FILE, UNCHANGED),
    (person(), ("Ana Ruiz", "ana.ruiz@camino.example"), UPDATED),
    (person(), ("Ana Ruíz", "ana@camino.example"), UPDATED),
    (person(), None, UPDATED),
    (person(erased=True), None, ERASED),
    (person(hub="alpine", member="camino"), ON_FILE, ELSEWHERE),
    (person(member="gold-oak"), ON_FILE, ELSEWHERE),
    (person(member=None), ON_FILE, ELSEWHERE),
    (person(hub="alpine", erased=True), None, ELSEWHERE),   # not ours, erased or not
])
def test_a_roster_row_imports_updates_or_leaves_a_person(who, on_file, expected):
    assert staff_row_outcome(MEMBER, who, on_file, *ON_FILE) == expected


def test_a_role_goes_to_a_person_of_the_members_hub_only():
    given(Member, "camino", [ENROLLED]).when(
        lambda m: m.assign_role_to(person(), "driver")).then([
            ("RoleAssigned", {"person_id": "per-1", "role": "driver", "represents": None})])
    for outsider in (person(hub="alpine"), person(erased=True)):
        given(Member, "camino", [ENROLLED]).when(
            lambda m, p=outsider: m.assign_role_to(p, "driver")).then_raises(NotFound,
                                                                             "no person")
