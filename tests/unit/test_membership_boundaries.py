"""Membership's rules on both sides of every boundary (issue 11): grade spans and enrollment,
who may hold which role, the readiness checks, the pre-work notice after every command that
can change it (and none when it does not change), tenancy with ids sorting either way, and the
hand-over of facilitation.

Command arguments go through ``received`` (decoded JSON, as a request delivers them), so a rule
that compared strings by identity instead of by value would fail here as it would in service.
"""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict, NotFound, ValidationError
from eventstore.testing import given, received
from services.membership.domain import (
    DESIGN_TEAM_GROUPS,
    ELSEWHERE,
    UNCHANGED,
    Hub,
    Member,
    Person,
    readiness,
    staff_row_outcome,
)
from tests.unit.test_membership_domain import ENROLLED, HUB, READY, SPONSOR, role

ONBOARDED = ("OnboardingCompleted", {})
OFFBOARDED = ("MemberOffboarded", {"reason": "merged", "released_people": ["p-1"]})
TEAM = {group: role(f"p-{3 + i}", "design_team", group)
        for i, group in enumerate(DESIGN_TEAM_GROUPS)}
COMPLETE = [*READY, ONBOARDED]
PREWORK_DONE = ("MemberPreworkChanged", {"ready": True, "missing": []})


def enroll(**changes):
    args = {"hub_id": "el-dorado", "name": "Camino Union", "kind": "district",
            "grade_span": "K-8", "enrollment": 503, **changes}
    return lambda m: m.enroll(*received(args["hub_id"], args["name"], args["kind"],
                                        args["grade_span"], args["enrollment"]))


# -- grade spans and enrollment -------------------------------------------------------------

@pytest.mark.parametrize("span", [
    "TK-K", "TK-5", "TK-12", "K-K", "K-1", "K-8", "K-12", "1-1", "5-5", "12-12", "1-12",
    "9-12", "6-8", "10-11"])
def test_a_grade_span_runs_from_its_lowest_grade_tk_k_then_1_to_12(span):
    member = given(Member, "m-1").when(enroll(grade_span=span)).then([
        ("MemberEnrolled", {**ENROLLED[1], "grade_span": span})])
    assert member.grade_span == span


@pytest.mark.parametrize("span", [
    "K-TK", "TK-TK", "1-K", "1-TK", "12-K", "2-1", "9-5", "12-11", "12-1", "8-K",
    "K-13", "0-5", "K8", "K - 8", "k-8", "", None])
def test_a_grade_span_highest_first_or_not_a_grade_is_refused(span):
    error = given(Member, "m-1").when(enroll(grade_span=span)).then_raises(
        ValidationError, "grade span")
    assert error.errors == {"grade_span": ["like K-8, TK-5 or 9-12, lowest grade first"]}


def test_an_enrollment_of_no_students_is_allowed():
    member = given(Member, "m-1").when(enroll(enrollment=0)).then([
        ("MemberEnrolled", {**ENROLLED[1], "enrollment": 0})])
    assert member.enrollment == 0


@pytest.mark.parametrize("enrollment", [-1, -500, "31", 2.5, None])
def test_an_enrollment_is_a_whole_number_of_students_0_or_more(enrollment):
    error = given(Member, "m-1").when(enroll(enrollment=enrollment)).then_raises(
        ValidationError, "count of students")
    assert error.errors == {"enrollment": ["a whole number, 0 or more"]}


def test_a_member_is_what_it_enrolled_as():
    member = given(Member, "m-1").when(lambda m: m.enroll(*received(
        "el-dorado", "Camino Union", "charter", "TK-5", 77, "09619290000000", "0601234"))) \
        .instance
    assert (member.hub_id, member.name, member.kind, member.grade_span, member.enrollment,
            member.cds_code, member.nces_id, member.status) == (
        "el-dorado", "Camino Union", "charter", "TK-5", 77, "09619290000000", "0601234",
        "active")


def test_a_member_not_yet_enrolled_has_no_students_roles_or_onboarding():
    member = Member("m-1")
    assert (member.name, member.kind, member.grade_span, member.enrollment, member.cds_code,
            member.nces_id, member.status, member.onboarded, member.roles) == (
        "", "", "", 0, None, None, "", False, [])


