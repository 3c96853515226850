"""The events membership publishes for other services: their contracts (eventstore.contracts).

Other services know hubs, members and people only from these. Ids, never names of people or
emails: a person's personal data stays in membership (erasure). A service that needs hubs,
members and roles includes membership's directory of them (services/membership/directory)
rather than consuming these itself.
"""

from __future__ import annotations

from eventstore.contracts import PublicForm, Published


class HubRegistered(Published, source="membership", schema_version=2):
    """A county office's network joined the consortium (the stream id is the hub's id).
    ``time_zone``: the IANA zone the hub plans in (version 2; a hub registered before plans in
    the main zone of its state)."""
    name: str
    state: str
    county_code: str | None
    facilitator_org: str
    stage: str
    time_zone: str
    public = PublicForm(fields=("name", "state", "county_code", "facilitator_org", "stage",
                                "time_zone"))


class FacilitationHandedOver(Published, source="membership"):
    """Facilitation moved one stage towards the county office (gradual release)."""
    stage: str
    facilitator_org: str
    on: str | None
    public = PublicForm(fields=("stage", "facilitator_org", "on"))


class MemberEnrolled(Published, source="membership"):
    """A district, school, county office or charter joined a hub (the stream id is the
    member's id). ``enrollment`` is a count of students: cost splits weigh by it."""
    hub_id: str
    name: str
    kind: str
    grade_span: str
    enrollment: int
    cds_code: str | None
    nces_id: str | None
    public = PublicForm(fields=("hub_id", "name", "kind", "grade_span", "cds_code", "nces_id"),
                        counts=("enrollment",))


class MemberOffboarded(Published, source="membership"):
    """A member left its hub; its people's roles ended with it."""
    reason: str
    released_people: list[str]
    # That it left; not why (words written by people) nor whose roles ended.
    public = PublicForm()


class MemberPreworkChanged(Published, source="membership"):
    """A member's own pre-work (sponsor, driver, representative design team, onboarding)
    became complete, or stopped being so: the cycles service lets the member start its design
    process only when it is. Apply the newest by the stream's version."""
    ready: bool
    missing: list[str]
    public = PublicForm(fields=("ready", "missing"))


class RoleAssigned(Published, source="membership"):
    """A person took a role at a member (the stream id is the member's, the event's hub its
    hub): sponsor, driver, design_team (``represents`` a group), facilitator. Ids only."""
    person_id: str
    role: str
    represents: str | None
    # That a member has a driver or a design team; never who.
    public = PublicForm(fields=("role", "represents"))


class RoleRemoved(Published, source="membership"):
    """A person's role at a member ended (also when the person was erased; every role of a
    member ends when it is off-boarded, with MemberOffboarded alone)."""
    person_id: str
    role: str
    public = PublicForm(fields=("role",))


class PersonAdded(Published, source="membership"):
    """An adult of a hub, by id only (the stream id is the person's id)."""
    hub_id: str
    member_id: str | None
    position: str | None


class PersonErased(Published, source="membership"):
    """A person's personal data was erased: forget anything kept about them."""
