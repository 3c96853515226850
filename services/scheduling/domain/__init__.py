"""Scheduling: a network's meetings, the calendars of the experts hubs share, and the dates a
member cannot meet (DESIGN.md §7, issue 18).

Plain Python: aggregates decide and record events; no I/O, no clock (``now`` is passed in).
A meeting is kept as it is planned (a local start in an IANA zone, minutes, an RRULE for a
series: ``recurrence.py``); its occurrences are expanded from that, each known by its original
start in UTC (its key). Who is invited is not kept in the meeting: it names members (or every
member of its hub) and roles (driver, design team, sponsor), and the people holding those
roles are read from membership's directory when they are needed, so a person who leaves a
role, an off-boarded member's people and an erased person stop being invited to what comes.
The service passes in what the directory says (``invited``: person ids) where a rule needs it.

An expert session books the expert's time (the read model's exclusion constraint refuses an
overlap across every hub) and asks resources to count it against an engagement
(``ExpertSessionRequested``); resources' answer confirms it or releases it with the reason
(``services/resources/contracts.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import Conflict, ValidationError

from . import recurrence
from .recurrence import key, local_start, local_text, moment_of, zone

KINDS = ("network_meeting", "site_visit", "check_in", "webinar", "expert_session")
# Kinds that may recur: site visits and expert sessions are one occasion each.
RECURRING = ("network_meeting", "check_in", "webinar")
# Who may be invited: the roles people hold at a member (membership's ROLES but facilitator,
# who is the hub's, not a member's).
ROLES = ("sponsor", "driver", "design_team")
DEFAULT_ROLES = {"network_meeting": ("driver", "design_team"),
                 "site_visit": ("driver", "design_team"), "check_in": ("driver",),
                 "webinar": ("driver", "design_team"), "expert_session": ("design_team",)}
MIN_MINUTES, MAX_MINUTES = 5, 12 * 60
SCOPES = ("this", "following", "all")
ANSWERS = ("yes", "no", "maybe")
STARS = (1, 5)
MAX_MEMBERS = 200
MAX_BLACKOUT_DAYS = 366
MAX_UNAVAILABLE_DAYS = 366
# What became of an expert session's request in resources.
REQUESTED, CONFIRMED, RELEASED = "requested", "confirmed", "released"


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: [message]})


def _text(value: Any, field: str, most: int, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise _refuse(field, f"text of 1 to {most} characters")
    return value


def _minutes(value: Any, field: str = "minutes") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not MIN_MINUTES <= value <= MAX_MINUTES:
        raise _refuse(field, f"a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES}")
    return value


def _link(value: Any, field: str = "link") -> str:
    if not isinstance(value, str) or len(value) > 2000 or \
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise _refuse(field, "an http or https address")
    return value


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a meeting: its key (the original start in UTC), where it is now, and
    whether it was moved or cancelled."""

    key: str
    starts: datetime
    ends: datetime
    cancelled: bool
    moved: bool
    reason: str | None
    sequence: int