def test_a_member_enrolls_once():
    given(Member, "m-1", [ENROLLED]).when(enroll()).then_raises(Conflict, "enrolled already")


# -- roles ---------------------------------------------------------------------------------

def test_a_design_team_member_must_represent_one_of_the_groups():
    for represents in (None, "students", "Teachers"):
        error = given(Member, "m-1", [ENROLLED]).when(
            lambda m, r=represents: m.assign_role(*received("p-1", "design_team", r))) \
            .then_raises(ValidationError, "represents a group")
        assert error.errors == {"represents": [
            "one of central_office, principals, teachers, support_staff"]}


@pytest.mark.parametrize("group", DESIGN_TEAM_GROUPS)
def test_a_design_team_member_represents_any_one_group(group):
    member = given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role(*received("p-1", "design_team", group))).then([
            role("p-1", "design_team", group)])
    assert member.roles == [{"person_id": "p-1", "role": "design_team", "represents": group}]


@pytest.mark.parametrize("role_", ["sponsor", "driver", "facilitator"])
def test_no_one_but_a_design_team_member_represents_a_group(role_):
    error = given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role(*received("p-1", role_, "teachers"))).then_raises(
        ValidationError, "only design team members")
    assert error.errors == {"represents": ["only for role design_team"]}
    given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role(*received("p-1", role_))).then([role("p-1", role_)])


def test_an_unknown_role_is_refused():
    error = given(Member, "m-1", [ENROLLED]).when(
        lambda m: m.assign_role(*received("p-1", "treasurer"))).then_raises(
        ValidationError, "unknown")
    assert error.errors == {"role": ["one of sponsor, driver, design_team, facilitator"]}


@pytest.mark.parametrize("held", ["design_team", "driver", "facilitator", "sponsor"])
def test_a_person_holds_a_role_once(held):
    represents = "teachers" if held == "design_team" else None
    given(Member, "m-1", [ENROLLED, role("p-5", held, represents)]).when(
        lambda m: m.assign_role(*received("p-5", held, represents))).then_raises(
        Conflict, "already")


OTHER_ROLES = [
    (held, person, wanted)
    for held in ("design_team", "driver", "sponsor")
    for person, wanted in (("p-1", "driver"), ("p-9", "driver"),   # ids sorting either way
                           ("p-5", "design_team"), ("p-5", "driver"), ("p-5", "facilitator"),
                           ("p-5", "sponsor"))
    if (person, wanted) != ("p-5", held) and not wanted == held == "sponsor"]


@pytest.mark.parametrize("held, person, wanted", OTHER_ROLES)
def test_a_person_may_hold_other_roles_and_others_the_same_role(held, person, wanted):
    held_represents = "teachers" if held == "design_team" else None
    represents = "principals" if wanted == "design_team" else None
    given(Member, "m-1", [ENROLLED, role("p-5", held, held_represents)]).when(
        lambda m: m.assign_role(*received(person, wanted, represents))).then([
            role(person, wanted, represents)])


@pytest.mark.parametrize("other", ["p-0", "p-2", "p-9"])
def test_a_member_has_one_sponsor(other):
    given(Member, "m-1", [ENROLLED, SPONSOR]).when(
        lambda m: m.assign_role(*received(other, "sponsor"))).then_raises(
        Conflict, "has a sponsor")


@pytest.mark.parametrize("held", ["design_team", "driver", "facilitator"])
def test_a_sponsor_joins_a_member_whose_other_roles_are_held(held):
    represents = "teachers" if held == "design_team" else None
    given(Member, "m-1", [ENROLLED, role("p-2", held, represents)]).when(
        lambda m: m.assign_role(*received("p-1", "sponsor"))).then([role("p-1", "sponsor")])


@pytest.mark.parametrize("wanted", ["design_team", "driver", "facilitator"])
def test_a_member_with_a_sponsor_takes_other_roles(wanted):
    represents = "teachers" if wanted == "design_team" else None
    given(Member, "m-1", [ENROLLED, SPONSOR]).when(
        lambda m: m.assign_role(*received("p-2", wanted, represents))).then([
            role("p-2", wanted, represents)])


