"""Membership invariants, given / when / then."""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict, ValidationError
from eventstore.testing import given
from services.membership.domain import Hub, Member, Person, readiness

HUB = ("HubRegistered", {"name": "El Dorado County Office of Education", "state": "CA",
                         "county_code": "09", "facilitator_org": "Partner nonprofit",
                         "stage": "external", "time_zone": "America/Los_Angeles"})
ENROLLED = ("MemberEnrolled", {"hub_id": "el-dorado", "name": "Camino Union",
                               "kind": "district", "grade_span": "K-8", "enrollment": 503,
                               "cds_code": None, "nces_id": None})
SPONSOR = ("RoleAssigned", {"person_id": "p-1", "role": "sponsor", "represents": None})


def role(person, role_, represents=None):
    return ("RoleAssigned", {"person_id": person, "role": role_, "represents": represents})


def test_register_a_hub_starts_with_external_facilitation():
    hub = given(Hub, "el-dorado").when(lambda h: h.register(
        "El Dorado County Office of Education", "CA", "09", "Partner nonprofit")).then([HUB])
    assert hub.stage == "external" and hub.hub_id == "el-dorado"


def test_facilitation_is_released_gradually_one_stage_at_a_time():
    given(Hub, "el-dorado", [HUB]).when(lambda h: h.hand_over("co_facilitation", None, None)) \
        .then([("FacilitationHandedOver", {"stage": "co_facilitation",
                                           "facilitator_org": "Partner nonprofit", "on": None})])
    given(Hub, "el-dorado", [HUB]).when(lambda h: h.hand_over("county_office", None, None)) \
        .then_raises(Conflict, "one stage at a time")
    hub = given(Hub, "el-dorado", [HUB, ("FacilitationHandedOver", {
        "stage": "co_facilitation", "facilitator_org": "Partner nonprofit", "on": None})]) \
        .when(lambda h: h.hand_over("county_office", None, "2018-07-01")).then([
            ("FacilitationHandedOver", {"stage": "county_office",
                                        "facilitator_org": "El Dorado County Office of Education",
                                        "on": "2018-07-01"})])
    assert hub.stage == "county_office"


def test_a_hub_registers_once():
    given(Hub, "el-dorado", [HUB]).when(lambda h: h.register("x", "CA", None, "y")) \
        .then_raises(Conflict, "registered already")


def test_enroll_a_member():
    given(Member, "m-1").when(lambda m: m.enroll("el-dorado", "Camino Union", "district",
                                                 "K-8", 503)).then([ENROLLED])


@pytest.mark.parametrize("kwargs, field", [
    ({"kind": "university"}, "kind"),
    ({"grade_span": "8-K"}, "grade_span"),
    ({"grade_span": "K to 8"}, "grade_span"),
    ({"enrollment": -1}, "enrollment"),
])
def test_enrollment_refuses_bad_values_naming_the_field(kwargs, field):
    args = {"hub_id": "h", "name": "X", "kind": "district", "grade_span": "K-8",
            "enrollment": 10, **kwargs}
    error = given(Member, "m-1").when(lambda m: m.enroll(**args)).then_raises(ValidationError)
    assert field in error.errors


def test_one_sponsor():
    given(Member, "m-1", [ENROLLED, SPONSOR]).when(lambda m: m.assign_role("p-2", "sponsor")) \
        .then_raises(Conflict, "has a sponsor")


def test_a_sponsor_can_be_replaced_after_removal():
    given(Member, "m-1", [ENROLLED, SPONSOR, ("RoleRemoved", {"person_id": "p-1",
                                                             "role": "sponsor"})]) \
        .when(lambda m: m.assign_role("p-2", "sponsor")).then([role("p-2", "sponsor")])


def test_many_drivers_but_not_the_same_role_twice():
    given(Member, "m-1", [ENROLLED, role("p-1", "driver")]) \
        .when(lambda m: m.assign_role("p-2", "driver")).then([role("p-2", "driver")])
    given(Member, "m-1", [ENROLLED, role("p-1", "driver")]) \
        .when(lambda m: m.assign_role("p-1", "driver")).then_raises(Conflict, "already")


def test_design_team_members_represent_a_group():
    given(Member, "m-1", [ENROLLED]).when(lambda m: m.assign_role("p-1", "design_team")) \
        .then_raises(ValidationError, "represents")
    given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role("p-1", "driver", "teachers")).then_raises(ValidationError)
    given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role("p-1", "design_team", "teachers")).then(
        [role("p-1", "design_team", "teachers")])


