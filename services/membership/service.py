"""The membership service's entrypoints: each command is a named method that calls the domain,
each query asks the read model; the kernel loads, checks the caller, saves and answers.
Decisions live in the domain package, SQL in projections.py."""

from __future__ import annotations

from typing import Any

from eventlet import tpool

from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.entrypoints import KernelEntrypoints, command, declares, query, rpc
from eventstore.identity import admins
from eventstore.ids import id_for, new_id
from eventstore.kernel import Kernel
from eventstore.validation import dump, load
from services.cycles import contracts as cycles

from . import schemas
from .domain import IMPORTED, UPDATED, Hub, Member, Person, readiness
from .domain.oneroster import read_staff
from .domain.staff import plan_staff_import, staff_import_summary
from .projections import PROJECTIONS, MembershipReadModel, agency_summary


def the_hub(service: Any, hub: Hub, session: Session) -> Any:
    """A hub as the read model shows it (its facilitation as handed over)."""
    return session.read_model.hub(hub.id)


def the_person(service: Any, person: Person, session: Session) -> Any:
    """A person with the name and email kept outside the log, as the caller may see them."""
    return session.read_model.person(person)


class Membership(KernelEntrypoints):
    name = "membership"
    kernel = Kernel(projections=PROJECTIONS, read_model=MembershipReadModel)
    read_model: MembershipReadModel
    command_answer = schemas.Member
    # Membership keeps the hubs itself (the other services, its directory of them).
    hub_states_sql = "SELECT id, state FROM hubs_view"

    def summary_of(self, cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
        return agency_summary(cur, hubs)

    # -- hubs --------------------------------------------------------------------------------

    @command(None, schemas.HubCreate, answer=schemas.Hub, shows=the_hub, access=admins)
    def register_hub(self, data: dict, session: Session) -> Hub:
        hub = session.create(Hub, data.get("id") or new_id("hub"))
        hub.register(data["name"], data["state"], data.get("county_code"),
                     data["facilitator_org"], data.get("time_zone"))
        return hub

    @command(Hub, schemas.FacilitationHandOver, answer=schemas.Hub, shows=the_hub)
    def hand_over_facilitation(self, hub: Hub, data: dict, session: Session) -> None:
        hub.hand_over(data["stage"], data.get("facilitator_org"), data.get("on"))

    @query(schemas.Hub)
    def get_hub(self, hub_id: str) -> Any:
        return self.read_model.hub(hub_id)

    @query(schemas.Hub, paged=True)
    def list_hubs(self, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.hubs(limit, after)

    # -- members -----------------------------------------------------------------------------

    @command(Hub, schemas.MemberCreate, changes_target=False)
    def enroll_member(self, hub: Hub, data: dict, session: Session) -> Member:
        member = session.create(Member, id_for(hub.id, data.get("id"), "mem"))
        member.enroll(hub.id, data["name"], data["kind"], data["grade_span"],
                      data["enrollment"], data.get("cds_code"), data.get("nces_id"))
        return member

    @query(schemas.Member)
    def get_member(self, member_id: str) -> Any:
        return self.read_model.aggregate(Member, member_id)

    @query(schemas.Member, paged=True)
    def list_members(self, hub_id: str, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.members(hub_id, limit, after)

    @command(Member, schemas.Offboarding)
    def offboard_member(self, member: Member, data: dict, session: Session) -> None:
        member.offboard(data["reason"])

    @command(Member, schemas.RoleAssignment)
    def assign_role(self, member: Member, data: dict, session: Session) -> None:
        person = session.load_named(Person, data["person_id"], member.hub_id)
        member.assign_role_to(person, data["role"], data.get("represents"))

    @command(Member, schemas.Onboarding)
    def complete_onboarding(self, member: Member, data: dict, session: Session) -> None:
        member.complete_onboarding()

    @query(schemas.Readiness)
    def readiness(self, member_id: str) -> Any:
        member = self.read_model.aggregate(Member, member_id)
        return readiness(member, *self.read_model.cycles_progress(member_id))

    # -- what membership hears from the cycles service -----------------------------------------

    @consumes(cycles.ProjectOpened)
    def on_project_opened(self, session: Session, event: cycles.ProjectOpened) -> None:
        session.read_model.project_opened(event.member_id)

    @consumes(cycles.SmartGoalsSet)
    def on_smart_goals_set(self, session: Session, event: cycles.SmartGoalsSet) -> None:
        session.read_model.smart_goals_set(event.member_id)

    # -- people ------------------------------------------------------------------------------

    @command(Hub, schemas.PersonCreate, answer=schemas.Person, shows=the_person,
             changes_target=False)
    def add_person(self, hub: Hub, data: dict, session: Session) -> Person:
        person = session.create(Person, id_for(hub.id, data.get("id"), "per"))
        person.add(hub.id)
        session.after_save(_keep(session, person.id, data["name"], data.get("email")))
        return person

    @rpc
    @declares(schemas.StaffImport, schemas.StaffImportReport, target=Member)
    def import_staff(self, member_id: str, payload: dict) -> dict:
        """Add a member's staff from a OneRoster 1.1 export. Good rows are imported, bad rows
        are reported by file and line; students and families are never imported. Importing
        the same export again changes nothing; a changed name or email is updated. The
        answer is bounded whatever the files hold: every count, the first errors and people
        (oneroster.ERRORS_REPORTED, PEOPLE_REPORTED); a replay answers its summary.

        In the explicit form: the caller is checked, and the export read, before any
        transaction (the files may be a whole district's, 20 MB), in a thread of its own so
        every other request of the service goes on meanwhile."""
        data = load(schemas.StaffImport, payload)
        apply = not data["dry_run"]
        member = self.read_model.aggregate(Member, member_id)
        self.caller().require_write(member.hub_id, "member")
        roster = tpool.execute(read_staff, data["orgs"], data["users"], member.id, member.name,
                               (member.nces_id, member.cds_code))

        def import_(member: Member, session: Session) -> dict:
            member.require_active()
            ids = [row.person_id(str(member.hub_id), member.id) for row in roster.staff]
            found = session.find_many(Person, ids)
            on_file = session.read_model.people.of(found)
            plan = tpool.execute(plan_staff_import, member, roster, ids, found, on_file, apply)
            for row, person_id, outcome in plan.taken:
                if apply and outcome == IMPORTED:
                    session.create(Person, person_id).add(str(member.hub_id), member.id,
                                                          row.position)
                if apply and outcome in (IMPORTED, UPDATED):
                    session.after_save(_keep(session, person_id, row.name, row.email))
            return plan.report

        # Bounded by the report's caps, and dumped in a thread all the same: the service's
        # other requests never wait on a report.
        return self.commands.on(Member, member_id, import_, lambda report, session: (
            tpool.execute(dump, schemas.StaffImportReport, report)),
            summary=staff_import_summary, changes_target=False)

    @query(schemas.Person, paged=True)
    def list_staff(self, member_id: str, limit: int = 50, after: str | None = None) -> Any:
        self.read_model.aggregate(Member, member_id)   # an unknown member is 404
        return self.read_model.staff(member_id, limit, after)

    @query(schemas.Person)
    def get_person(self, person_id: str) -> Any:
        return self.read_model.person(self.read_model.aggregate(Person, person_id))

    @command(Person, None, answer=schemas.Person, shows=the_person)
    def erase_person(self, person: Person, data: dict, session: Session) -> None:
        """Remove a person's name and email everywhere; the log keeps only their id."""
        person.erase()
        session.after_save(lambda: session.read_model.people.erase(person.id))
        for member_id in session.streams_recording("RoleAssigned", "person_id", person.id):
            session.load(Member, member_id).forget_person(person.id)


def _keep(session: Session, person_id: str, name: str, email: str | None) -> Any:
    return lambda: session.read_model.people.keep(person_id, name=name, email=email)
