"""Membership rules on both sides of their boundaries (issue 11): readiness's sponsor check,
the pre-work notice after every command that can change it, erasure reaching only the erased
person, and facilitation that never moves backwards."""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict
from eventstore.testing import given
from services.membership.domain import Hub, Member
from tests.unit.test_membership_domain import ENROLLED, HUB, READY, SPONSOR, role

ONBOARDED = ("OnboardingCompleted", {})


def test_the_sponsor_check_needs_a_sponsor_not_any_role():
    only_driver = given(Member, "m-1", [ENROLLED, role("p-2", "driver")]).instance
    assert only_driver.prework_checks()["sponsor"] is False
    assert only_driver.prework_checks()["driver"] is True
    sponsored = given(Member, "m-1", [ENROLLED, SPONSOR]).instance
    assert sponsored.prework_checks()["sponsor"] is True
    assert sponsored.prework_checks()["driver"] is False


def test_assigning_the_last_missing_role_says_the_pre_work_is_complete():
    without_driver = [r for r in READY if r != role("p-2", "driver")]
    given(Member, "m-1", [*without_driver, ONBOARDED]).when(
        lambda m: m.assign_role("p-2", "driver")).then([
            role("p-2", "driver"), ("MemberPreworkChanged", {"ready": True, "missing": []})])


def test_erasing_someone_the_pre_work_needs_says_it_is_incomplete_again():
    given(Member, "m-1", [*READY, ONBOARDED]).when(lambda m: m.forget_person("p-1")).then([
        ("RoleRemoved", {"person_id": "p-1", "role": "sponsor"}),
        ("MemberPreworkChanged", {"ready": False, "missing": ["sponsor"]})])


@pytest.mark.parametrize("erased", ["p-1", "p-5", "p-9"])   # ids sorting before and after
def test_erasing_a_person_ends_their_roles_and_nobody_elses(erased):
    history = [ENROLLED, role("p-1", "driver"), role("p-5", "driver"),
               role("p-5", "design_team", "teachers"), role("p-9", "driver")]
    member = given(Member, "m-1", history).when(lambda m: m.forget_person(erased)).instance
    remaining = {(r["person_id"], r["role"]) for r in member.roles}
    before = {("p-1", "driver"), ("p-5", "driver"), ("p-5", "design_team"), ("p-9", "driver")}
    assert remaining == {r for r in before if r[0] != erased}
    assert all(e.data["person_id"] == erased for e in member.pending)


def test_forgetting_someone_without_roles_records_nothing():
    given(Member, "m-1", [ENROLLED, SPONSOR]).when(lambda m: m.forget_person("p-7")).then([])


CO = ("FacilitationHandedOver", {"stage": "co_facilitation", "facilitator_org": "Partner",
                                 "on": None})
COUNTY = ("FacilitationHandedOver", {"stage": "county_office",
                                     "facilitator_org": "El Dorado County Office of Education",
                                     "on": None})


@pytest.mark.parametrize("history, stage", [
    ([HUB, CO], "external"), ([HUB, CO, COUNTY], "co_facilitation"),
    ([HUB, CO, COUNTY], "external"), ([HUB, CO], "co_facilitation"),
    ([HUB, CO, COUNTY], "county_office")])
def test_facilitation_never_moves_backwards_nor_stays(history, stage):
    given(Hub, "el-dorado", history).when(lambda h: h.hand_over(stage, None, None)) \
        .then_raises(Conflict, "one stage at a time")


def test_the_partner_keeps_co_facilitating_unless_another_is_named():
    given(Hub, "el-dorado", [HUB]).when(lambda h: h.hand_over("co_facilitation", "Other",
                                                              None)).then([
        ("FacilitationHandedOver", {"stage": "co_facilitation", "facilitator_org": "Other",
                                    "on": None})])
