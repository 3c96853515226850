"""The rules by which a service's directory of membership reads membership's news
(services/membership/domain/directory.py), in whatever order the news arrives."""

from __future__ import annotations

import dataclasses

import pytest

from eventstore.testing import received
from services.membership.domain.directory import (
    ACTIVE,
    OFFBOARDED,
    HubEntry,
    MemberEntry,
    Prework,
    RoleEntry,
)


def member(**kwargs):
    entry = MemberEntry("el-dorado.07", "el-dorado", **kwargs)
    entry.enrolled(*received("Buckeye Union", "district", "K-8", 5041))
    return entry


# -- readiness, by the version of the member's stream -------------------------------------------

def test_newer_readiness_replaces_what_is_kept_and_older_or_the_same_changes_nothing():
    kept = Prework(True, (), 5)
    assert kept.after(Prework(False, ("driver",), 6)) == Prework(False, ("driver",), 6)
    assert kept.after(Prework(False, ("driver",), 5)) is kept
    assert kept.after(Prework(False, ("driver",), 4)) is kept


def test_readiness_not_yet_said_is_not_ready_and_any_news_replaces_it():
    assert Prework() == Prework(False, (), 0)
    assert Prework().after(Prework(True, (), 1)) == Prework(True, (), 1)


def test_a_member_is_ready_by_its_newest_readiness_whatever_order_it_arrives_in():
    entry = member()
    entry.prework_changed(*received(True, [], 9))
    entry.prework_changed(*received(False, ["sponsor"], 4))   # older, arriving late
    assert entry.prework == Prework(True, (), 9) and entry.ready
    entry.prework_changed(*received(False, ["sponsor", "driver"], 12))
    assert entry.prework == Prework(False, ("sponsor", "driver"), 12) and not entry.ready


def test_an_offboarded_member_is_inactive_and_never_ready_whatever_its_prework_said():
    entry = member()
    entry.prework_changed(*received(True, [], 9))
    entry.offboarded(14)
    assert (entry.status, entry.active, entry.ready) == (OFFBOARDED, False, False)
    entry.prework_changed(*received(True, [], 15))
    assert not entry.ready


def test_an_enrollment_that_arrives_after_the_offboarding_does_not_bring_the_member_back():
    entry = MemberEntry("el-dorado.07", "el-dorado")
    entry.offboarded(14)
    assert not entry.known
    entry.enrolled(*received("Buckeye Union", "district", "K-8", 5041))
    assert entry.known and entry.status == OFFBOARDED and not entry.active
    assert (entry.name, entry.kind, entry.grade_span, entry.enrollment) == (
        "Buckeye Union", "district", "K-8", 5041)


def test_a_member_is_unknown_until_its_enrollment_arrives_and_active_once_it_does():
    entry = MemberEntry("el-dorado.07", "el-dorado")
    entry.prework_changed(*received(True, [], 9))
    assert not entry.known and entry.status == ACTIVE
    entry.enrolled(*received("Buckeye Union", "district", "K-8", 5041))
    assert entry.known and entry.active and entry.ready


# -- roles: kept and ended ----------------------------------------------------------------------

def held(entry):
    return [(r.person_id, r.role, r.represents) for r in entry.held()]


def test_an_assigned_role_is_held_until_it_is_removed():
    entry = member()
    entry.role_assigned(*received("per-1", "design_team", "teachers", 2))
    entry.role_assigned(*received("per-2", "sponsor", None, 3))
    assert held(entry) == [("per-1", "design_team", "teachers"), ("per-2", "sponsor", None)]
    entry.role_removed(*received("per-1", "design_team", 4))
    assert held(entry) == [("per-2", "sponsor", None)]
    # The ended role is kept, with what it represented and the version that ended it.
    assert entry.roles[("per-1", "design_team")] == RoleEntry("per-1", "design_team",
                                                              "teachers", False, 4)


def test_a_removal_that_arrives_before_its_assignment_keeps_the_role_ended():
    entry = member()
    entry.role_removed(*received("per-1", "driver", 5))
    entry.role_assigned(*received("per-1", "driver", None, 4))   # older, arriving late
    assert held(entry) == []
    assert entry.roles[("per-1", "driver")] == RoleEntry("per-1", "driver", None, False, 5)