class Meeting(Aggregate):
    """A meeting or a series of them, of one hub."""

    stream_type = "meeting"
    snapshot_every = 200

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.kind = ""
        self.title = ""
        self.time_zone = ""
        self.start = ""            # local, YYYY-MM-DDTHH:MM
        self.minutes = 0
        self.rule: str | None = None
        self.location: str | None = None
        self.members: list[str] | None = None   # None: every member of the hub
        self.roles: list[str] = []
        self.host_member_id: str | None = None
        self.expert_id: str | None = None
        self.engagement_id: str | None = None
        self.recording_link: str | None = None
        self.cancelled = False
        self.reason: str | None = None
        self.sequence = 0
        # occurrence key -> {"start": local or None, "minutes", "cancelled", "reason",
        # "sequence"}
        self.exceptions: dict[str, dict[str, Any]] = {}
        self.session = ""          # an expert session: REQUESTED, CONFIRMED or RELEASED
        self.session_number: int | None = None
        # occurrence key -> person id -> answer / stars
        self.rsvps: dict[str, dict[str, str]] = {}
        self.attended: dict[str, list[str]] = {}
        self.feedback: dict[str, dict[str, int]] = {}

    # -- what a meeting is -------------------------------------------------------------------

    def schedule(self, hub_id: str, kind: str, title: str, time_zone: str, starts_at: str,
                 minutes: int, rule: str | None, members: Sequence[str] | None,
                 roles: Sequence[str] | None, directory: Mapping[str, str], *,
                 location: str | None = None, host_member_id: str | None = None,
                 expert_id: str | None = None, engagement_id: str | None = None) -> None:
        """``directory``: the hub's active members (member id -> hub id), as membership said."""
        if self.exists:
            raise Conflict(f"meeting {self.id} exists already")
        if kind not in KINDS:
            raise _refuse("kind", f"one of {', '.join(KINDS)}")
        _text(title, "title", 200, required=True)
        _text(location, "location", 300)
        tz = zone(time_zone)
        start = local_start(starts_at, tz)
        _minutes(minutes)
        if rule is not None:
            if kind not in RECURRING:
                raise _refuse("rrule", f"a {kind.replace('_', ' ')} does not recur")
            rule = recurrence.check_rule(rule, start)
        chosen = self._members(kind, members, host_member_id, hub_id, directory)
        invited = self._roles(kind, roles)
        if kind == "expert_session":
            for field, value in (("expert_id", expert_id), ("engagement_id", engagement_id)):
                if not isinstance(value, str) or not value:
                    raise _refuse(field, "an expert session names the expert and the "
                                         "engagement it is a session of")
        elif expert_id is not None or engagement_id is not None:
            raise _refuse("expert_id", "only an expert session books an expert")
        self.record("MeetingScheduled", hub_id=hub_id, kind=kind, title=title,
                    time_zone=tz.key, starts_at=starts_at, minutes=minutes, rrule=rule,
                    members=chosen, roles=invited, location=location,
                    host_member_id=host_member_id if kind == "site_visit" else None,
                    expert_id=expert_id, engagement_id=engagement_id)
        if kind == "expert_session":
            self.record("ExpertSessionRequested", hub_id=hub_id,
                        engagement_id=str(engagement_id), expert_id=str(expert_id),
                        starts_at=start.astimezone(UTC).isoformat(),
                        ends_at=(start + timedelta(minutes=minutes)).astimezone(UTC)
                        .isoformat())

    @staticmethod
    def _members(kind: str, members: Sequence[str] | None, host: str | None, hub_id: str,
                 directory: Mapping[str, str]) -> list[str] | None:
        if members is not None and (not isinstance(members, list)
                                    or len(members) > MAX_MEMBERS
                                    or not all(isinstance(m, str) for m in members)):
            raise _refuse("members", f"a list of at most {MAX_MEMBERS} member ids")
        if kind == "site_visit":
            if not isinstance(host, str) or host not in directory or directory[host] != hub_id:
                raise _refuse("host_member_id", "a site visit is hosted by a member of the hub")
            if not members:
                raise _refuse("members", "a site visit has at least one visiting member")
            if host in members:
                raise _refuse("members", "the host does not visit itself")
        elif host is not None:
            raise _refuse("host_member_id", "only a site visit has a host")
        if kind == "check_in" and (members is None or len(members) != 1):
            raise _refuse("members", "a check-in is with one member")
        if members is None:
            return None
        strangers = [m for m in members if directory.get(m) != hub_id]
        if strangers:
            raise _refuse("members", f"not members of hub {hub_id}: {', '.join(strangers)}")
        chosen = list(dict.fromkeys(members))
        return [str(host), *chosen] if kind == "site_visit" else chosen

    @staticmethod
    def _roles(kind: str, roles: Sequence[str] | None) -> list[str]:
        if roles is None:
            return list(DEFAULT_ROLES[kind])
        if not isinstance(roles, list) or not roles or \
                any(role not in ROLES for role in roles):
            raise _refuse("roles", f"one or more of {', '.join(ROLES)}")
        return list(dict.fromkeys(roles))

    # -- when: occurrences, rescheduling and cancelling ---------------------------------------

    @property
    def zone(self) -> Any:
        return zone(self.time_zone)

    def first_start(self) -> datetime:
        return local_start(self.start, self.zone)

    def occurrences(self, since: datetime | None = None,
                    before: datetime | None = None) -> list[Occurrence]:
        """The occurrences (cancelled ones included) whose original or current time meets
        [since, before), in their original order (a series has at most
        ``recurrence.MAX_COUNT``)."""
        found = []
        for moment in recurrence.starts(self.rule, self.first_start()):
            exception = self.exceptions.get(key(moment), {})
            start = (local_start(exception["start"], self.zone)
                     if exception.get("start") else moment)
            end = start + timedelta(minutes=exception.get("minutes") or self.minutes)
            original_end = moment + timedelta(minutes=self.minutes)
            if not (_meets(start, end, since, before)
                    or _meets(moment, original_end, since, before)):
                continue
            found.append(Occurrence(key(moment), start.astimezone(UTC), end.astimezone(UTC),
                                    self.cancelled or bool(exception.get("cancelled")),
                                    bool(exception.get("start")),
                                    exception.get("reason") or
                                    (self.reason if self.cancelled else None),
                                    exception.get("sequence", self.sequence)))
        return found

    def occurrence(self, occurrence: Any) -> Occurrence:
        """An occurrence by its key; a key the meeting does not have is refused."""
        if self.rule is None and occurrence is None:
            return self.occurrences()[0]
        wanted = moment_of(occurrence)
        for found in self.occurrences(wanted, wanted + timedelta(seconds=1)):
            if found.key == occurrence:
                return found
        raise _refuse("occurrence", f"meeting {self.id} has no occurrence {occurrence}")

    def reschedule(self, occurrence: str | None, scope: str, starts_at: str,
                   minutes: int | None, following: Meeting | None = None,
                   rule: str | None = None) -> None:
        """Move one occurrence (``this``), it and those after it (``following``: they become
        the new series ``following``, a meeting not scheduled yet), or the whole meeting
        (``all``: a series' exceptions are dropped, as calendar apps do). Times are local, in
        the meeting's zone. ``rule``: a series' new RRULE (``following`` or ``all``), when its
        rule does not fall on the new start."""
        self._require_current()
        scope = self._scope(scope)
        start = local_start(starts_at, self.zone)
        if minutes is not None:
            _minutes(minutes)
        if rule is not None and (self.rule is None or scope == "this"):
            raise _refuse("rrule", "a new rule is for a series' following occurrences or all")
        if self.rule is None or scope == "all":
            if self.rule is not None and occurrence is not None:
                self.occurrence(occurrence)
            if starts_at == self.start and minutes in (None, self.minutes) and rule is None:
                raise Conflict(f"meeting {self.id} is at that time already")
            rule = None if self.rule is None else recurrence.check_rule(rule or self.rule,
                                                                        start)
            self.record("MeetingRescheduled", starts_at=starts_at,
                        minutes=minutes or self.minutes, rrule=rule,
                        sequence=self.sequence + 1)
            return
        found = self.occurrence(occurrence)
        if found.cancelled:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} is cancelled")
        if scope == "this":
            self.record("OccurrenceRescheduled", occurrence=found.key, starts_at=starts_at,
                        minutes=minutes or self.minutes,
                        sequence=self.sequence + 1)
            return
        self._split(found, start, starts_at, minutes, following, rule)

    def _split(self, found: Occurrence, start: datetime, starts_at: str, minutes: int | None,
               following: Meeting | None, new_rule: str | None) -> None:
        assert self.rule is not None
        original = moment_of(found.key)
        if original == self.first_start().astimezone(UTC):
            raise _refuse("scope", "the first occurrence and those after it are all of them: "
                                   "use scope all")
        if following is None or following.exists:
            raise Conflict("the following occurrences need a new meeting of their own")
        taken = recurrence.keys_before(self.rule, self.first_start(), original)
        rule = recurrence.check_rule(new_rule or recurrence.continued(self.rule, taken), start)
        following.record("MeetingScheduled", hub_id=str(self.hub_id), kind=self.kind,
                         title=self.title, time_zone=self.time_zone, starts_at=starts_at,
                         minutes=minutes or self.minutes, rrule=rule, members=self.members,
                         roles=self.roles, location=self.location, host_member_id=None,
                         expert_id=None, engagement_id=None)
        self.record("SeriesEnded", before=found.key,
                    rrule=recurrence.truncated(self.rule, original),
                    continued_by=following.id, sequence=self.sequence + 1)

    def cancel(self, occurrence: str | None, scope: str, reason: str | None) -> None:
        """Cancel one occurrence, it and those after it, or the whole meeting, with a reason
        the invitees see."""
        self._require_current()
        scope = self._scope(scope)
        _text(reason, "reason", 500)
        if self.rule is None or scope == "all":
            self.record("MeetingCancelled", reason=reason, sequence=self.sequence + 1)
            if self.kind == "expert_session" and self.session in (REQUESTED, CONFIRMED):
                self.record("ExpertSessionCancelled", hub_id=str(self.hub_id),
                            engagement_id=str(self.engagement_id), reason=reason)
            return
        found = self.occurrence(occurrence)
        if found.cancelled:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} is cancelled already")
        if scope == "this":
            self.record("OccurrenceCancelled", occurrence=found.key, reason=reason,
                        sequence=self.sequence + 1)
            return
        original = moment_of(found.key)
        if original == self.first_start().astimezone(UTC):
            raise _refuse("scope", "the first occurrence and those after it are all of them: "
                                   "use scope all")
        self.record("SeriesEnded", before=found.key,
                    rrule=recurrence.truncated(self.rule, original), continued_by=None,
                    sequence=self.sequence + 1)

    def add_recording(self, link: str) -> None:
        self._require_current()
        if self.kind != "webinar":
            raise _refuse("link", "only a webinar has a recording")
        self.record("RecordingAdded", link=_link(link), sequence=self.sequence + 1)

    def _scope(self, scope: Any) -> str:
        if scope not in SCOPES:
            raise _refuse("scope", f"one of {', '.join(SCOPES)}")
        return str(scope)

    def _require_current(self) -> None:
        if self.cancelled:
            raise Conflict(f"meeting {self.id} is cancelled")
        if self.session == RELEASED:
            raise Conflict(f"expert session {self.id} was released: {self.reason}")

    # -- who came and what they thought -------------------------------------------------------

    def rsvp(self, occurrence: str | None, person_id: str, answer: str, invited: Collection[str],
             now: datetime) -> None:
        found = self.occurrence(occurrence)
        if found.cancelled:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} is cancelled")
        if found.ends <= now:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} is over")
        if answer not in ANSWERS:
            raise _refuse("answer", f"one of {', '.join(ANSWERS)}")
        if person_id not in invited:
            raise _refuse("person_id", f"{person_id} is not invited to this meeting")
        if self.rsvps.get(found.key, {}).get(person_id) == answer:
            return
        self.record("RsvpGiven", occurrence=found.key, person_id=person_id, answer=answer)

    def record_attendance(self, occurrence: str | None, present: Sequence[str],
                          invited: Collection[str], now: datetime) -> None:
        """Who came (person ids), as the facilitator saw it; replaces what was recorded."""
        found = self.occurrence(occurrence)
        if found.cancelled:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} is cancelled")
        if found.starts > now:
            raise Conflict(f"occurrence {found.key} of meeting {self.id} has not begun")
        if not isinstance(present, list) or len(present) > 2000:
            raise _refuse("present", "a list of person ids")
        answered = self.rsvps.get(found.key, {})
        strangers = [p for p in present if p not in invited and p not in answered]
        if strangers:
            raise _refuse("present", f"never invited: {', '.join(map(str, strangers))}")
        self.record("AttendanceRecorded", occurrence=found.key,
                    present=sorted(set(present)))

    def give_feedback(self, occurrence: str | None, person_id: str, stars: Any,
                      comment: str | None) -> None:
        found = self.occurrence(occurrence)
        if isinstance(stars, bool) or not isinstance(stars, int) or \
                not STARS[0] <= stars <= STARS[1]:
            raise _refuse("stars", f"a whole number from {STARS[0]} to {STARS[1]}")
        _text(comment, "comment", 2000)
        if person_id not in self.attended.get(found.key, []):
            raise Conflict(f"{person_id} did not attend occurrence {found.key}: feedback is "
                           "an attendee's")
        self.record("FeedbackGiven", occurrence=found.key, person_id=person_id, stars=stars,
                    comment=comment)

    # -- an expert session: what resources said ------------------------------------------------

    def session_counted(self, number: int) -> None:
        """Resources counted the session against its engagement (a cancelled meeting stays
        cancelled)."""
        if self.session == REQUESTED and not self.cancelled:
            self.record("ExpertSessionConfirmed", number=number)

    def session_refused(self, explanation: str) -> None:
        """Resources refused it: the expert's time is free again, and the hub sees why."""
        if self.session == REQUESTED and not self.cancelled:
            self.record("ExpertSessionReleased", reason=explanation)

    # -- appliers --------------------------------------------------------------------------

    @applies("MeetingScheduled")
    def _scheduled(self, data: dict[str, Any]) -> None:
        self.hub_id, self.kind, self.title = data["hub_id"], data["kind"], data["title"]
        self.time_zone, self.start, self.minutes = (data["time_zone"], data["starts_at"],
                                                    data["minutes"])
        self.rule, self.members, self.roles = data["rrule"], data["members"], data["roles"]
        self.location, self.host_member_id = data["location"], data["host_member_id"]
        self.expert_id, self.engagement_id = data["expert_id"], data["engagement_id"]

    @applies("ExpertSessionRequested")
    def _requested(self, data: dict[str, Any]) -> None:
        self.session = REQUESTED

    @applies("ExpertSessionConfirmed")
    def _confirmed(self, data: dict[str, Any]) -> None:
        self.session, self.session_number = CONFIRMED, data["number"]

    @applies("ExpertSessionReleased")
    def _released(self, data: dict[str, Any]) -> None:
        self.session, self.reason = RELEASED, data["reason"]

    @applies("ExpertSessionCancelled")
    def _session_cancelled(self, data: dict[str, Any]) -> None:
        pass

    @applies("MeetingRescheduled")
    def _rescheduled(self, data: dict[str, Any]) -> None:
        self.start, self.minutes, self.rule = data["starts_at"], data["minutes"], data["rrule"]
        self.sequence, self.exceptions = data["sequence"], {}

    @applies("OccurrenceRescheduled")
    def _occurrence_rescheduled(self, data: dict[str, Any]) -> None:
        self.exceptions[data["occurrence"]] = {
            **self.exceptions.get(data["occurrence"], {}), "start": data["starts_at"],
            "minutes": data["minutes"], "sequence": data["sequence"]}
        self.sequence = data["sequence"]

    @applies("OccurrenceCancelled")
    def _occurrence_cancelled(self, data: dict[str, Any]) -> None:
        self.exceptions[data["occurrence"]] = {
            **self.exceptions.get(data["occurrence"], {}), "cancelled": True,
            "reason": data["reason"], "sequence": data["sequence"]}
        self.sequence = data["sequence"]

    @applies("SeriesEnded")
    def _series_ended(self, data: dict[str, Any]) -> None:
        self.rule, self.sequence = data["rrule"], data["sequence"]
        before = data["before"]
        self.exceptions = {k: v for k, v in self.exceptions.items() if k < before}

    @applies("MeetingCancelled")
    def _cancelled(self, data: dict[str, Any]) -> None:
        self.cancelled, self.reason, self.sequence = True, data["reason"], data["sequence"]

    @applies("RecordingAdded")
    def _recording(self, data: dict[str, Any]) -> None:
        self.recording_link, self.sequence = data["link"], data["sequence"]

    @applies("RsvpGiven")
    def _rsvp(self, data: dict[str, Any]) -> None:
        self.rsvps.setdefault(data["occurrence"], {})[data["person_id"]] = data["answer"]

    @applies("AttendanceRecorded")
    def _attendance(self, data: dict[str, Any]) -> None:
        self.attended[data["occurrence"]] = list(data["present"])

    @applies("FeedbackGiven")
    def _feedback(self, data: dict[str, Any]) -> None:
        self.feedback.setdefault(data["occurrence"], {})[data["person_id"]] = data["stars"]


