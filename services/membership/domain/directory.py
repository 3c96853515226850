"""What membership's news tells a service that keeps a directory of it
(services/membership/directory): the rules, pure, so that every service that includes the
directory reads the news alike.

News of one hub or member reaches a consumer in any order: a catch-up and live delivery
interleave, a message retried after a failure comes after later ones, and each event type has
a queue of its own. So each fact is kept with the version of the stream it came from, and news
older than the fact changes nothing. News that arrives before the registration or enrollment it
follows is kept, and until that arrives the hub or member is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ACTIVE, OFFBOARDED = "active", "offboarded"


@dataclass(frozen=True)
class Prework:
    """A member's own pre-work as membership last said it (MemberPreworkChanged): complete or
    not, what is missing, and the version of the member's stream it came from (0: not said)."""

    ready: bool = False
    missing: tuple[str, ...] = ()
    version: int = 0

    def after(self, news: Prework) -> Prework:
        """Newer news replaces what is kept; older news changes nothing."""
        return news if news.version > self.version else self


@dataclass(frozen=True)
class RoleEntry:
    """A person's role at a member (ids only), held or ended, and the version of the member's
    stream of the newest news of it."""

    person_id: str
    role: str
    represents: str | None
    held: bool
    version: int


@dataclass
class HubEntry:
    """What the directory keeps of a hub."""

    id: str
    name: str | None = None       # None until HubRegistered arrives: the hub is unknown
    state: str | None = None
    time_zone: str | None = None
    stage: str | None = None
    stage_version: int = 0

    @property
    def known(self) -> bool:
        return self.name is not None

    def registered(self, name: str, state: str, time_zone: str, stage: str,
                   version: int) -> None:
        self.name, self.state, self.time_zone = name, state, time_zone
        self._staged(stage, version)

    def handed_over(self, stage: str, version: int) -> None:
        self._staged(stage, version)

    def _staged(self, stage: str, version: int) -> None:
        if version > self.stage_version:
            self.stage, self.stage_version = stage, version


@dataclass
class MemberEntry:
    """What the directory keeps of a member, its people's roles included."""

    id: str
    hub_id: str
    name: str | None = None       # None until MemberEnrolled arrives: the member is unknown
    kind: str | None = None
    grade_span: str | None = None
    enrollment: int | None = None
    status: str = ACTIVE
    prework: Prework = Prework()
    roles: dict[tuple[str, str], RoleEntry] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.name is not None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def ready(self) -> bool:
        """Its own pre-work complete, and still a member: the cycles service lets it start its
        design process then."""
        return self.active and self.prework.ready

    def enrolled(self, name: str, kind: str, grade_span: str, enrollment: int) -> None:
        # The status stays: an off-boarding that arrived first is not undone.
        self.name, self.kind, self.grade_span = name, kind, grade_span
        self.enrollment = enrollment

    def offboarded(self, version: int) -> None:
        """The member left: inactive for good, and its people's roles ended with it."""
        self.status = OFFBOARDED
        for key, kept in self.roles.items():
            if kept.held:
                self.roles[key] = replace(kept, held=False, version=max(kept.version, version))

    def prework_changed(self, ready: bool, missing: list[str], version: int) -> None:
        self.prework = self.prework.after(Prework(ready, tuple(missing), version))

    def role_assigned(self, person_id: str, role: str, represents: str | None,
                      version: int) -> None:
        # An assignment that arrives after the member left came before it: ended already.
        self._told(RoleEntry(person_id, role, represents, self.active, version))

    def role_removed(self, person_id: str, role: str, version: int) -> None:
        kept = self.roles.get((person_id, role))
        self._told(RoleEntry(person_id, role, kept.represents if kept else None, False,
                             version))

    def held(self) -> list[RoleEntry]:
        """The roles people hold at the member now."""
        return [entry for _, entry in sorted(self.roles.items()) if entry.held]

    def _told(self, news: RoleEntry) -> None:
        key = (news.person_id, news.role)
        kept = self.roles.get(key)
        if kept is None or news.version > kept.version:
            self.roles[key] = news
