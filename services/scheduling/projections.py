"""Scheduling's read model: meetings as planned (their occurrences expanded when read), who
answered and came, members' blackouts, and one calendar per shared expert (its holds refused by
an exclusion constraint when they overlap). Every projection is inline (a booking's answer says
at once whether the expert was free) and rebuildable from the log."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from psycopg2.extras import Json

from eventstore import cursors
from eventstore.disclosure import Counts, derived_or_none
from eventstore.errors import NotFound
from eventstore.projections import Projection, handles
from eventstore.readmodel import ReadModel, page_limit
from services.membership.directory import DirectoryReads

from .domain import CONFIRMED, REQUESTED, Meeting, bounds, planned
from .domain.find_a_time import Blackout as BlackoutDays
from .domain.find_a_time import Busy, Invitee
from .domain.recurrence import local_text, zone

MEETING_COLUMNS = ("id, hub_id, kind, title, time_zone, starts_at, minutes, rrule, members, "
                   "roles, location, host_member_id, expert_id, engagement_id, recording_link, "
                   "status, session, session_number, reason, sequence, exceptions, "
                   "continued_by, version")
# A hub's occurrences in a window page by a token of (start, meeting, occurrence).
HUB_MEETINGS = "scheduling.hub-meetings.v1"
EXISTING = re.compile(r'existing key \(expert_id, during\)=\(.*, \["?([^",]+)"?,"?([^")]+)"?\)\)')


def busy(detail: str) -> str:
    """The 409 of a second hold of an expert's time: when the expert is busy (from the
    constraint's detail: the time held, never whose it is)."""
    found = EXISTING.search(detail)
    if found is None:
        return "the expert is busy then; choose another time"
    first, last = (datetime.fromisoformat(t.strip()).astimezone(UTC).isoformat()
                   for t in found.groups())
    return f"the expert is busy then: from {first} to {last}; choose another time"


class Meetings(Projection):
    """Each meeting as its events left it (the aggregate's own appliers, replayed on the row),
    and one calendar per expert: the times its sessions hold, and those it is unavailable."""

    name = "meetings"
    tables = ("meetings_view", "expert_slots")
    inline = True
    conflicts = {"expert_slots_expert_free": busy}

    @handles("MeetingScheduled", "MeetingRescheduled", "OccurrenceRescheduled",
             "OccurrenceCancelled", "SeriesEnded", "MeetingCancelled", "RecordingAdded",
             "ExpertSessionRequested", "ExpertSessionConfirmed", "ExpertSessionReleased")
    def changed(self, cur: Any, event: Any) -> None:
        meeting = self._load(cur, event.stream_id) or Meeting(event.stream_id)
        meeting.replay(event)
        first, last = bounds(meeting)
        continued_by = event.data.get("continued_by") if event.type == "SeriesEnded" else None
        cur.execute(
            """INSERT INTO meetings_view (id, hub_id, kind, title, time_zone, starts_at,
                   minutes, rrule, members, roles, location, host_member_id, expert_id,
                   engagement_id, recording_link, status, session, session_number, reason,
                   sequence, exceptions, first_start, last_end, continued_by, created_at,
                   version)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET starts_at = EXCLUDED.starts_at,
                   minutes = EXCLUDED.minutes, rrule = EXCLUDED.rrule,
                   recording_link = EXCLUDED.recording_link, status = EXCLUDED.status,
                   session = EXCLUDED.session, session_number = EXCLUDED.session_number,
                   reason = EXCLUDED.reason, sequence = EXCLUDED.sequence,
                   exceptions = EXCLUDED.exceptions, first_start = EXCLUDED.first_start,
                   last_end = EXCLUDED.last_end,
                   continued_by = coalesce(EXCLUDED.continued_by, meetings_view.continued_by),
                   version = EXCLUDED.version""",
            (meeting.id, meeting.hub_id, meeting.kind, meeting.title, meeting.time_zone,
             meeting.start, meeting.minutes, meeting.rule, meeting.members, meeting.roles,
             meeting.location, meeting.host_member_id, meeting.expert_id,
             meeting.engagement_id, meeting.recording_link,
             "cancelled" if meeting.cancelled else "scheduled", meeting.session or None,
             meeting.session_number, meeting.reason, meeting.sequence,
             Json(meeting.exceptions), first, last, continued_by, event.recorded_at,
             event.version))
        if meeting.kind == "expert_session":
            self._hold(cur, meeting, first, last)

    @handles("ExpertUnavailable")
    def unavailable(self, cur: Any, event: Any) -> None:
        """An expert's calendar (its stream) holds the times the expert is unavailable."""
        cur.execute("""INSERT INTO expert_slots (slot_id, expert_id, hub_id, during)
                       VALUES (%s, %s, %s, tstzrange(%s::timestamptz, %s::timestamptz))""",
                    (event.data["period_id"], event.stream_id, event.hub_id,
                     event.data["starts_at"], event.data["ends_at"]))

    @staticmethod
    def _hold(cur: Any, meeting: Meeting, first: datetime, last: datetime) -> None:
        """An expert session holds the expert's time while requested or confirmed."""
        if meeting.session in (REQUESTED, CONFIRMED) and not meeting.cancelled:
            cur.execute("""INSERT INTO expert_slots (slot_id, expert_id, hub_id, during)
                           VALUES (%s, %s, %s, tstzrange(%s, %s))
                           ON CONFLICT (slot_id) DO UPDATE SET during = EXCLUDED.during""",
                        (meeting.id, meeting.expert_id, meeting.hub_id, first, last))
        else:
            cur.execute("DELETE FROM expert_slots WHERE slot_id = %s", (meeting.id,))

    @staticmethod
    def _load(cur: Any, meeting_id: str) -> Meeting | None:
        cur.execute(f"SELECT {MEETING_COLUMNS} FROM meetings_view WHERE id = %s", (meeting_id,))
        row = cur.fetchone()
        if row is None:
            return None
        columns = [c.name for c in cur.description]
        return planned(dict(zip(columns, row, strict=True)))