def planned(row: Mapping[str, Any]) -> Meeting:
    """A meeting as the read model keeps it (``meetings_view``), to expand its occurrences and
    write its calendar: the state the log built, without the responses."""
    meeting = Meeting(str(row["id"]))
    meeting.hub_id = row["hub_id"]
    for name in ("kind", "title", "time_zone", "minutes", "members", "roles", "location",
                 "host_member_id", "expert_id", "engagement_id", "recording_link", "reason",
                 "sequence", "exceptions", "session_number"):
        setattr(meeting, name, row[name])
    meeting.start, meeting.rule = row["starts_at"], row["rrule"]
    meeting.cancelled = row["status"] == "cancelled"
    meeting.session = row["session"] or ""
    meeting.version = row["version"]
    return meeting


def bounds(meeting: Meeting) -> tuple[datetime, datetime]:
    """The first start and the last end of a meeting's occurrences, moved ones included."""
    found = meeting.occurrences()
    firsts = [min(o.starts, moment_of(o.key)) for o in found]
    lasts = [max(o.ends, moment_of(o.key) + timedelta(minutes=meeting.minutes)) for o in found]
    return min(firsts), max(lasts)


class Blackout(Aggregate):
    """Dates a member cannot meet (a state testing window, days with no substitutes), in its
    hub's zone, both days included."""

    stream_type = "blackout"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.member_id = ""
        self.withdrawn = False

    def declare(self, hub_id: str, member_id: str, starts_on: Any, ends_on: Any,
                reason: Any) -> None:
        if self.exists:
            raise Conflict(f"blackout {self.id} exists already")
        first, last = _day(starts_on, "starts_on"), _day(ends_on, "ends_on")
        if last < first:
            raise _refuse("ends_on", "on or after starts_on")
        if (last - first).days >= MAX_BLACKOUT_DAYS:
            raise _refuse("ends_on", f"at most {MAX_BLACKOUT_DAYS} days after starts_on")
        _text(reason, "reason", 200, required=True)
        self.record("BlackoutDeclared", hub_id=hub_id, member_id=member_id,
                    starts_on=first.isoformat(), ends_on=last.isoformat(), reason=reason)

    def withdraw(self) -> None:
        if self.withdrawn:
            raise Conflict(f"blackout {self.id} is withdrawn already")
        self.record("BlackoutWithdrawn")

    @applies("BlackoutDeclared")
    def _declared(self, data: dict[str, Any]) -> None:
        self.hub_id, self.member_id = data["hub_id"], data["member_id"]

    @applies("BlackoutWithdrawn")
    def _withdrawn(self, data: dict[str, Any]) -> None:
        self.withdrawn = True


