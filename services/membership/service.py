"""The membership service's entrypoints: translate, call the domain, answer. Thin on purpose."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from eventstore import dependencies
from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.dependencies import new_id, page, page_limit
from eventstore.errors import NotFound
from eventstore.validation import load

from . import schemas
from .domain import Hub, Member, Person, readiness
from .oneroster import read_staff
from .projections import PROJECTIONS


class Membership(dependencies.KernelEntrypoints):
    name = "membership"
    kernel = dependencies.Kernel(projections=PROJECTIONS)
    caller = dependencies.Caller()

    # -- hubs --------------------------------------------------------------------------------

    @rpc
    def register_hub(self, payload: dict, key: str | None = None) -> dict:
        caller = self.caller()
        caller.require_admin()
        data = load(schemas.HubCreate, payload)

        def run(session: Session) -> dict:
            hub = session.create(Hub, data.get("id") or new_id("hub"))
            hub.register(data["name"], data["state"], data.get("county_code"),
                         data["facilitator_org"])
            session.save(hub)
            return self._hub_view(session.cur, hub.id)
        return self.kernel.command(caller, run, key, ["register_hub", payload])

    @rpc
    def hand_over_facilitation(self, hub_id: str, payload: dict, key: str | None = None,
                               expected_version: int | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.FacilitationHandOver, payload)

        def run(session: Session) -> dict:
            hub = self.load(session, Hub, hub_id, "hub")
            caller.require_write(hub.hub_id, "hub")
            on = data.get("on")
            hub.hand_over(data["stage"], data.get("facilitator_org"),
                          on.isoformat() if on else None)
            session.save(hub, expected_version)
            return self._hub_view(session.cur, hub.id)
        return self.kernel.command(caller, run, key, ["hand_over", hub_id, payload])

    @rpc
    def get_hub(self, hub_id: str) -> dict:
        self.caller().require_read(hub_id, "hub")
        with self.kernel.reading(self.caller()) as cur:
            return self._hub_view(cur, hub_id)

    @rpc
    def list_hubs(self, limit: int = 50, after: str | None = None) -> dict:
        limit = page_limit(limit)
        caller = self.caller()
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT id FROM hubs_view WHERE (%s OR id = ANY(%s))
                           AND id > %s ORDER BY id LIMIT %s""",
                        (caller.all_hubs, list(caller.hubs), after or "", limit + 1))
            ids = [r[0] for r in cur.fetchall()]
            return page([self._hub_view(cur, i) for i in ids[:limit]],
                         len(ids) > limit)

    # -- members -----------------------------------------------------------------------------

    @rpc
    def enroll_member(self, hub_id: str, payload: dict, key: str | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.MemberCreate, payload)

        def run(session: Session) -> dict:
            hub = self.load(session, Hub, hub_id, "hub")
            caller.require_write(hub.id, "hub")
            member = session.create(Member, data.get("id") or new_id("mem"))
            member.enroll(hub.id, data["name"], data["kind"], data["grade_span"],
                          data["enrollment"], data.get("cds_code"), data.get("nces_id"))
            session.save(member)
            return _member_view(member)
        return self.kernel.command(caller, run, key, ["enroll", hub_id, payload])

    @rpc
    def get_member(self, member_id: str) -> dict:
        member = self._read_member(member_id)
        return _member_view(member)

    @rpc
    def list_members(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        limit = page_limit(limit)
        self.caller().require_read(hub_id, "hub")
        with self.kernel.reading(self.caller()) as cur:
            self._hub_view(cur, hub_id)   # an unknown hub is 404, not an empty list
            cur.execute("""SELECT id, hub_id, name, kind, grade_span, enrollment, cds_code,
                                  nces_id, status, onboarded, version
                           FROM members_view WHERE hub_id = %s AND id > %s
                           ORDER BY id LIMIT %s""", (hub_id, after or "", limit + 1))
            columns = [c.name for c in cur.description]
            rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
        return page(rows[:limit], len(rows) > limit)

    @rpc
    def offboard_member(self, member_id: str, payload: dict, key: str | None = None,
                        expected_version: int | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.Offboarding, payload)

        def run(session: Session) -> dict:
            member = self.load(session, Member, member_id, "member")
            caller.require_write(member.hub_id, "member")
            member.offboard(data["reason"])
            session.save(member, expected_version)
            return _member_view(member)
        return self.kernel.command(caller, run, key, ["offboard", member_id, payload])

    @rpc
    def assign_role(self, member_id: str, payload: dict, key: str | None = None,
                    expected_version: int | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.RoleAssignment, payload)

        def run(session: Session) -> dict:
            member = self.load(session, Member, member_id, "member")
            caller.require_write(member.hub_id, "member")
            person = self.load(session, Person, data["person_id"], "person")
            if person.hub_id != member.hub_id or person.erased:
                raise NotFound(f"no person {data['person_id']} in this hub")
            member.assign_role(person.id, data["role"], data.get("represents"))
            session.save(member, expected_version)
            return _member_view(member)
        return self.kernel.command(caller, run, key, ["assign_role", member_id, payload])

    @rpc
    def complete_onboarding(self, member_id: str, key: str | None = None,
                            expected_version: int | None = None) -> dict:
        caller = self.caller()

        def run(session: Session) -> dict:
            member = self.load(session, Member, member_id, "member")
            caller.require_write(member.hub_id, "member")
            member.complete_onboarding()
            session.save(member, expected_version)
            return _member_view(member)
        return self.kernel.command(caller, run, key, ["onboarding", member_id])

    @rpc
    def readiness(self, member_id: str) -> dict:
        member = self._read_member(member_id)
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT problem_adopted, smart_goals_set FROM member_cycles
                           WHERE member_id = %s""", (member_id,))
            adopted, goals = cur.fetchone() or (False, False)
        return readiness(member, adopted, goals)

    # -- what membership hears from the cycles service -----------------------------------------

    @consumes("cycles", "ProjectOpened")
    def on_project_opened(self, tx, event):
        tx.execute("""INSERT INTO member_cycles (member_id, problem_adopted) VALUES (%s, true)
                      ON CONFLICT (member_id) DO UPDATE SET problem_adopted = true""",
                   (event.data["member_id"],))

    @consumes("cycles", "SmartGoalsSet")
    def on_smart_goals_set(self, tx, event):
        tx.execute("""INSERT INTO member_cycles (member_id, smart_goals_set) VALUES (%s, true)
                      ON CONFLICT (member_id) DO UPDATE SET smart_goals_set = true""",
                   (event.data["member_id"],))

    # -- people ------------------------------------------------------------------------------

    @rpc
    def add_person(self, hub_id: str, payload: dict, key: str | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.PersonCreate, payload)

        def run(session: Session) -> dict:
            hub = self.load(session, Hub, hub_id, "hub")
            caller.require_write(hub.id, "hub")
            person = session.create(Person, data.get("id") or new_id("per"))
            person.add(hub.id)
            session.save(person)
            session.cur.execute(
                "INSERT INTO people_pii (person_id, name, email) VALUES (%s, %s, %s)",
                (person.id, data["name"], data.get("email")))
            return self._person_view(session.cur, person)
        return self.kernel.command(caller, run, key, ["add_person", hub_id, payload])

    @rpc
    def import_staff(self, member_id: str, payload: dict, key: str | None = None) -> dict:
        """Add a member's staff from a OneRoster 1.1 export. Good rows are imported, bad rows
        are reported by file and line; students and families are never imported. Importing
        the same export again changes nothing; a changed name or email is updated."""
        caller = self.caller()
        data = load(schemas.StaffImport, payload)

        def run(session: Session) -> dict:
            member = self.load(session, Member, member_id, "member")
            caller.require_write(member.hub_id, "member")
            member.require_active()
            roster = read_staff(data["orgs"], data["users"], member.id, member.name,
                                (member.nces_id, member.cds_code))
            apply = not data["dry_run"]
            people = []
            for row in roster.staff:
                person_id = row.person_id(member.id)
                try:
                    person = session.load(Person, person_id)
                except NotFound:
                    person = None
                if person is None:
                    outcome = "imported"
                    if apply:
                        person = session.create(Person, person_id)
                        person.add(member.hub_id, member.id, row.position)
                        session.save(person)
                        session.cur.execute("""INSERT INTO people_pii (person_id, name, email)
                                               VALUES (%s, %s, %s)""",
                                            (person_id, row.name, row.email))
                elif person.erased:
                    roster.skip("erased person")    # an erasure is not undone by a roster
                    continue
                else:
                    session.cur.execute("SELECT name, email FROM people_pii "
                                        "WHERE person_id = %s", (person_id,))
                    outcome = ("unchanged" if session.cur.fetchone() == (row.name, row.email)
                               else "updated")
                    if apply and outcome == "updated":
                        session.cur.execute("""UPDATE people_pii SET name = %s, email = %s
                                               WHERE person_id = %s""",
                                            (row.name, row.email, person_id))
                people.append({"id": person_id, "sourced_id": row.sourced_id,
                               "line": row.line, "outcome": outcome})
            counts = {o: sum(p["outcome"] == o for p in people)
                      for o in ("imported", "updated", "unchanged")}
            return {"member_id": member.id, "dry_run": not apply, **counts,
                    "rejected": len(roster.errors), "skipped": roster.skipped,
                    "errors": roster.errors, "people": people}
        return self.kernel.command(caller, run, key, ["import_staff", member_id, payload])

    @rpc
    def list_staff(self, member_id: str, limit: int = 50, after: str | None = None) -> dict:
        limit = page_limit(limit)
        self._read_member(member_id)
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT v.id, v.hub_id, v.member_id, v.position, p.name, p.email,
                                  v.erased
                           FROM people_view v LEFT JOIN people_pii p ON p.person_id = v.id
                           WHERE v.member_id = %s AND v.id > %s ORDER BY v.id LIMIT %s""",
                        (member_id, after or "", limit + 1))
            columns = [c.name for c in cur.description]
            rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
        return page(rows[:limit], len(rows) > limit)

    @rpc
    def get_person(self, person_id: str) -> dict:
        with self.kernel.reading(self.caller()) as cur:
            return self._person_view(cur, self.read(Person, person_id, "person", cur))

    @rpc
    def erase_person(self, person_id: str, key: str | None = None) -> dict:
        """Remove a person's name and email everywhere; the log keeps only their id."""
        caller = self.caller()

        def run(session: Session) -> dict:
            person = self.load(session, Person, person_id, "person")
            caller.require_write(person.hub_id, "person")
            person.erase()
            session.save(person)
            session.cur.execute("DELETE FROM people_pii WHERE person_id = %s", (person.id,))
            for member_id in session.store.streams_with("RoleAssigned", "person_id", person.id,
                                                        session.cur):
                member = session.load(Member, member_id)
                member.forget_person(person.id)
                session.save(member)
            return self._person_view(session.cur, person)
        return self.kernel.command(caller, run, key, ["erase", person_id])

    # -- helpers -----------------------------------------------------------------------------

    def _read_member(self, member_id: str) -> Member:
        return self.read(Member, member_id, "member")

    def _hub_view(self, cur: Any, hub_id: str) -> dict:
        cur.execute("""SELECT id, name, state, county_code, stage, facilitator_org, version
                       FROM hubs_view WHERE id = %s""", (hub_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no hub {hub_id}")
        return dict(zip(["id", "name", "state", "county_code", "stage", "facilitator_org",
                         "version"], row, strict=True))

    def _person_view(self, cur: Any, person: Person) -> dict:
        cur.execute("SELECT name, email FROM people_pii WHERE person_id = %s", (person.id,))
        row = cur.fetchone() or (None, None)
        return {"id": person.id, "hub_id": person.hub_id, "member_id": person.member_id,
                "position": person.position, "name": row[0], "email": row[1],
                "erased": person.erased, "version": person.version}


def _member_view(member: Member) -> dict:
    return {"id": member.id, "hub_id": member.hub_id, "name": member.name, "kind": member.kind,
            "grade_span": member.grade_span, "enrollment": member.enrollment,
            "cds_code": member.cds_code, "nces_id": member.nces_id, "status": member.status,
            "onboarded": member.onboarded, "roles": member.roles, "version": member.version}
