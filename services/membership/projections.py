"""Membership's read model: the projections that keep its tables (inline: applied in the
command's transaction, for read-your-writes), and ``MembershipReadModel``, the queries of those
tables and the writes of the tables that are not projections (personal data, kept by the
kernel's ``PersonalData``; what the cycles service told about members)."""

from __future__ import annotations

from typing import Any

from eventstore.disclosure import Counts
from eventstore.errors import NotFound
from eventstore.personal import PersonalData
from eventstore.projections import Projection, handles
from eventstore.readmodel import ReadModel


class Hubs(Projection):
    name = "hubs"
    tables = ("hubs_view",)
    inline = True

    @handles("HubRegistered")
    def registered(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO hubs_view (id, name, state, county_code, stage,
                                              facilitator_org, time_zone, version)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                    (event.stream_id, d["name"], d["state"], d["county_code"], d["stage"],
                     d["facilitator_org"], d["time_zone"], event.version))

    @handles("FacilitationHandedOver")
    def handed_over(self, cur, event):
        cur.execute("""UPDATE hubs_view SET stage = %s, facilitator_org = %s, version = %s
                       WHERE id = %s""", (event.data["stage"], event.data["facilitator_org"],
                                          event.version, event.stream_id))


class Members(Projection):
    name = "members"
    tables = ("members_view",)
    inline = True

    @handles("MemberEnrolled")
    def enrolled(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO members_view (id, hub_id, name, kind, grade_span, enrollment,
                                                 cds_code, nces_id, status, version)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'active', %s)""",
                    (event.stream_id, d["hub_id"], d["name"], d["kind"], d["grade_span"],
                     d["enrollment"], d["cds_code"], d["nces_id"], event.version))

    @handles("RoleAssigned", "RoleRemoved")
    def versioned(self, cur, event):
        cur.execute("UPDATE members_view SET version = %s WHERE id = %s",
                    (event.version, event.stream_id))

    @handles("OnboardingCompleted")
    def onboarded(self, cur, event):
        cur.execute("UPDATE members_view SET onboarded = true, version = %s WHERE id = %s",
                    (event.version, event.stream_id))

    @handles("MemberOffboarded")
    def offboarded(self, cur, event):
        cur.execute("UPDATE members_view SET status = 'offboarded', version = %s WHERE id = %s",
                    (event.version, event.stream_id))


class People(Projection):
    name = "people"
    tables = ("people_view",)
    inline = True

    @handles("PersonAdded")
    def added(self, cur, event):
        cur.execute("""INSERT INTO people_view (id, hub_id, member_id, position)
                       VALUES (%s, %s, %s, %s)""",
                    (event.stream_id, event.data["hub_id"], event.data.get("member_id"),
                     event.data.get("position")))

    @handles("PersonErased")
    def erased(self, cur, event):
        cur.execute("UPDATE people_view SET erased = true WHERE id = %s", (event.stream_id,))


PROJECTIONS = [Hubs(), Members(), People()]


class MembershipReadModel(ReadModel):
    # Names and emails of adults: never in events, so erasure is a DELETE (DESIGN.md §5); an
    # erased person's kept answers say ``erased: true``.
    people = PersonalData("people_pii", subject="person_id", fields=("name", "email"),
                          erased={"erased": True})

    # -- hubs ----------------------------------------------------------------------------------

    def hub(self, hub_id: str) -> dict[str, Any]:
        self.caller.require_read(hub_id, "hub")
        hub = self.row("""SELECT id, name, state, county_code, stage, facilitator_org,
                                 time_zone, version
                          FROM hubs_view WHERE id = %s""", hub_id)
        if hub is None:
            raise NotFound(f"no hub {hub_id}")
        return hub

    def hubs(self, limit: int, after: str | None) -> dict[str, Any]:
        return self.page("""SELECT id, name, state, county_code, stage, facilitator_org,
                                   time_zone, version
                            FROM hubs_view WHERE (%s OR id = ANY(%s))
                            AND id > %s ORDER BY id LIMIT %s""",
                         self.caller.all_hubs, list(self.caller.hubs), after=after, limit=limit)

    # -- members -------------------------------------------------------------------------------

    def members(self, hub_id: str, limit: int, after: str | None) -> dict[str, Any]:
        self.hub(hub_id)   # an unknown hub is 404, not an empty list
        return self.page("""SELECT id, hub_id, name, kind, grade_span, enrollment, cds_code,
                                   nces_id, status, onboarded, version
                            FROM members_view WHERE hub_id = %s AND id > %s
                            ORDER BY id LIMIT %s""", hub_id, after=after, limit=limit)

    def cycles_progress(self, member_id: str) -> tuple[bool, bool]:
        """(problem of practice adopted, SMART goals set), as the cycles service told."""
        row = self.row("""SELECT problem_adopted, smart_goals_set FROM member_cycles
                          WHERE member_id = %s""", member_id)
        return (row["problem_adopted"], row["smart_goals_set"]) if row else (False, False)

    def project_opened(self, member_id: str) -> None:
        self.write("""INSERT INTO member_cycles (member_id, problem_adopted) VALUES (%s, true)
                      ON CONFLICT (member_id) DO UPDATE SET problem_adopted = true""",
                   member_id)

    def smart_goals_set(self, member_id: str) -> None:
        self.write("""INSERT INTO member_cycles (member_id, smart_goals_set) VALUES (%s, true)
                      ON CONFLICT (member_id) DO UPDATE SET smart_goals_set = true""",
                   member_id)

    # -- people and their personal data --------------------------------------------------------

    def staff(self, member_id: str, limit: int, after: str | None) -> dict[str, Any]:
        page = self.page("""SELECT v.id, v.hub_id, v.member_id, v.position, p.name, p.email,
                                   v.erased
                            FROM people_view v LEFT JOIN people_pii p ON p.person_id = v.id
                            WHERE v.member_id = %s AND v.id > %s ORDER BY v.id LIMIT %s""",
                         member_id, after=after, limit=limit)
        for person in page["items"]:
            if not self.may_see_contact(person["hub_id"], person["member_id"]):
                person["email"] = None
        return page

    def person(self, person: Any) -> dict[str, Any]:
        """A person as the API shows them: the aggregate's facts and their personal data."""
        name, email = self.people.get(person.id) or (None, None)
        if not self.may_see_contact(person.hub_id, person.member_id):
            email = None
        return {"id": person.id, "hub_id": person.hub_id, "member_id": person.member_id,
                "position": person.position, "name": name, "email": email,
                "erased": person.erased, "version": person.version}

    def may_see_contact(self, hub_id: str | None, member_id: str | None) -> bool:
        """A person's email is for those who run the hub (its facilitators, the admin) and
        for the person's own member; other members of the hub see their name only
        (decision 004, issue 15)."""
        caller = self.caller
        return caller.may_write_hub(hub_id) or (
            caller.role == "member" and member_id is not None and caller.member == member_id
            and caller.may_read_hub(hub_id))


