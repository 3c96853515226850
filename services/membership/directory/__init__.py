"""Membership's directory: what a service knows of hubs, members and people's roles, kept from
membership's published events, for every service that needs them (cycles: which hub a member
is in and whether its pre-work is complete; resources: members' enrollment for cost splits;
scheduling: people by role, hubs' time zones). A service includes it; it copies nothing:

    class Cycles(MembershipDirectory, KernelEntrypoints):   # its consumers and its tables
        ...

    class CyclesReadModel(DirectoryReads, ReadModel):      # its queries, on the read model
        ...

- **Tables.** ``migrations/`` creates ``directory_hubs``, ``directory_members`` and
  ``directory_roles`` in the service's database, with row-level security by hub; the kernel
  applies them to any service that includes ``MembershipDirectory`` (``included_migrations``),
  before the service's own migrations. A new directory reads membership's log from the
  beginning at the service's next catch-up.
- **Consumers.** ``MembershipDirectory``'s ``@consumes`` methods keep the tables, by the rules
  of services/membership/domain/directory.py: news of a hub or member is applied by the
  version of its stream, in whatever order it arrives (readiness only if newer; a role's newest
  news wins; an off-boarded member is inactive for good and its roles ended).
- **Queries.** ``DirectoryReads``: ``hub``, ``member`` (``NotFound`` until its news arrives,
  at once: never waiting on a client's word), ``members`` / ``members_page`` of a hub,
  ``roles_at`` a member and ``roles_in`` a hub, and a member's ``prework`` (the readiness fact)
  and ``prework_ready``. They answer typed records (``Hub``, ``Member``, ``Role``) that carry
  ``id``, ``hub_id`` and ``noun`` (a member its ``member_id``), so the kernel's access checks
  (``hub_writers``, ``member_work``) take them as they take an aggregate, and a command may
  name one as its target (``@command(known_member, ...)``).

Ids only: the directory never holds a person's name or email (membership keeps those, and
erases them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.errors import NotFound
from eventstore.events import RecordedEvent
from eventstore.migrate import Migrations
from eventstore.readmodel import ReadModel

from .. import contracts as membership
from ..domain.directory import ACTIVE, OFFBOARDED, HubEntry, MemberEntry, Prework, RoleEntry

__all__ = ["ACTIVE", "OFFBOARDED", "DirectoryReads", "Hub", "Member", "MembershipDirectory",
           "Prework", "Role", "known_hub", "known_member"]


# -- what the queries answer ------------------------------------------------------------------

@dataclass(frozen=True)
class Hub:
    """A hub membership told about. ``state``, ``time_zone`` and ``stage`` are None only for a
    hub a service knew before it kept the directory, until the catch-up reads its
    registration again (moments after the upgrade)."""

    noun: ClassVar[str] = "hub"
    id: str
    name: str
    state: str | None
    time_zone: str | None
    stage: str | None
    # A hub is its own hub: what the kernel's access checks read of any object.
    hub_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hub_id", self.id)


@dataclass(frozen=True)
class Member:
    """A member membership told about: its hub, name, kind, grade span, enrollment (a count of
    students: cost splits weigh by it), whether it is still a member, and its own pre-work as
    membership last said it. ``kind``, ``grade_span`` and ``enrollment`` are None only for a
    member a service knew before it kept the directory, until the catch-up reads its enrollment
    again."""

    noun: ClassVar[str] = "member"
    id: str
    hub_id: str
    name: str
    kind: str | None
    grade_span: str | None
    enrollment: int | None
    status: str
    prework: Prework
    active: bool
    # Its own pre-work complete and still a member (the cycles service lets it start its
    # design process then).
    ready: bool
    # A member's work is its own: what ``member_work`` reads of the object it checks.
    member_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_id", self.id)

    @classmethod
    def of(cls, entry: MemberEntry) -> Member:
        return cls(entry.id, entry.hub_id, str(entry.name), entry.kind, entry.grade_span,
                   entry.enrollment, entry.status, entry.prework, entry.active, entry.ready)


@dataclass(frozen=True)
class Role:
    """A role a person holds at a member (ids only)."""

    member_id: str
    hub_id: str
    person_id: str
    role: str
    represents: str | None


# -- the queries ------------------------------------------------------------------------------

_MEMBER = """SELECT id, hub_id, name, kind, grade_span, enrollment, status, prework_ready,
                    prework_missing, prework_version FROM directory_members"""
_ROLE = """SELECT r.member_id, r.hub_id, r.person_id, r.role, r.represents
           FROM directory_roles r JOIN directory_members m ON m.id = r.member_id
           WHERE r.held AND m.name IS NOT NULL"""


class DirectoryReads(ReadModel):
    """The directory's queries, for a service's read model to include. A hub or member
    membership has not told about yet is unknown (NotFound) at once: waiting on a client's word
    would hold a worker, and answering an unknown id later than another hub's would tell the two
    apart. News of one just created arrives within a moment. Lists of what is in a hub or
    member are empty for one not known."""

    def hub(self, hub_id: str) -> Hub:
        row = self.row("""SELECT id, name, state, time_zone, stage FROM directory_hubs
                          WHERE id = %s AND name IS NOT NULL""", hub_id)
        if row is None or not self.caller.may_read_hub(row["id"]):
            raise NotFound(f"no hub {hub_id}")
        return Hub(**row)

    def member(self, member_id: str) -> Member:
        row = self.row(f"{_MEMBER} WHERE id = %s AND name IS NOT NULL", member_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            raise NotFound(f"no member {member_id}")
        return Member.of(_member_entry(row))

    def members(self, hub_id: str, *, active_only: bool = False) -> list[Member]:
        """The hub's members, in id order (``active_only``: those not off-boarded)."""
        if not self.caller.may_read_hub(hub_id):
            return []
        rows = self.rows(f"""{_MEMBER} WHERE hub_id = %s AND name IS NOT NULL
                             AND (NOT %s OR status = %s) ORDER BY id""",
                         hub_id, active_only, ACTIVE)
        return [Member.of(_member_entry(row)) for row in rows]

    def members_page(self, hub_id: str, limit: int, after: str | None, *,
                     active_only: bool = False) -> dict[str, Any]:
        """A page of the hub's members (``{"items": [Member], "next": ...}``)."""
        if not self.caller.may_read_hub(hub_id):
            return {"items": [], "next": None}
        page = self.page(f"""{_MEMBER} WHERE hub_id = %s AND name IS NOT NULL
                             AND (NOT %s OR status = %s) AND id > %s ORDER BY id LIMIT %s""",
                         hub_id, active_only, ACTIVE, after=after, limit=limit)
        return {"items": [Member.of(_member_entry(row)) for row in page["items"]],
                "next": page["next"]}

    def roles_at(self, member_id: str, role: str | None = None) -> list[Role]:
        """The roles people hold at a member (``role``: that role only)."""
        rows = self.rows(f"""{_ROLE} AND r.member_id = %s AND (%s::text IS NULL OR r.role = %s)
                             ORDER BY r.role, r.person_id""", member_id, role, role)
        return [Role(**row) for row in rows if self.caller.may_read_hub(row["hub_id"])]

    def roles_in(self, hub_id: str, role: str | None = None) -> list[Role]:
        """The roles people hold across a hub's members (``role``: that role only)."""
        if not self.caller.may_read_hub(hub_id):
            return []
        rows = self.rows(f"""{_ROLE} AND r.hub_id = %s AND (%s::text IS NULL OR r.role = %s)
                             ORDER BY r.member_id, r.role, r.person_id""", hub_id, role, role)
        return [Role(**row) for row in rows]

    def prework(self, member_id: str) -> Prework:
        """A member's own pre-work as membership last said it (not said: not ready, version
        0)."""
        row = self.row(f"{_MEMBER} WHERE id = %s", member_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            return Prework()
        return _member_entry(row).prework

    def prework_ready(self, member_id: str) -> bool:
        """Its own pre-work complete, and still a member."""
        row = self.row(f"{_MEMBER} WHERE id = %s", member_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            return False
        return _member_entry(row).ready


def _member_entry(row: dict[str, Any], roles: Iterable[RoleEntry] = ()) -> MemberEntry:
    return MemberEntry(row["id"], row["hub_id"], row["name"], row["kind"], row["grade_span"],
                       row["enrollment"], row["status"],
                       Prework(row["prework_ready"], tuple(row["prework_missing"]),
                               row["prework_version"]),
                       {(r.person_id, r.role): r for r in roles})


# -- a command's target ------------------------------------------------------------------------

def known_hub(session: Session, hub_id: str) -> Hub:
    """A hub membership told about, as a command's target: ``@command(known_hub, ...)``."""
    return session.read_model.hub(hub_id)


def known_member(session: Session, member_id: str) -> Member:
    """A member membership told about, as a command's target."""
    return session.read_model.member(member_id)


# -- the consumers ----------------------------------------------------------------------------

class MembershipDirectory:
    """Include in a service class (``class Cycles(MembershipDirectory, KernelEntrypoints)``):
    its consumers keep the directory's tables from membership's news, and the kernel applies
    the tables' migrations. The service's read model includes ``DirectoryReads`` to ask."""

    included_migrations = Migrations("membership.directory", Path(__file__).parent / "migrations")

    @consumes(membership.HubRegistered)
    def on_hub_registered(self, session: Session, event: membership.HubRegistered) -> None:
        with _hub(session, event.recorded) as hub:
            hub.registered(event.name, event.state, event.time_zone, event.stage,
                           event.recorded.version)

    @consumes(membership.FacilitationHandedOver)
    def on_facilitation_handed_over(self, session: Session,
                                    event: membership.FacilitationHandedOver) -> None:
        with _hub(session, event.recorded) as hub:
            hub.handed_over(event.stage, event.recorded.version)

    @consumes(membership.MemberEnrolled)
    def on_member_enrolled(self, session: Session, event: membership.MemberEnrolled) -> None:
        with _member(session, event.recorded) as member:
            member.enrolled(event.name, event.kind, event.grade_span, event.enrollment)

    @consumes(membership.MemberPreworkChanged)
    def on_member_prework_changed(self, session: Session,
                                  event: membership.MemberPreworkChanged) -> None:
        with _member(session, event.recorded) as member:
            member.prework_changed(event.ready, event.missing, event.recorded.version)

    @consumes(membership.MemberOffboarded)
    def on_member_offboarded(self, session: Session,
                             event: membership.MemberOffboarded) -> None:
        with _member(session, event.recorded) as member:
            member.offboarded(event.recorded.version)

    @consumes(membership.RoleAssigned)
    def on_role_assigned(self, session: Session, event: membership.RoleAssigned) -> None:
        with _member(session, event.recorded) as member:
            member.role_assigned(event.person_id, event.role, event.represents,
                                 event.recorded.version)

    @consumes(membership.RoleRemoved)
    def on_role_removed(self, session: Session, event: membership.RoleRemoved) -> None:
        with _member(session, event.recorded) as member:
            member.role_removed(event.person_id, event.role, event.recorded.version)


# Each consumer takes what the directory keeps of one hub or member, locked for its
# transaction (handlers of one member's news on other queues, and other workers of the same
# queue, wait their turn, so none decides on what another is changing), lets the rules of
# domain/directory.py apply the news, and writes back what changed.

@contextmanager
def _hub(session: Session, news: RecordedEvent) -> Iterator[HubEntry]:
    cur = session.cur
    cur.execute("INSERT INTO directory_hubs (id) VALUES (%s) ON CONFLICT (id) DO NOTHING",
                (news.stream_id,))
    cur.execute("""SELECT name, state, time_zone, stage, stage_version FROM directory_hubs
                   WHERE id = %s FOR UPDATE""", (news.stream_id,))
    entry = HubEntry(news.stream_id, *cur.fetchone())
    yield entry
    cur.execute("""UPDATE directory_hubs SET name = %s, state = %s, time_zone = %s, stage = %s,
                   stage_version = %s WHERE id = %s""",
                (entry.name, entry.state, entry.time_zone, entry.stage, entry.stage_version,
                 entry.id))


@contextmanager
def _member(session: Session, news: RecordedEvent) -> Iterator[MemberEntry]:
    cur = session.cur
    cur.execute("""INSERT INTO directory_members (id, hub_id) VALUES (%s, %s)
                   ON CONFLICT (id) DO NOTHING""", (news.stream_id, news.hub_id))
    cur.execute(f"{_MEMBER} WHERE id = %s FOR UPDATE", (news.stream_id,))
    columns = [c.name for c in cur.description]
    row = dict(zip(columns, cur.fetchone(), strict=True))
    cur.execute("""SELECT person_id, role, represents, held, version FROM directory_roles
                   WHERE member_id = %s""", (news.stream_id,))
    entry = _member_entry(row, [RoleEntry(*r) for r in cur.fetchall()])
    before = dict(entry.roles)
    yield entry
    cur.execute("""UPDATE directory_members SET name = %s, kind = %s, grade_span = %s,
                   enrollment = %s, status = %s, prework_ready = %s, prework_missing = %s,
                   prework_version = %s WHERE id = %s""",
                (entry.name, entry.kind, entry.grade_span, entry.enrollment, entry.status,
                 entry.prework.ready, json.dumps(list(entry.prework.missing)),
                 entry.prework.version, entry.id))
    for key, role in entry.roles.items():
        if before.get(key) != role:
            cur.execute("""INSERT INTO directory_roles (member_id, person_id, role, hub_id,
                                                        represents, held, version)
                           VALUES (%s, %s, %s, %s, %s, %s, %s)
                           ON CONFLICT (member_id, person_id, role) DO UPDATE SET
                               represents = EXCLUDED.represents, held = EXCLUDED.held,
                               version = EXCLUDED.version""",
                        (entry.id, role.person_id, role.role, entry.hub_id, role.represents,
                         role.held, role.version))
