"""The scheduling service's entrypoints: each command is a named method that calls the domain,
each query asks the read model; the kernel loads, checks the caller, saves and answers.
Decisions live in the domain package (meetings and their occurrences, recurrence, find-a-time),
SQL in projections.py, the iCalendar text in calendar.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eventstore import links
from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.entrypoints import KernelEntrypoints, command, declares, query, rpc
from eventstore.errors import ValidationError
from eventstore.identity import facilitators, hub_people, hub_writers, member_work
from eventstore.ids import id_for
from eventstore.kernel import Kernel
from eventstore.validation import dump, load
from services.membership import directory
from services.membership.directory import MembershipDirectory, known_hub, known_member
from services.resources import contracts as resources

from . import calendar, schemas
from .domain import Blackout, ExpertCalendar, Meeting
from .domain import find_a_time as finder
from .domain.recurrence import local_text, zone
from .projections import PROJECTIONS, SchedulingReadModel, agency_summary

# What a secret link opens: a person's calendar, or a hub's.
PERSON_CALENDAR = "scheduling.person-calendar"
HUB_CALENDAR = "scheduling.hub-calendar"


def the_meeting(service: Any, meeting: Meeting, session: Session) -> Any:
    return session.read_model.meeting(meeting.id)


def the_blackout(service: Any, blackout: Blackout, session: Session) -> Any:
    return session.read_model.blackout(blackout.id)


def active_members(session: Session, hub_id: str) -> dict[str, str]:
    """What membership said of a hub's active members: member id -> hub id."""
    return {m.id: m.hub_id for m in session.read_model.members(hub_id, active_only=True)}


def expert_calendar(session: Session, expert_id: str) -> ExpertCalendar:
    """An expert's calendar in scheduling, whether or not anything is in it yet (an expert
    resources has not told of is unknown)."""
    session.read_model.expert_owner(expert_id)
    return session.find(ExpertCalendar, expert_id) or session.create(ExpertCalendar, expert_id)


def the_expert_calendar(service: Any, calendar: ExpertCalendar, session: Session) -> Any:
    """What the expert's calendar holds from yesterday on, for about a year."""
    return {"expert_id": calendar.id, "busy": session.read_model.expert_busy(
        calendar.id, session.now - timedelta(days=1), session.now + timedelta(days=400))}