def test_a_role_given_again_after_its_removal_is_held_again():
    entry = member()
    for news in (("per-1", "driver", None, 2), ("per-1", "driver", 3),
                 ("per-1", "driver", None, 6)):
        (entry.role_assigned if len(news) == 4 else entry.role_removed)(*received(*news))
    assert held(entry) == [("per-1", "driver", None)]
    assert entry.roles[("per-1", "driver")].version == 6


def test_news_of_a_role_as_old_as_what_is_kept_changes_nothing():
    entry = member()
    entry.role_assigned(*received("per-1", "driver", None, 4))
    entry.role_removed(*received("per-1", "driver", 4))
    assert held(entry) == [("per-1", "driver", None)]


def test_one_persons_roles_are_kept_apart_by_role_and_from_other_peoples():
    entry = member()
    entry.role_assigned(*received("per-1", "driver", None, 2))
    entry.role_assigned(*received("per-1", "sponsor", None, 3))
    entry.role_assigned(*received("per-2", "driver", None, 4))
    entry.role_removed(*received("per-1", "driver", 5))
    assert held(entry) == [("per-1", "sponsor", None), ("per-2", "driver", None)]


def test_offboarding_ends_every_role_and_an_assignment_arriving_after_it_is_ended_too():
    entry = member()
    entry.role_assigned(*received("per-1", "sponsor", None, 2))
    entry.role_assigned(*received("per-2", "driver", None, 3))
    entry.role_removed(*received("per-2", "driver", 4))
    entry.offboarded(9)
    assert held(entry) == []
    assert entry.roles[("per-1", "sponsor")] == RoleEntry("per-1", "sponsor", None, False, 9)
    # A role ended before stays as it ended.
    assert entry.roles[("per-2", "driver")] == RoleEntry("per-2", "driver", None, False, 4)
    entry.role_assigned(*received("per-3", "design_team", "principals", 5))
    assert held(entry) == []
    assert entry.roles[("per-3", "design_team")].held is False


def test_an_ended_role_keeps_its_newest_version_when_the_member_leaves_after_older_news():
    entry = member()
    entry.role_removed(*received("per-1", "driver", 12))
    entry.offboarded(9)   # arriving after news newer than itself
    assert entry.roles[("per-1", "driver")].version == 12
    entry.role_assigned(*received("per-1", "driver", None, 11))
    assert held(entry) == []


# -- hubs ------------------------------------------------------------------------------------

def test_a_hub_is_unknown_until_its_registration_arrives():
    hub = HubEntry("el-dorado")
    hub.handed_over(*received("co_facilitation", 2))
    assert not hub.known and hub.stage == "co_facilitation"
    hub.registered(*received("El Dorado County Office of Education", "CA",
                             "America/Los_Angeles", "external", 1))
    assert hub.known and (hub.name, hub.state, hub.time_zone) == (
        "El Dorado County Office of Education", "CA", "America/Los_Angeles")
    # The stage handed over later is not undone by the registration arriving after it.
    assert (hub.stage, hub.stage_version) == ("co_facilitation", 2)


def test_a_hubs_stage_is_its_newest_hand_over():
    hub = HubEntry("el-dorado")
    hub.registered(*received("El Dorado", "CA", "America/Los_Angeles", "external", 1))
    # A new hub's stage is its registration's, the first news of its stream.
    assert (hub.stage, hub.stage_version) == ("external", 1)
    hub.handed_over(*received("county_office", 3))
    hub.handed_over(*received("co_facilitation", 2))
    assert (hub.stage, hub.stage_version) == ("county_office", 3)
    hub.handed_over(*received("external", 3))
    assert hub.stage == "county_office"


def test_what_is_kept_of_a_role_cannot_change_in_place():
    # The consumer writes back the roles whose entry is not the one it read: an entry changed
    # in place would compare equal to itself and never be written.
    entry = RoleEntry("per-1", "driver", None, True, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.held = False  # type: ignore[misc]


def test_a_status_read_back_from_the_database_reads_as_the_rules_wrote_it():
    # A row's status is a new string object, not the module's constant.
    active = MemberEntry("el-dorado.07", "el-dorado", "Buckeye Union", status="".join("active"))
    assert active.active
    assert not MemberEntry("el-dorado.07", "el-dorado", "x", status="".join(OFFBOARDED)).active
