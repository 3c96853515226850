"""Membership: county hubs, their member organizations, the people of those members and their
roles, and the pre-work readiness of each member (DESIGN.md §7).

Plain Python: aggregates decide and record events; no I/O. People's names and emails never
enter an event (they live in a mutable table the service erases); events hold person ids.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import Conflict, NotFound, ValidationError
from eventstore.events import Upcasters

from .zones import main_time_zone

MEMBER_KINDS = ("district", "school", "county_office", "charter")
ROLES = ("sponsor", "driver", "design_team", "facilitator")
# Who a design team must represent to be representative.
DESIGN_TEAM_GROUPS = ("central_office", "principals", "teachers", "support_staff")
# Gradual release of facilitation, in order.
FACILITATION_STAGES = ("external", "co_facilitation", "county_office")
GRADE_SPAN = re.compile(r"^(TK|K|[1-9]|1[0-2])-(K|[1-9]|1[0-2])$")
# HubRegistered names the hub's time zone from version 2 on; UPCASTERS brings version 1 up.
HUB_REGISTERED_VERSION = 2

UPCASTERS = Upcasters()


@UPCASTERS.register("HubRegistered", 1)
def _hub_registered_in_its_states_zone(data: dict[str, Any]) -> dict[str, Any]:
    """A hub registered before time zones plans in the main zone of its state."""
    return {**data, "time_zone": main_time_zone(data["state"])}


def _grade(value: str) -> int:
    return -1 if value == "TK" else 0 if value == "K" else int(value)


def check_grade_span(span: str) -> None:
    match = GRADE_SPAN.match(span or "")
    if not match or _grade(match.group(1)) > _grade(match.group(2)):
        raise ValidationError(f"grade span {span!r} is not like K-8 or 9-12",
                              {"grade_span": ["like K-8, TK-5 or 9-12, lowest grade first"]})


class Hub(Aggregate):
    """A county office of education running a network."""

    stream_type = "hub"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.name = ""
        self.county_code: str | None = None
        self.state = ""
        self.stage = ""
        self.facilitator_org = ""
        self.time_zone = ""
        self.handovers: list[dict[str, Any]] = []

    def register(self, name: str, state: str, county_code: str | None,
                 facilitator_org: str, time_zone: str | None = None) -> None:
        """``time_zone``: the IANA zone the hub plans in (checked by the request's schema);
        the main zone of its state when it names none."""
        if self.exists:
            raise Conflict(f"hub {self.id} is registered already")
        self.record("HubRegistered", name=name, state=state, county_code=county_code,
                    facilitator_org=facilitator_org, stage="external",
                    time_zone=time_zone or main_time_zone(state))
        self.pending[-1] = replace(self.pending[-1], schema_version=HUB_REGISTERED_VERSION)

    def hand_over(self, stage: str, facilitator_org: str | None, on: str | None) -> None:
        current = FACILITATION_STAGES.index(self.stage)
        wanted = FACILITATION_STAGES.index(stage)
        if wanted != current + 1:
            raise Conflict(f"facilitation moves one stage at a time "
                           f"({' → '.join(FACILITATION_STAGES)}); it is at {self.stage}")
        org = facilitator_org or (self.name if stage == "county_office" else self.facilitator_org)
        self.record("FacilitationHandedOver", stage=stage, facilitator_org=org, on=on)

    @applies("HubRegistered")
    def _registered(self, data: dict[str, Any]) -> None:
        self.hub_id = self.id
        self.name, self.state = data["name"], data["state"]
        self.county_code, self.facilitator_org = data["county_code"], data["facilitator_org"]
        self.stage, self.time_zone = data["stage"], data["time_zone"]

    @applies("FacilitationHandedOver")
    def _handed_over(self, data: dict[str, Any]) -> None:
        self.stage, self.facilitator_org = data["stage"], data["facilitator_org"]
        self.handovers.append(data)


def _notes_prework(command):
    """After the command, record MemberPreworkChanged when the member's own pre-work becomes
    complete or stops being complete: the cycles service lets a member start the design
    process only when it is."""
    def wrapped(self: Member, *args: Any, **kwargs: Any) -> None:
        before = self.prework_missing()
        command(self, *args, **kwargs)
        after = self.prework_missing()
        if bool(after) != bool(before):
            self.record("MemberPreworkChanged", ready=not after, missing=after)
    wrapped.__name__, wrapped.__doc__ = command.__name__, command.__doc__
    return wrapped


class Member(Aggregate):
    """A member organization of a hub: a district, school, county office or charter."""

    stream_type = "member"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.name = ""
        self.kind = ""
        self.grade_span = ""
        self.enrollment = 0
        self.cds_code: str | None = None
        self.nces_id: str | None = None
        self.status = ""
        self.onboarded = False
        self.roles: list[dict[str, Any]] = []

    def enroll(self, hub_id: str, name: str, kind: str, grade_span: str, enrollment: int,
               cds_code: str | None = None, nces_id: str | None = None) -> None:
        if self.exists:
            raise Conflict(f"member {self.id} is enrolled already")
        if kind not in MEMBER_KINDS:
            raise ValidationError(f"kind {kind!r} is unknown", {"kind": [
                f"one of {', '.join(MEMBER_KINDS)}"]})
        check_grade_span(grade_span)
        if not isinstance(enrollment, int) or enrollment < 0:
            raise ValidationError("enrollment is a count of students",
                                  {"enrollment": ["a whole number, 0 or more"]})
        self.record("MemberEnrolled", hub_id=hub_id, name=name, kind=kind,
                    grade_span=grade_span, enrollment=enrollment, cds_code=cds_code,
                    nces_id=nces_id)

    def require_active(self) -> None:
        """An off-boarded member takes no new roles, onboarding or staff."""
        if self.status == "offboarded":
            raise Conflict(f"member {self.id} has been off-boarded")

    @_notes_prework
    def assign_role(self, person_id: str, role: str, represents: str | None = None) -> None:
        self.require_active()
        if role not in ROLES:
            raise ValidationError(f"role {role!r} is unknown",
                                  {"role": [f"one of {', '.join(ROLES)}"]})
        if role == "design_team":
            if represents not in DESIGN_TEAM_GROUPS:
                raise ValidationError(
                    "a design team member represents a group",
                    {"represents": [f"one of {', '.join(DESIGN_TEAM_GROUPS)}"]})
        elif represents is not None:
            raise ValidationError("only design team members represent a group",
                                  {"represents": ["only for role design_team"]})
        if any(r["person_id"] == person_id and r["role"] == role for r in self.roles):
            raise Conflict(f"person {person_id} is {role} of {self.id} already")
        if role == "sponsor" and any(r["role"] == "sponsor" for r in self.roles):
            raise Conflict(f"member {self.id} has a sponsor; remove that role first")
        self.record("RoleAssigned", person_id=person_id, role=role, represents=represents)

    def assign_role_to(self, person: Person, role: str, represents: str | None = None) -> None:
        """A role for one of the hub's people (an erased person takes none)."""
        if person.hub_id != self.hub_id or person.erased:
            # The words of a missing person: another county's tell nothing of it.
            raise NotFound(f"no person {person.id}")
        self.assign_role(person.id, role, represents)

    @_notes_prework
    def remove_role(self, person_id: str, role: str) -> None:
        if not any(r["person_id"] == person_id and r["role"] == role for r in self.roles):
            raise Conflict(f"person {person_id} is not {role} of {self.id}")
        self.record("RoleRemoved", person_id=person_id, role=role)

    @_notes_prework
    def complete_onboarding(self) -> None:
        self.require_active()
        if self.onboarded:
            raise Conflict(f"member {self.id} has completed onboarding already")
        self.record("OnboardingCompleted")

    @_notes_prework
    def offboard(self, reason: str) -> None:
        self.require_active()
        self.record("MemberOffboarded", reason=reason,
                    released_people=sorted({r["person_id"] for r in self.roles}))

    @_notes_prework
    def forget_person(self, person_id: str) -> None:
        """A person was erased: their roles end (the events keep only their id)."""
        for role in sorted({r["role"] for r in self.roles if r["person_id"] == person_id}):
            self.record("RoleRemoved", person_id=person_id, role=role)

    def prework_checks(self) -> dict[str, bool]:
        """The pre-work membership knows itself (the rest is the cycles service's)."""
        represented = {r["represents"] for r in self.roles if r["role"] == "design_team"}
        return {
            "sponsor": any(r["role"] == "sponsor" for r in self.roles),
            "driver": any(r["role"] == "driver" for r in self.roles),
            "representative_design_team": set(DESIGN_TEAM_GROUPS) <= represented,
            "onboarding_completed": self.onboarded,
        }

    def prework_missing(self) -> list[str]:
        if self.status == "offboarded":
            return ["active"]
        return [name for name, done in self.prework_checks().items() if not done]

    @applies("MemberPreworkChanged")
    def _prework_changed(self, data: dict[str, Any]) -> None:
        pass   # a consequence of the state, recorded for other services

    @applies("MemberEnrolled")
    def _enrolled(self, data: dict[str, Any]) -> None:
        self.hub_id = data["hub_id"]
        for key in ("name", "kind", "grade_span", "enrollment", "cds_code", "nces_id"):
            setattr(self, key, data[key])
        self.status = "active"

    @applies("RoleAssigned")
    def _role_assigned(self, data: dict[str, Any]) -> None:
        self.roles.append({"person_id": data["person_id"], "role": data["role"],
                           "represents": data.get("represents")})

    @applies("RoleRemoved")
    def _role_removed(self, data: dict[str, Any]) -> None:
        self.roles = [r for r in self.roles
                      if not (r["person_id"] == data["person_id"] and r["role"] == data["role"])]

    @applies("OnboardingCompleted")
    def _onboarded(self, data: dict[str, Any]) -> None:
        self.onboarded = True

    @applies("MemberOffboarded")
    def _offboarded(self, data: dict[str, Any]) -> None:
        self.status = "offboarded"
        self.roles = []


class Person(Aggregate):
    """An adult working in the network. The aggregate knows only ids; PII lives elsewhere."""

    stream_type = "person"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.erased = False
        self.member_id: str | None = None
        self.position: str | None = None

    def add(self, hub_id: str, member_id: str | None = None,
            position: str | None = None) -> None:
        """``member_id`` and ``position`` (teacher, administrator, …) when the person is one
        of a member's staff, as a roster import knows them."""
        if self.exists:
            raise Conflict(f"person {self.id} exists already")
        self.record("PersonAdded", hub_id=hub_id, member_id=member_id, position=position)

    def erase(self) -> None:
        if self.erased:
            raise Conflict(f"person {self.id} has been erased already")
        self.record("PersonErased")

    @applies("PersonAdded")
    def _added(self, data: dict[str, Any]) -> None:
        self.hub_id = data["hub_id"]
        self.member_id, self.position = data.get("member_id"), data.get("position")

    @applies("PersonErased")
    def _erased(self, data: dict[str, Any]) -> None:
        self.erased = True


def readiness(member: Member, problem_adopted: bool = False,
              goals_set: bool = False) -> dict[str, Any]:
    """The pre-work checklist of a member and what is missing.

    Adopting a problem of practice and setting SMART goals happen in the cycles service;
    membership hears of them from its events (ProjectOpened, SmartGoalsSet).
    """
    checks = {**member.prework_checks(), "problem_of_practice_adopted": problem_adopted,
              "smart_goals_set": goals_set}
    missing = [name for name, done in checks.items() if not done]
    details = []
    if not checks["representative_design_team"]:
        represented = {r["represents"] for r in member.roles if r["role"] == "design_team"}
        absent = [g for g in DESIGN_TEAM_GROUPS if g not in represented]
        details.append(f"design team does not represent: {', '.join(absent)}")
    return {"member_id": member.id, "ready": not missing and member.status == "active",
            "checks": checks, "missing": missing, "details": details}


# What one row of a roster import does to a member's staff.
IMPORTED, UPDATED, UNCHANGED, ERASED, ELSEWHERE = (
    "imported", "updated", "unchanged", "erased", "elsewhere")


def staff_row_outcome(member: Member, person: Person | None,
                      on_file: tuple[str, str | None] | None, name: str,
                      email: str | None) -> str:
    """A roster row names a person by the id derived from the member and the row's sourcedId:
    a new person is imported; one already on file is unchanged, or updated when the name or
    email changed; an erased person is never brought back by a roster; an id held by anyone
    but this member's staff is refused (``ELSEWHERE``), never taken over."""
    if person is None:
        return IMPORTED
    if person.hub_id != member.hub_id or person.member_id != member.id:
        return ELSEWHERE
    if person.erased:
        return ERASED
    return UNCHANGED if on_file == (name, email) else UPDATED