class Scheduling(MembershipDirectory, KernelEntrypoints):
    """Hubs, members and who holds which role come from membership's directory; which hub
    added an expert from resources' news; the expert-session process answers through
    resources (its decisions are consumed here)."""

    name = "scheduling"
    kernel = Kernel(projections=PROJECTIONS, read_model=SchedulingReadModel)

    def summary_of(self, cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
        return agency_summary(cur, hubs)
    read_model: SchedulingReadModel
    command_answer = schemas.Meeting
    command_shows = the_meeting

    # -- meetings -----------------------------------------------------------------------------

    @command(known_hub, schemas.MeetingCreate, changes_target=False)
    def schedule_meeting(self, hub: directory.Hub, data: dict, session: Session) -> Meeting:
        meeting = session.create(Meeting, id_for(hub.id, data.get("id"), "mtg"))
        meeting.schedule(hub.id, data["kind"], data["title"],
                         data.get("time_zone") or hub.time_zone or "UTC", data["starts_at"],
                         data["minutes"], data.get("rrule"), data.get("members"),
                         data.get("roles"), active_members(session, hub.id),
                         location=data.get("location"),
                         host_member_id=data.get("host_member_id"),
                         expert_id=data.get("expert_id"),
                         engagement_id=data.get("engagement_id"))
        return meeting

    @command(Meeting, schemas.Reschedule)
    def reschedule_meeting(self, meeting: Meeting, data: dict, session: Session) -> None:
        following = (session.create(Meeting, id_for(str(meeting.hub_id), None, "mtg"))
                     if data["scope"] == "following" else None)
        meeting.reschedule(data.get("occurrence"), data["scope"], data["starts_at"],
                           data.get("minutes"), following, data.get("rrule"))

    @command(Meeting, schemas.Cancellation)
    def cancel_meeting(self, meeting: Meeting, data: dict, session: Session) -> None:
        meeting.cancel(data.get("occurrence"), data["scope"], data.get("reason"))

    @command(Meeting, schemas.Recording)
    def add_recording(self, meeting: Meeting, data: dict, session: Session) -> None:
        meeting.add_recording(data["link"])

    @command(Meeting, schemas.Rsvp, access=hub_people, changes_target=False)
    def rsvp(self, meeting: Meeting, data: dict, session: Session) -> None:
        meeting.rsvp(data.get("occurrence"), data["person_id"], data["answer"],
                     session.read_model.invited(meeting), session.now)

    @command(Meeting, schemas.Attendance, changes_target=False)
    def record_attendance(self, meeting: Meeting, data: dict, session: Session) -> None:
        meeting.record_attendance(data.get("occurrence"), data["present"],
                                  session.read_model.invited(meeting), session.now)

    @command(Meeting, schemas.Feedback, access=hub_people, changes_target=False)
    def give_feedback(self, meeting: Meeting, data: dict, session: Session) -> None:
        meeting.give_feedback(data.get("occurrence"), data["person_id"], data["stars"],
                              data.get("comment"))

    @query(schemas.Meeting)
    def get_meeting(self, meeting_id: str) -> Any:
        return self.read_model.meeting(meeting_id)

    @query(schemas.OccurrenceShown, paged=True)
    def hub_meetings(self, hub_id: str, window: dict, limit: int = 50,
                     after: str | None = None) -> Any:
        return self.read_model.hub_meetings(hub_id, load(schemas.Window, window), limit, after)

    @query(schemas.HubFeedback)
    def hub_feedback(self, hub_id: str) -> Any:
        return {"items": self.read_model.hub_feedback(hub_id)}

    # -- blackouts and experts' calendars -----------------------------------------------------

    @command(known_member, schemas.BlackoutCreate, changes_target=False, access=member_work,
             answer=schemas.Blackout, shows=the_blackout)
    def declare_blackout(self, member: directory.Member, data: dict,
                         session: Session) -> Blackout:
        blackout = session.create(Blackout, id_for(member.hub_id, data.get("id"), "blk"))
        blackout.declare(member.hub_id, member.id, data["starts_on"], data["ends_on"],
                         data["reason"])
        return blackout

    @command(Blackout, None, access=member_work, answer=schemas.Blackout, shows=the_blackout)
    def withdraw_blackout(self, blackout: Blackout, data: dict, session: Session) -> None:
        blackout.withdraw()

    @query(schemas.Blackout, paged=True)
    def member_blackouts(self, member_id: str, limit: int = 50,
                         after: str | None = None) -> Any:
        return self.read_model.member_blackouts(member_id, limit, after)

    @command(expert_calendar, schemas.Unavailability, access=facilitators,
             changes_target=False, answer=schemas.ExpertCalendar, shows=the_expert_calendar)
    def mark_expert_unavailable(self, calendar: ExpertCalendar, data: dict,
                                session: Session) -> None:
        hub = known_hub(session, data["hub_id"])
        hub_writers(session.caller, hub)
        calendar.mark_unavailable(hub.id, session.read_model.expert_owner(calendar.id),
                                  id_for(hub.id, None, "off"),
                                  datetime.fromisoformat(data["starts_at"]),
                                  datetime.fromisoformat(data["ends_at"]), data.get("reason"))

    @query(schemas.ExpertCalendar)
    def expert_busy(self, expert_id: str, window: dict) -> Any:
        window = load(schemas.BusyWindow, window)
        since = datetime.fromisoformat(window["starts_from"])
        before = datetime.fromisoformat(window["ends_before"])
        self.read_model.expert_owner(expert_id)
        if before - since > timedelta(days=366) or before <= since:
            raise ValidationError("a window of at most 366 days", {"to": [
                "after from, at most 366 days after it"]})
        return {"expert_id": expert_id,
                "busy": self.read_model.expert_busy(expert_id, since, before)}

    # -- find a time ----------------------------------------------------------------------------

    @rpc
    @declares(schemas.FindATime, schemas.Slots)
    def find_a_time(self, hub_id: str, data: dict) -> Any:
        """Candidate slots for the invitees, best first, each with what it costs."""
        data = load(schemas.FindATime, data)
        read = self.read_model
        hub = read.hub(hub_id)
        self.caller().require_write(hub.id, f"hub {hub.id}")
        tz = zone(hub.time_zone or "UTC")
        members = data.get("members")
        host = data.get("host_member_id")
        invitees = read.find_a_time_people(
            hub.id, None if members is None else [*members, *([host] if host else [])],
            data.get("roles") or ["driver", "design_team"], data.get("people") or [])
        request = finder.Request(
            date.fromisoformat(data["starts_on"]), date.fromisoformat(data["ends_on"]),
            time.fromisoformat(data["day_starts"]), time.fromisoformat(data["day_ends"]),
            data["minutes"], tz, must_attend=tuple([host, *(members or [])] if host else ()),
            limit=data["limit"])
        finder.check(request, invitees, [])
        since = datetime.combine(request.first, time(), tz)
        before = datetime.combine(request.last + timedelta(days=1), time(), tz)
        people = {i.person_id: i.member_id for i in invitees}
        busy = read.busy_for(data.get("expert_id"), people, hub.id, since, before)
        blackouts = read.blackouts_between(sorted({i.member_id for i in invitees}
                                                  | set(request.must_attend)),
                                           request.first, request.last)
        slots = finder.find_a_time(request, invitees, busy, blackouts)
        return dump(schemas.Slots, {
            "time_zone": tz.key, "invited": len(people),
            "items": [{"starts_at": s.starts, "ends_at": s.ends,
                       "local_start": local_text(s.starts.astimezone(tz)),
                       "possible": s.possible, "blocked": s.blocked,
                       "missing": [{"person_id": p, "why": why}
                                   for p, why in sorted(s.missing.items())]}
                      for s in slots]})

    # -- iCalendar feeds ------------------------------------------------------------------------

    @query(None)
    def hub_calendar(self, hub_id: str) -> str:
        hub = self.read_model.hub(hub_id)
        return calendar.feed(hub.name, self.read_model.hub_calendar(hub_id), datetime.now(UTC))

    @query(None)
    def person_calendar(self, person_id: str) -> str:
        _, meetings = self.read_model.person_meetings(person_id)
        return calendar.feed(f"Meetings of {person_id}", meetings, datetime.now(UTC))

    @rpc
    @declares(None, schemas.CalendarLink)
    def rotate_person_calendar_link(self, person_id: str) -> dict:
        """A new secret link to a person's calendar, for a calendar app; the one before stops
        working (404). Not a command with an Idempotency-Key (its route is a PUT): a kept
        answer would keep the secret."""
        hub_id, _ = self.read_model.person_meetings(person_id)
        return self._new_link(PERSON_CALENDAR, person_id, hub_id, "people")

    @rpc
    @declares(None, schemas.CalendarLink)
    def rotate_hub_calendar_link(self, hub_id: str) -> dict:
        hub = self.read_model.hub(hub_id)
        return self._new_link(HUB_CALENDAR, hub.id, hub.id, "hubs")

    def _new_link(self, kind: str, object_id: str, hub_id: str, feeds: str) -> dict:
        self.caller().require_write(hub_id, f"{feeds[:-1]} {object_id}")
        with self.kernel.db.transaction() as cur:
            secret = links.issue(cur, kind, object_id, hub_id)
        return dump(schemas.CalendarLink, {"object_id": object_id, "link": secret,
                                           "path": f"/v1/calendars/{feeds}/{secret}.ics"})

    @query(None)
    def person_calendar_by_link(self, link: str) -> str:
        with links.reading(self.kernel, PERSON_CALENDAR, link, "calendar") as (found, read):
            _, meetings = read.person_meetings(found.object_id)
            return calendar.feed("Network meetings", meetings, datetime.now(UTC))

    @query(None)
    def hub_calendar_by_link(self, link: str) -> str:
        with links.reading(self.kernel, HUB_CALENDAR, link, "calendar") as (found, read):
            hub = read.hub(found.object_id)
            return calendar.feed(hub.name, read.hub_calendar(hub.id), datetime.now(UTC))

    # -- news from resources ---------------------------------------------------------------------

    @consumes(resources.ExpertAdded)
    def on_expert_added(self, session: Session, event: resources.ExpertAdded) -> None:
        session.cur.execute("""INSERT INTO experts_known (id, hub_id) VALUES (%s, %s)
                               ON CONFLICT (id) DO NOTHING""",
                            (event.recorded.stream_id, event.hub_id))

    @consumes(resources.ExpertSessionRecorded)
    def on_session_recorded(self, session: Session,
                            event: resources.ExpertSessionRecorded) -> None:
        meeting = session.find(Meeting, event.request_id)
        if meeting is not None:
            meeting.session_counted(event.number)

    @consumes(resources.ExpertSessionRefused)
    def on_session_refused(self, session: Session,
                           event: resources.ExpertSessionRefused) -> None:
        meeting = session.find(Meeting, event.request_id)
        if meeting is not None:
            meeting.session_refused(event.explanation)