class ExpertCalendar(Aggregate):
    """The times an expert is not available (besides the sessions booked), kept by the hub
    that added the expert to the pool."""

    stream_type = "expert-calendar"
    noun = "expert"

    def mark_unavailable(self, hub_id: str, owner_hub_id: str, period_id: str,
                         starts_at: datetime, ends_at: datetime, reason: Any) -> None:
        if hub_id != owner_hub_id:
            raise _refuse("hub_id", "only the hub that added the expert keeps its calendar")
        if ends_at <= starts_at:
            raise _refuse("ends_at", "after starts_at")
        if ends_at - starts_at > timedelta(days=MAX_UNAVAILABLE_DAYS):
            raise _refuse("ends_at", f"at most {MAX_UNAVAILABLE_DAYS} days after starts_at")
        _text(reason, "reason", 200)
        self.record("ExpertUnavailable", hub_id=owner_hub_id, period_id=period_id,
                    starts_at=starts_at.astimezone(UTC).isoformat(),
                    ends_at=ends_at.astimezone(UTC).isoformat(), reason=reason)

    @applies("ExpertUnavailable")
    def _unavailable(self, data: dict[str, Any]) -> None:
        self.hub_id = data["hub_id"]


def _meets(start: datetime, end: datetime, since: datetime | None,
           before: datetime | None) -> bool:
    return (since is None or end > since) and (before is None or start < before)


def _day(value: Any, field: str) -> date:
    if not isinstance(value, str):
        raise _refuse(field, "a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(field, "a date, YYYY-MM-DD") from None


__all__ = ["Blackout", "ExpertCalendar", "Meeting", "Occurrence", "local_text"]
