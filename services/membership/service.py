"""The membership service's entrypoints: each translates a request into a command on the domain
or a query of the read model, and answers. Decisions live in domain.py, SQL in projections.py."""

from __future__ import annotations

import json
from typing import Any

from eventlet import tpool

from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.entrypoints import KernelEntrypoints, rpc
from eventstore.identity import admins
from eventstore.ids import id_for, new_id
from eventstore.kernel import Kernel
from eventstore.validation import dump, dump_page, load, view
from services.cycles import contracts as cycles

from . import schemas
from .domain import (
    ELSEWHERE,
    ERASED,
    IMPORTED,
    UNCHANGED,
    UPDATED,
    Hub,
    Member,
    Person,
    readiness,
    staff_row_outcome,
)
from .oneroster import PEOPLE_REPORTED, Roster, StaffRow, echo, read_staff
from .projections import PROJECTIONS, MembershipReadModel


def hub_view(hub: Hub, session: Session) -> dict:
    return dump(schemas.Hub, session.read_model.hub(hub.id))


def person_view(person: Person, session: Session) -> dict:
    return dump(schemas.Person, session.read_model.person(person))


# What an Idempotency-Key keeps of a staff import's answer too large to keep whole (bytes of
# JSON): well under the kernel's RECORD_LIMIT_BYTES, whatever the files held.
IMPORT_SUMMARY_BYTES = 4096


def staff_import_summary(report: dict) -> dict:
    """An import's answer as a replay gives it: every count, no people, and as many of the
    first errors as fit in IMPORT_SUMMARY_BYTES (``abridged: true``)."""
    kept = {**report, "people": [], "errors": [], "abridged": True}
    size = len(json.dumps(kept))
    for error in report["errors"]:
        size += len(json.dumps(error)) + 2
        if size > IMPORT_SUMMARY_BYTES:
            break
        kept["errors"].append(error)
    return kept


def staff_import_view(report: dict, session: Session) -> dict:
    # Bounded by the report's caps, and dumped in a thread all the same: the service's other
    # requests never wait on a report.
    return tpool.execute(dump, schemas.StaffImportReport, report)