class Responses(Projection):
    """RSVPs, attendance and feedback, one row per occurrence and person."""

    name = "responses"
    tables = ("meeting_responses",)
    inline = True

    @handles("RsvpGiven")
    def rsvp(self, cur: Any, event: Any) -> None:
        self._upsert(cur, event, event.data["person_id"], "answer", event.data["answer"])

    @handles("AttendanceRecorded")
    def attendance(self, cur: Any, event: Any) -> None:
        present = list(event.data["present"])
        cur.execute("""UPDATE meeting_responses SET attended = false
                       WHERE meeting_id = %s AND occurrence = %s
                       AND NOT person_id = ANY(%s)""",
                    (event.stream_id, event.data["occurrence"], present))
        for person in present:
            self._upsert(cur, event, person, "attended", True)

    @handles("FeedbackGiven")
    def feedback(self, cur: Any, event: Any) -> None:
        self._upsert(cur, event, event.data["person_id"], "stars", event.data["stars"],
                     comment=event.data["comment"])

    @staticmethod
    def _upsert(cur: Any, event: Any, person: str, column: str, value: Any,
                comment: str | None = None) -> None:
        assert column in ("answer", "attended", "stars")
        occurrence = event.data["occurrence"]
        cur.execute(
            f"""INSERT INTO meeting_responses (meeting_id, occurrence, person_id, hub_id,
                                               {column}, comment, starts_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s::timestamptz)
                ON CONFLICT (meeting_id, occurrence, person_id) DO UPDATE
                    SET {column} = EXCLUDED.{column},
                        comment = coalesce(EXCLUDED.comment, meeting_responses.comment)""",
            (event.stream_id, occurrence, person, event.hub_id, value, comment,
             occurrence.replace("Z", "+00:00")))