HELD = [ENROLLED, role("p-1", "driver"), role("p-5", "driver"),
        role("p-5", "design_team", "teachers"), role("p-9", "driver")]


@pytest.mark.parametrize("person, role_", [
    ("p-0", "driver"), ("p-3", "driver"), ("p-7", "driver"), ("p-99", "driver"),
    ("p-5", "sponsor"), ("p-5", "facilitator"), ("p-5", "coach"), ("p-5", "alumni"),
    ("p-1", "design_team"), ("p-9", "design_team")])
def test_removing_a_role_that_is_not_held_is_refused(person, role_):
    given(Member, "m-1", HELD).when(lambda m: m.remove_role(*received(person, role_))) \
        .then_raises(Conflict, "is not")


@pytest.mark.parametrize("person, role_", [
    ("p-1", "driver"), ("p-5", "driver"), ("p-5", "design_team"), ("p-9", "driver")])
def test_removing_a_role_ends_that_role_only(person, role_):
    member = given(Member, "m-1", HELD).when(
        lambda m: m.remove_role(*received(person, role_))).then([
            ("RoleRemoved", {"person_id": person, "role": role_})])
    held = {(r["person_id"], r["role"]) for r in member.roles}
    assert held == {("p-1", "driver"), ("p-5", "driver"), ("p-5", "design_team"),
                    ("p-9", "driver")} - {(person, role_)}


# -- tenancy ---------------------------------------------------------------------------------

def person(hub="el-dorado", member="camino", erased=False):
    history = [("PersonAdded", {"hub_id": hub, "member_id": member, "position": "teacher"})]
    if erased:
        history.append(("PersonErased", {}))
    return given(Person, "per-1", history).instance


@pytest.mark.parametrize("hub", ["alpine", "el-dorado-2", "el", "placer", "yolo"])
def test_a_person_of_another_hub_takes_no_role(hub):
    given(Member, "camino", [ENROLLED]).when(
        lambda m: m.assign_role_to(person(hub=hub), received("driver"))).then_raises(
        NotFound, "no person")


def test_a_person_of_the_members_hub_takes_a_role_unless_erased():
    given(Member, "camino", [ENROLLED]).when(
        lambda m: m.assign_role_to(person(member="gold-oak"), received("driver"))).then([
            ("RoleAssigned", {"person_id": "per-1", "role": "driver", "represents": None})])
    given(Member, "camino", [ENROLLED]).when(
        lambda m: m.assign_role_to(person(erased=True), received("driver"))).then_raises(
        NotFound, "no person")


@pytest.mark.parametrize("hub, member", [
    ("alpine", "camino"), ("placer", "camino"), ("el-dorado", "buckeye"),
    ("el-dorado", "gold-oak"), ("el-dorado", None)])
def test_a_roster_row_never_takes_over_a_person_of_another_hub_or_member(hub, member):
    us = given(Member, received("camino"), [ENROLLED]).instance
    assert staff_row_outcome(us, person(hub=hub, member=member), ("A B", None), "A B",
                             None) == ELSEWHERE


def test_a_roster_row_of_our_own_staff_is_ours():
    us = given(Member, received("camino"), [ENROLLED]).instance
    assert staff_row_outcome(us, person(), ("A B", None), *received("A B", None)) == UNCHANGED


def test_a_person_is_added_once():
    added = given(Person, "p-1").when(lambda p: p.add(*received("el-dorado", "camino",
                                                                 "teacher"))).then([
        ("PersonAdded", {"hub_id": "el-dorado", "member_id": "camino", "position": "teacher"})])
    assert (added.hub_id, added.member_id, added.position) == ("el-dorado", "camino", "teacher")
    given(Person, "p-1", [("PersonAdded", {"hub_id": "h"})]).when(lambda p: p.add("h")) \
        .then_raises(Conflict, "exists already")


# -- readiness -------------------------------------------------------------------------------

@pytest.mark.parametrize("held, checks", [
    ("sponsor", {"sponsor"}), ("driver", {"driver"}), ("facilitator", set()),
    ("design_team", set())])