class Membership(KernelEntrypoints):
    name = "membership"
    kernel = Kernel(projections=PROJECTIONS, read_model=MembershipReadModel)
    read_model: MembershipReadModel

    # -- hubs --------------------------------------------------------------------------------

    @rpc
    def register_hub(self, payload: dict) -> dict:
        data = load(schemas.HubCreate, payload)

        def register(_: None, session: Session) -> Hub:
            hub = session.create(Hub, data.get("id") or new_id("hub"))
            hub.register(data["name"], data["state"], data.get("county_code"),
                         data["facilitator_org"])
            return hub
        return self.commands.new(register, hub_view, access=admins)

    @rpc
    def hand_over_facilitation(self, hub_id: str, payload: dict) -> dict:
        data = load(schemas.FacilitationHandOver, payload)
        on = data.get("on")
        return self.commands.on(Hub, hub_id, lambda hub, _: hub.hand_over(
            data["stage"], data.get("facilitator_org"), on.isoformat() if on else None),
            hub_view)

    @rpc
    def get_hub(self, hub_id: str) -> dict:
        return dump(schemas.Hub, self.read_model.hub(hub_id))

    @rpc
    def list_hubs(self, limit: int = 50, after: str | None = None) -> dict:
        return dump_page(schemas.Hub, self.read_model.hubs(limit, after))

    # -- members -----------------------------------------------------------------------------

    @rpc
    def enroll_member(self, hub_id: str, payload: dict) -> dict:
        data = load(schemas.MemberCreate, payload)

        def enroll(hub: Hub, session: Session) -> Member:
            member = session.create(Member, id_for(hub.id, data.get("id"), "mem"))
            member.enroll(hub.id, data["name"], data["kind"], data["grade_span"],
                          data["enrollment"], data.get("cds_code"), data.get("nces_id"))
            return member
        return self.commands.on(Hub, hub_id, enroll, view(schemas.Member), changes_target=False)

    @rpc
    def get_member(self, member_id: str) -> dict:
        return dump(schemas.Member, self.read_model.aggregate(Member, member_id))

    @rpc
    def list_members(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        return dump_page(schemas.Member, self.read_model.members(hub_id, limit, after))

    @rpc
    def offboard_member(self, member_id: str, payload: dict) -> dict:
        data = load(schemas.Offboarding, payload)
        return self.commands.on(Member, member_id,
                                lambda member, _: member.offboard(data["reason"]),
                                view(schemas.Member))

    @rpc
    def assign_role(self, member_id: str, payload: dict) -> dict:
        data = load(schemas.RoleAssignment, payload)
        return self.commands.on(Member, member_id, lambda member, session: member.assign_role_to(
            session.load_named(Person, data["person_id"], member.hub_id), data["role"],
            data.get("represents")),
            view(schemas.Member))

    @rpc
    def complete_onboarding(self, member_id: str, payload: dict) -> dict:
        load(schemas.Onboarding, payload)
        return self.commands.on(Member, member_id,
                                lambda member, _: member.complete_onboarding(),
                                view(schemas.Member))

    @rpc
    def readiness(self, member_id: str) -> dict:
        member = self.read_model.aggregate(Member, member_id)
        return dump(schemas.Readiness,
                    readiness(member, *self.read_model.cycles_progress(member_id)))

    # -- what membership hears from the cycles service -----------------------------------------

    @consumes(cycles.ProjectOpened)
    def on_project_opened(self, session: Session, event: cycles.ProjectOpened) -> None:
        session.read_model.project_opened(event.member_id)

    @consumes(cycles.SmartGoalsSet)
    def on_smart_goals_set(self, session: Session, event: cycles.SmartGoalsSet) -> None:
        session.read_model.smart_goals_set(event.member_id)

    # -- people ------------------------------------------------------------------------------

    @rpc
    def add_person(self, hub_id: str, payload: dict) -> dict:
        data = load(schemas.PersonCreate, payload)

        def add(hub: Hub, session: Session) -> Person:
            person = session.create(Person, id_for(hub.id, data.get("id"), "per"))
            person.add(hub.id)
            session.after_save(lambda: session.read_model.keep_personal_data(
                person.id, data["name"], data.get("email")))
            return person
        return self.commands.on(Hub, hub_id, add, person_view, changes_target=False)

    @rpc
    def import_staff(self, member_id: str, payload: dict) -> dict:
        """Add a member's staff from a OneRoster 1.1 export. Good rows are imported, bad rows
        are reported by file and line; students and families are never imported. Importing
        the same export again changes nothing; a changed name or email is updated. The
        answer is bounded whatever the files hold: every count, the first errors and people
        (oneroster.ERRORS_REPORTED, PEOPLE_REPORTED); a replay answers its summary."""
        data = load(schemas.StaffImport, payload)
        apply = not data["dry_run"]
        # The caller is checked, and the export read, before any transaction: the files may
        # be a whole district's (20 MB), read in a thread of its own so every other request
        # of this service goes on meanwhile.
        member = self.read_model.aggregate(Member, member_id)
        self.caller().require_write(member.hub_id, "member")
        roster = tpool.execute(read_staff, data["orgs"], data["users"], member.id, member.name,
                               (member.nces_id, member.cds_code))

        def import_(member: Member, session: Session) -> dict:
            member.require_active()
            ids = [row.person_id(str(member.hub_id), member.id) for row in roster.staff]
            found = session.find_many(Person, ids)
            on_file = session.read_model.personal_data(list(found))
            taken, report = tpool.execute(_staff_report, member, roster, ids, found, on_file,
                                          apply)
            for row, person_id, outcome in taken:
                if apply and outcome == IMPORTED:
                    session.create(Person, person_id).add(str(member.hub_id), member.id,
                                                          row.position)
                if apply and outcome in (IMPORTED, UPDATED):
                    session.after_save(_keep(session, person_id, row.name, row.email))
            return report
        return self.commands.on(Member, member_id, import_, staff_import_view,
                                summary=staff_import_summary, changes_target=False)

    @rpc
    def list_staff(self, member_id: str, limit: int = 50, after: str | None = None) -> dict:
        self.read_model.aggregate(Member, member_id)   # an unknown member is 404
        return dump_page(schemas.Person, self.read_model.staff(member_id, limit, after))

    @rpc
    def get_person(self, person_id: str) -> dict:
        person = self.read_model.aggregate(Person, person_id)
        return dump(schemas.Person, self.read_model.person(person))

    @rpc
    def erase_person(self, person_id: str) -> dict:
        """Remove a person's name and email everywhere; the log keeps only their id."""
        def erase(person: Person, session: Session) -> None:
            person.erase()
            session.after_save(lambda: session.read_model.erase_personal_data(person.id))
            for member_id in session.store.streams_with("RoleAssigned", "person_id",
                                                        person.id, session.cur):
                session.load(Member, member_id).forget_person(person.id)
        return self.commands.on(Person, person_id, erase, person_view)


def _keep(session: Session, person_id: str, name: str, email: str | None) -> Any:
    return lambda: session.read_model.keep_personal_data(person_id, name, email)


def _staff_report(member: Member, roster: Roster, ids: list[str], found: dict[str, Person],
                  on_file: dict[str, tuple[str, str | None]],
                  apply: bool) -> tuple[list[tuple[StaffRow, str, str]], dict]:
    """What each staff row does (row, person id, outcome), and the import's report: plain
    work on what the files and the log said, run in a thread of its own."""
    report = roster.report()
    taken: list[tuple[StaffRow, str, str]] = []
    for row, person_id in zip(roster.staff, ids, strict=True):
        outcome = staff_row_outcome(member, found.get(person_id), on_file.get(person_id),
                                    row.name, row.email)
        if outcome == ERASED:
            report.skip("erased person")    # an erasure is not undone by a roster
        elif outcome == ELSEWHERE:
            report.reject("users.csv", row.line, row.sourced_id, {"sourcedId": [
                "names a person who is not this member's staff"]})
        else:
            taken.append((row, person_id, outcome))
    counts = {o: sum(outcome == o for _, _, outcome in taken)
              for o in (IMPORTED, UPDATED, UNCHANGED)}
    people = [{"id": person_id, "sourced_id": echo(row.sourced_id), "line": row.line,
               "outcome": outcome} for row, person_id, outcome in taken[:PEOPLE_REPORTED]]
    return taken, {"member_id": member.id, "dry_run": not apply, **counts,
                   "rejected": report.rejected, "rejected_by_field": report.rejected_by_field,
                   "skipped": report.skipped, "errors": report.errors, "people": people,
                   "people_total": len(taken), "abridged": False}