class Blackouts(Projection):
    name = "blackouts"
    tables = ("blackouts_view",)
    inline = True

    @handles("BlackoutDeclared")
    def declared(self, cur: Any, event: Any) -> None:
        d = event.data
        cur.execute("""INSERT INTO blackouts_view (id, hub_id, member_id, starts_on, ends_on,
                                                   reason, version)
                       VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                    (event.stream_id, d["hub_id"], d["member_id"], d["starts_on"],
                     d["ends_on"], d["reason"], event.version))

    @handles("BlackoutWithdrawn")
    def withdrawn(self, cur: Any, event: Any) -> None:
        cur.execute("UPDATE blackouts_view SET withdrawn = true, version = %s WHERE id = %s",
                    (event.version, event.stream_id))


PROJECTIONS = [Meetings(), Responses(), Blackouts()]


class SchedulingReadModel(DirectoryReads, ReadModel):
    """Scheduling's queries, and membership's directory's (``hub``, ``member``, ``roles_in``)."""

    # -- meetings ---------------------------------------------------------------------------

    def meeting_row(self, meeting_id: str) -> dict[str, Any]:
        row = self.row(f"SELECT {MEETING_COLUMNS} FROM meetings_view WHERE id = %s", meeting_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            raise NotFound(f"no meeting {meeting_id}")
        return row

    def meeting(self, meeting_id: str) -> dict[str, Any]:
        """A meeting with every occurrence, who is invited and its feedback."""
        row = self.meeting_row(meeting_id)
        meeting = planned(row)
        found = self.row("""SELECT count(stars) AS count, avg(stars)::float AS average
                            FROM meeting_responses WHERE meeting_id = %s""", meeting_id)
        return {**row, "occurrences": [occurrence_shown(meeting, o)
                                       for o in meeting.occurrences()],
                "invitees": self.invitees(meeting),
                "feedback": {"count": found["count"] if found else 0,
                             "average": round(found["average"], 2)
                             if found and found["average"] is not None else None}}

    def invitees(self, meeting: Meeting) -> list[dict[str, Any]]:
        """The people invited now: those holding an invited role at an invited active member
        (an erased person, or one who left the role, is not among them)."""
        active = {m.id for m in self.members(str(meeting.hub_id), active_only=True)}
        wanted = set(meeting.members) if meeting.members is not None else active
        return [{"person_id": r.person_id, "member_id": r.member_id, "role": r.role}
                for r in self.roles_in(str(meeting.hub_id))
                if r.role in meeting.roles and r.member_id in wanted & active]

    def invited(self, meeting: Meeting) -> set[str]:
        return {i["person_id"] for i in self.invitees(meeting)}

    def meetings_between(self, hub_id: str, since: datetime,
                         before: datetime) -> list[Meeting]:
        rows = self.rows(f"""SELECT {MEETING_COLUMNS} FROM meetings_view
                             WHERE hub_id = %s AND first_start < %s AND last_end > %s
                             ORDER BY first_start, id""", hub_id, before, since)
        return [planned(row) for row in rows]

    def hub_meetings(self, hub_id: str, window: dict[str, Any], limit: Any,
                     after: str | None) -> dict[str, Any]:
        """The hub's occurrences that meet a window of local dates, by start, paged."""
        hub = self.hub(hub_id)
        tz = zone(hub.time_zone or "UTC")
        since = datetime.combine(date.fromisoformat(window["starts_from"]), time(), tz)
        before = datetime.combine(date.fromisoformat(window["ends_on"]) + timedelta(days=1),
                                  time(), tz)
        kind = f"{HUB_MEETINGS}:{hub_id}:{window['starts_from']}:{window['ends_on']}"
        position = cursors.decode(kind, after, self.caller)
        limit = page_limit(limit)
        found = sorted(((o.starts, meeting.id, o.key, meeting, o)
                        for meeting in self.meetings_between(hub_id, since, before)
                        for o in meeting.occurrences(since, before)
                        if o.starts < before and o.ends > since),
                       key=lambda item: item[:3])
        if position is not None:
            try:
                mark = (datetime.fromisoformat(position["at"]), str(position["m"]),
                        str(position["o"]))
            except (KeyError, TypeError, ValueError):
                raise cursors.refused() from None
            found = [item for item in found if item[:3] > mark]
        rows = [occurrence_shown(meeting, o) for _, _, _, meeting, o in found[:limit + 1]]
        return cursors.page(rows, limit, kind, self.caller, lambda row: {
            "at": row["starts_at"].isoformat(), "m": row["meeting_id"],
            "o": row["occurrence"]})

    def person_meetings(self, person_id: str) -> tuple[str, list[Meeting]]:
        """The meetings a person is invited to now: (their hub, the meetings)."""
        roles = self.rows("""SELECT r.member_id, r.hub_id, r.role FROM directory_roles r
                             JOIN directory_members m ON m.id = r.member_id
                             WHERE r.person_id = %s AND r.held AND m.status = 'active'""",
                          person_id)
        roles = [r for r in roles if self.caller.may_read_hub(r["hub_id"])]
        if not roles:
            raise NotFound(f"no person {person_id}")
        hubs = sorted({r["hub_id"] for r in roles})
        rows = self.rows(f"""SELECT {MEETING_COLUMNS} FROM meetings_view
                             WHERE hub_id = ANY(%s) ORDER BY first_start, id""", hubs)
        held = {(r["member_id"], r["role"]) for r in roles}
        active = {hub: {m.id for m in self.members(hub, active_only=True)} for hub in hubs}
        chosen = []
        for row in rows:
            meeting = planned(row)
            members = (set(meeting.members) if meeting.members is not None
                       else active[str(meeting.hub_id)])
            if any(member in members and role in meeting.roles for member, role in held):
                chosen.append(meeting)
        return hubs[0], chosen

    def hub_calendar(self, hub_id: str) -> list[Meeting]:
        self.hub(hub_id)
        rows = self.rows(f"SELECT {MEETING_COLUMNS} FROM meetings_view WHERE hub_id = %s "
                         "ORDER BY first_start, id", hub_id)
        return [planned(row) for row in rows]

    def hub_feedback(self, hub_id: str) -> list[dict[str, Any]]:
        """Feedback per month of the hub's occurrences (in UTC months)."""
        self.hub(hub_id)
        return self.rows("""SELECT to_char(starts_at, 'YYYY-MM') AS month,
                                   count(DISTINCT (meeting_id, occurrence)) AS meetings,
                                   count(stars) AS count,
                                   round(avg(stars)::numeric, 2)::float AS average
                            FROM meeting_responses WHERE hub_id = %s AND stars IS NOT NULL
                            GROUP BY 1 ORDER BY 1""", hub_id)

    # -- blackouts and experts -----------------------------------------------------------------

    def blackout(self, blackout_id: str) -> dict[str, Any]:
        row = self.row("""SELECT id, hub_id, member_id, starts_on, ends_on, reason, withdrawn,
                                 version FROM blackouts_view WHERE id = %s""", blackout_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            raise NotFound(f"no blackout {blackout_id}")
        return row

    def member_blackouts(self, member_id: str, limit: Any, after: str | None) -> dict[str, Any]:
        self.member(member_id)
        return self.page("""SELECT id, hub_id, member_id, starts_on, ends_on, reason,
                                   withdrawn, version FROM blackouts_view
                            WHERE member_id = %s AND NOT withdrawn AND id > %s
                            ORDER BY id LIMIT %s""", member_id, after=after, limit=limit)

    def blackouts_between(self, member_ids: list[str], first: date,
                          last: date) -> list[BlackoutDays]:
        rows = self.rows("""SELECT member_id, starts_on, ends_on, reason FROM blackouts_view
                            WHERE member_id = ANY(%s) AND NOT withdrawn
                            AND starts_on <= %s AND ends_on >= %s""", member_ids, last, first)
        return [BlackoutDays(r["member_id"], r["starts_on"], r["ends_on"], r["reason"])
                for r in rows]

    def expert_owner(self, expert_id: str) -> str:
        row = self.row("SELECT hub_id FROM experts_known WHERE id = %s", expert_id)
        if row is None:
            raise NotFound(f"no expert {expert_id}")
        return str(row["hub_id"])

    def expert_busy(self, expert_id: str, since: datetime, before: datetime,
                    most: int = 2000) -> list[dict[str, Any]]:
        """When the expert is busy in a window: times only, never whose or why."""
        return self.rows("""SELECT lower(during) AS starts_at, upper(during) AS ends_at
                            FROM expert_slots WHERE expert_id = %s
                            AND during && tstzrange(%s, %s) ORDER BY lower(during) LIMIT %s""",
                         expert_id, since, before, most)

    def busy_for(self, expert_id: str | None, people: dict[str, str], hub_id: str,
                 since: datetime, before: datetime) -> list[Busy]:
        """What find-a-time weighs: the expert's busy times, and each person's meetings."""
        busy = [Busy(None, r["starts_at"], r["ends_at"], "booked or unavailable")
                for r in (self.expert_busy(expert_id, since, before) if expert_id else [])]
        for meeting in self.meetings_between(hub_id, since, before):
            if meeting.cancelled or meeting.session == "released":
                continue
            active = set(people.values())
            members = set(meeting.members) if meeting.members is not None else active
            for occurrence in meeting.occurrences(since, before):
                if occurrence.cancelled:
                    continue
                for person, member in people.items():
                    if member in members:
                        busy.append(Busy(person, occurrence.starts, occurrence.ends,
                                         f"a meeting: {meeting.title}"))
        return busy

    def find_a_time_people(self, hub_id: str, members: list[str] | None, roles: list[str],
                           people: list[str]) -> list[Invitee]:
        active = {m.id for m in self.members(hub_id, active_only=True)}
        wanted = set(members) if members is not None else active
        unknown = sorted(set(wanted) - active)
        if unknown:
            from eventstore.errors import ValidationError
            raise ValidationError(f"not active members of hub {hub_id}: {', '.join(unknown)}",
                                  {"members": [f"not active members of hub {hub_id}"]})
        found = [Invitee(r.person_id, r.member_id) for r in self.roles_in(hub_id)
                 if (r.role in roles and r.member_id in wanted) or r.person_id in people]
        return list({i.person_id: i for i in found}.values())


def occurrence_shown(meeting: Meeting, occurrence: Any) -> dict[str, Any]:
    tz = meeting.zone
    status = ("cancelled" if occurrence.cancelled else
              meeting.session if meeting.kind == "expert_session" and meeting.session else
              "moved" if occurrence.moved else "scheduled")
    if meeting.session == "released":
        status = "released"
    return {"meeting_id": meeting.id, "occurrence": occurrence.key, "kind": meeting.kind,
            "title": meeting.title, "starts_at": occurrence.starts,
            "ends_at": occurrence.ends, "local_start": local_text(occurrence.starts
                                                                   .astimezone(tz)),
            "time_zone": meeting.time_zone, "status": status,
            "reason": occurrence.reason or (meeting.reason if status == "released" else None),
            "sequence": occurrence.sequence}



def agency_summary(cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
    """Scheduling's part of the agencies' summary, by kind of meeting: meetings held (an
    occurrence someone's attendance was recorded for), people who attended, and the average
    feedback with its raters (not shown for fewer than 11)."""
    found: dict[str, dict[str, Any]] = {
        hub: {"meetings_held": Counts(), "attendance": Counts(), "feedback": {}}
        for hub in hubs}
    cur.execute("""SELECT r.hub_id, m.kind,
                          count(DISTINCT (r.meeting_id, r.occurrence)) FILTER (WHERE r.attended),
                          count(*) FILTER (WHERE r.attended),
                          count(r.stars), avg(r.stars)
                   FROM meeting_responses r JOIN meetings_view m ON m.id = r.meeting_id
                   WHERE r.hub_id = ANY(%s) GROUP BY 1, 2""", (hubs,))
    for hub, kind, held, attended, raters, average in cur.fetchall():
        found[hub]["meetings_held"].setdefault("meetings", {})[kind] = held
        found[hub]["attendance"].setdefault("people attending", {})[kind] = attended
        found[hub]["feedback"][kind] = {
            "raters": derived_or_none(raters, raters),
            "average_stars": derived_or_none(
                None if average is None else round(float(average), 2), raters)}
    return found