def test_each_role_counts_for_its_own_check_only(held, checks):
    represents = "teachers" if held == "design_team" else None
    member = given(Member, "m-1", [ENROLLED, role("p-1", held, represents)]).instance
    assert {name for name, done in member.prework_checks().items() if done} == checks


def test_a_design_team_representing_every_group_is_representative():
    member = given(Member, "m-1", [ENROLLED, *TEAM.values()]).instance
    assert member.prework_checks()["representative_design_team"] is True
    assert readiness(member)["details"] == []


@pytest.mark.parametrize("absent", DESIGN_TEAM_GROUPS)
def test_a_design_team_missing_one_group_is_not_representative(absent):
    others = [r for group, r in TEAM.items() if group != absent]
    member = given(Member, "m-1", [ENROLLED, SPONSOR, role("p-2", "driver"), *others,
                                   ONBOARDED]).instance
    assert member.prework_checks()["representative_design_team"] is False
    assert member.prework_missing() == ["representative_design_team"]
    result = readiness(member, True, True)
    assert result["ready"] is False
    assert result["missing"] == ["representative_design_team"]
    assert result["details"] == [f"design team does not represent: {absent}"]


def literal(*values):
    """Arguments as Python code passes them: the caller's own (interned) literals."""
    return values[0] if len(values) == 1 else values


@pytest.mark.parametrize("arguments", [received, literal])
def test_a_design_team_assigned_by_commands_is_representative_when_it_is_complete(arguments):
    member = given(Member, "m-1", [ENROLLED]).instance
    for i, group in enumerate(DESIGN_TEAM_GROUPS[:-1]):
        member.assign_role(*arguments(f"p-{i}", "design_team", group))
    assert member.prework_checks()["representative_design_team"] is False
    assert readiness(member)["details"] == ["design team does not represent: support_staff"]
    member.assign_role(*arguments("p-9", "design_team", "support_staff"))
    assert member.prework_checks()["representative_design_team"] is True
    assert readiness(member)["details"] == []


def test_a_complete_member_is_ready():
    member = given(Member, "m-1", COMPLETE).instance
    assert member.prework_missing() == []
    assert readiness(member, True, True)["ready"] is True
    assert readiness(member, False, True)["ready"] is False
    assert readiness(member, True, False)["ready"] is False


def test_an_offboarded_member_is_never_ready():
    member = given(Member, "m-1", [*COMPLETE, OFFBOARDED]).instance
    assert member.prework_missing() == ["active"]
    assert readiness(member, True, True)["ready"] is False


def test_a_member_never_enrolled_is_not_ready_whatever_roles_it_holds():
    member = given(Member, "m-1", [*READY[1:], ONBOARDED]).instance
    assert readiness(member, True, True)["ready"] is False


# -- the pre-work notice -----------------------------------------------------------------------

WITHOUT_DRIVER = [r for r in READY if r != role("p-2", "driver")]