def test_no_roles_or_onboarding_in_an_offboarded_member():
    offboarded = ("MemberOffboarded", {"reason": "left", "released_people": ["p-1"]})
    given(Member, "m-1", [ENROLLED, SPONSOR, offboarded]) \
        .when(lambda m: m.assign_role("p-2", "driver")).then_raises(Conflict, "off-boarded")
    given(Member, "m-1", [ENROLLED, offboarded]) \
        .when(lambda m: m.complete_onboarding()).then_raises(Conflict, "off-boarded")
    given(Member, "m-1", [ENROLLED, offboarded]) \
        .when(lambda m: m.offboard("again")).then_raises(Conflict, "off-boarded")


def test_offboarding_releases_everyone():
    member = given(Member, "m-1", [ENROLLED, SPONSOR, role("p-2", "driver")]) \
        .when(lambda m: m.offboard("consolidated")).then([
            ("MemberOffboarded", {"reason": "consolidated", "released_people": ["p-1", "p-2"]})])
    assert member.roles == [] and member.status == "offboarded"


def test_erasing_a_person_ends_their_roles():
    given(Member, "m-1", [ENROLLED, SPONSOR, role("p-1", "design_team", "principals")]) \
        .when(lambda m: m.forget_person("p-1")).then([
            ("RoleRemoved", {"person_id": "p-1", "role": "design_team"}),
            ("RoleRemoved", {"person_id": "p-1", "role": "sponsor"})])


READY = [ENROLLED, SPONSOR, role("p-2", "driver"), role("p-3", "design_team", "central_office"),
         role("p-4", "design_team", "principals"), role("p-5", "design_team", "teachers"),
         role("p-6", "design_team", "support_staff")]


def test_the_member_says_when_its_own_pre_work_becomes_complete_and_when_it_stops():
    member = given(Member, "m-1", READY).when(lambda m: m.complete_onboarding()).then([
        ("OnboardingCompleted", {}),
        ("MemberPreworkChanged", {"ready": True, "missing": []})])
    assert member.prework_missing() == []
    given(Member, "m-1", [*READY, ("OnboardingCompleted", {})]) \
        .when(lambda m: m.remove_role("p-2", "driver")).then([
            ("RoleRemoved", {"person_id": "p-2", "role": "driver"}),
            ("MemberPreworkChanged", {"ready": False, "missing": ["driver"]})])
    given(Member, "m-1", [*READY, ("OnboardingCompleted", {})]) \
        .when(lambda m: m.offboard("merged")).then([
            ("MemberOffboarded", {"reason": "merged", "released_people": [
                "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]}),
            ("MemberPreworkChanged", {"ready": False, "missing": ["active"]})])
    # a change that leaves the pre-work incomplete says nothing
    given(Member, "m-1", READY[:2]).when(lambda m: m.assign_role("p-2", "driver")) \
        .then([role("p-2", "driver")])


def test_a_person_is_erased_once():
    given(Person, "p-1", [("PersonAdded", {"hub_id": "h"})]).when(lambda p: p.erase()) \
        .then([("PersonErased", {})])
    given(Person, "p-1", [("PersonAdded", {"hub_id": "h"}), ("PersonErased", {})]) \
        .when(lambda p: p.erase()).then_raises(Conflict, "erased already")


def test_readiness_says_what_is_missing():
    member = given(Member, "m-1", [ENROLLED, SPONSOR, role("p-2", "design_team", "teachers"),
                                   role("p-3", "design_team", "principals")]).instance
    result = readiness(member)
    assert result["ready"] is False
    assert result["missing"] == ["driver", "representative_design_team",
                                 "onboarding_completed", "problem_of_practice_adopted",
                                 "smart_goals_set"]
    assert result["details"] == ["design team does not represent: central_office, support_staff"]


def test_readiness_complete():
    member = given(Member, "m-1", [
        ENROLLED, SPONSOR, role("p-2", "driver"), role("p-3", "design_team", "central_office"),
        role("p-4", "design_team", "principals"), role("p-5", "design_team", "teachers"),
        role("p-6", "design_team", "support_staff"), ("OnboardingCompleted", {})]).instance
    assert readiness(member, True, True) == {
        "member_id": "m-1", "ready": True, "missing": [], "details": [],
        "checks": dict.fromkeys(["sponsor", "driver", "representative_design_team",
                                 "onboarding_completed", "problem_of_practice_adopted",
                                 "smart_goals_set"], True)}