# Enrollment bands of the agencies' summary (a member's own enrollment is suppressed under 11
# in its public form; a band says little of one district).
ENROLLMENT_BANDS = ((100, "under 100"), (500, "100 to 499"), (2000, "500 to 1,999"),
                    (None, "2,000 or more"))


def agency_summary(cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
    """Membership's part of the agencies' summary: each hub's name and stage, and its active
    members by kind and enrollment band."""
    cur.execute("""SELECT id, name, stage, facilitator_org FROM hubs_view
                   WHERE id = ANY(%s)""", (hubs,))
    found: dict[str, dict[str, Any]] = {
        hub: {"hub": {"name": name, "stage": stage, "facilitator_org": org},
              "members": Counts()} for hub, name, stage, org in cur.fetchall()}
    bands = " ".join(f"WHEN enrollment < {upper} THEN %s" for upper, _ in ENROLLMENT_BANDS[:-1])
    cur.execute(f"""SELECT hub_id, kind, CASE {bands} ELSE %s END, count(*)
                    FROM members_view WHERE hub_id = ANY(%s) AND status <> 'offboarded'
                    GROUP BY 1, 2, 3""", (*(label for _, label in ENROLLMENT_BANDS), hubs))
    for hub, kind, band, count in cur.fetchall():
        found[hub]["members"].setdefault(kind, {})[band] = count
    return found