@pytest.mark.parametrize("history, command, events", [
    ([*WITHOUT_DRIVER, ONBOARDED], lambda m: m.assign_role(*received("p-2", "driver")),
     [role("p-2", "driver"), PREWORK_DONE]),
    ([*READY[:-1], ONBOARDED],
     lambda m: m.assign_role(*received("p-6", "design_team", "support_staff")),
     [role("p-6", "design_team", "support_staff"), PREWORK_DONE]),
    ([*READY[:-1], ONBOARDED],
     lambda m: m.assign_role_to(given(Person, "p-6", [("PersonAdded", {
         "hub_id": "el-dorado"})]).instance, *received("design_team", "support_staff")),
     [role("p-6", "design_team", "support_staff"), PREWORK_DONE]),
    (READY, lambda m: m.complete_onboarding(), [ONBOARDED, PREWORK_DONE]),
    (COMPLETE, lambda m: m.remove_role(*received("p-1", "sponsor")), [
        ("RoleRemoved", {"person_id": "p-1", "role": "sponsor"}),
        ("MemberPreworkChanged", {"ready": False, "missing": ["sponsor"]})]),
    (COMPLETE, lambda m: m.remove_role(*received("p-4", "design_team")), [
        ("RoleRemoved", {"person_id": "p-4", "role": "design_team"}),
        ("MemberPreworkChanged", {"ready": False, "missing": ["representative_design_team"]})]),
    (COMPLETE, lambda m: m.forget_person(received("p-2")), [
        ("RoleRemoved", {"person_id": "p-2", "role": "driver"}),
        ("MemberPreworkChanged", {"ready": False, "missing": ["driver"]})]),
    (COMPLETE, lambda m: m.offboard(received("merged")), [
        ("MemberOffboarded", {"reason": "merged", "released_people": [
            "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]}),
        ("MemberPreworkChanged", {"ready": False, "missing": ["active"]})]),
])
def test_the_pre_work_notice_follows_every_command_that_completes_or_breaks_it(
        history, command, events):
    given(Member, "m-1", history).when(command).then(events)


@pytest.mark.parametrize("history, command, events", [
    # incomplete before and after
    (WITHOUT_DRIVER, lambda m: m.complete_onboarding(), [ONBOARDED]),
    (WITHOUT_DRIVER, lambda m: m.assign_role(*received("p-2", "driver")),
     [role("p-2", "driver")]),
    ([*WITHOUT_DRIVER, ONBOARDED], lambda m: m.remove_role(*received("p-1", "sponsor")),
     [("RoleRemoved", {"person_id": "p-1", "role": "sponsor"})]),
    ([*WITHOUT_DRIVER, ONBOARDED], lambda m: m.forget_person(received("p-1")),
     [("RoleRemoved", {"person_id": "p-1", "role": "sponsor"})]),
    (READY, lambda m: m.offboard(received("merged")), [
        ("MemberOffboarded", {"reason": "merged", "released_people": [
            "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]})]),
    # complete before and after
    (COMPLETE, lambda m: m.assign_role(*received("p-7", "facilitator")),
     [role("p-7", "facilitator")]),
    ([*COMPLETE, role("p-7", "driver")], lambda m: m.remove_role(*received("p-2", "driver")),
     [("RoleRemoved", {"person_id": "p-2", "role": "driver"})]),
    ([*COMPLETE, role("p-7", "design_team", "teachers")],
     lambda m: m.forget_person(received("p-5")),
     [("RoleRemoved", {"person_id": "p-5", "role": "design_team"})]),
    (COMPLETE, lambda m: m.forget_person(received("p-8")), []),
])
def test_no_pre_work_notice_when_the_pre_work_did_not_change(history, command, events):
    given(Member, "m-1", history).when(command).then(events)


# -- facilitation ------------------------------------------------------------------------------

CO = ("FacilitationHandedOver", {"stage": "co_facilitation", "facilitator_org": "Partner",
                                 "on": None})


def test_the_county_office_facilitates_under_its_own_name_when_none_is_named():
    hub = given(Hub, "el-dorado", [HUB, CO]).when(
        lambda h: h.hand_over(*received("county_office", None, "2018-07-01"))).then([
            ("FacilitationHandedOver", {"stage": "county_office",
                                        "facilitator_org": "El Dorado County Office of Education",
                                        "on": "2018-07-01"})])
    assert (hub.stage, hub.facilitator_org) == ("county_office",
                                                "El Dorado County Office of Education")
    assert [h["stage"] for h in hub.handovers] == ["co_facilitation", "county_office"]


def test_the_county_office_facilitates_under_the_name_given():
    given(Hub, "el-dorado", [HUB, CO]).when(
        lambda h: h.hand_over(*received("county_office", "EDCOE Innovation", None))).then([
            ("FacilitationHandedOver", {"stage": "county_office",
                                        "facilitator_org": "EDCOE Innovation", "on": None})])


def test_co_facilitation_keeps_the_partner_when_none_is_named():
    given(Hub, "el-dorado", [HUB]).when(
        lambda h: h.hand_over(*received("co_facilitation", None, None))).then([
            ("FacilitationHandedOver", {"stage": "co_facilitation",
                                        "facilitator_org": "Partner nonprofit", "on": None})])
