"""iCalendar feeds (RFC 5545), written with the ``icalendar`` library (issue 18).

One VEVENT per meeting, with a stable UID (the meeting's id) and SEQUENCE bumped on every
change; a series carries its RRULE and, as EXDATE, the occurrences cancelled; each occurrence
moved or cancelled is also a VEVENT of its own with the series' UID and its RECURRENCE-ID (the
original start), STATUS:CANCELLED when cancelled. Times are written in the meeting's zone (TZID)
with a VTIMEZONE for each zone used, so a calendar app shows 9:00 local on both sides of a
daylight-saving change. A meeting cancelled whole, or an expert session that was released, is
STATUS:CANCELLED.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar

from .domain import RELEASED, Meeting, bounds
from .domain.recurrence import moment_of

PRODUCT = "-//Consortium platform//Scheduling//EN"
KIND_WORDS = {"network_meeting": "Network meeting", "site_visit": "Site visit",
              "check_in": "Check-in", "webinar": "Webinar", "expert_session": "Expert session"}


def uid(meeting_id: str) -> str:
    return f"{meeting_id}@consortium-platform"


def feed(name: str, meetings: Iterable[Meeting], now: datetime) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    spans: dict[str, tuple[date, date]] = {}
    for meeting in meetings:
        for event in events(meeting, now):
            calendar.add_component(event)
        starts, ends = bounds(meeting)
        known = spans.get(meeting.time_zone, (starts.date(), ends.date()))
        spans[meeting.time_zone] = (min(known[0], starts.date()), max(known[1], ends.date()))
    for tzid, (first, last) in sorted(spans.items()):
        calendar.add_component(timezone(tzid, first.year - 1, last.year + 1))
    return calendar.to_ical().decode("utf-8")


def timezone(tzid: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """The VTIMEZONE of a zone over the years its meetings span, as calendar apps write it:
    one STANDARD and one DAYLIGHT rule (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU``) when the
    zone changes its clocks by the same rule every one of those years, one STANDARD without a
    rule when it never changes them. A zone whose rules changed in those years gets every
    change listed (icalendar's RDATE form), which some readers handle less well."""
    tz = zoneinfo.ZoneInfo(tzid)
    changes = [c for year in range(first_year, last_year + 1) for c in _changes(tz, year)]
    if not changes:
        offset = tz.utcoffset(datetime(first_year, 1, 1))
        return _vtimezone(tzid, [("STANDARD", datetime(1970, 1, 1), offset, offset,
                                  tz.tzname(datetime(first_year, 1, 1)), None)])
    rules = []
    for kind in ("DAYLIGHT", "STANDARD"):
        same = [c for c in changes if c[0] == kind]
        shapes = {(c[1].month, _nth(c[1]), c[1].weekday(), c[1].time(), c[2], c[3], c[4])
                  for c in same}
        if len(shapes) != 1 or len(same) != last_year - first_year + 1:
            return icalendar.Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1),
                                                last_date=date(last_year, 12, 31))
        first = same[0]
        weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][first[1].weekday()]
        rules.append((kind, first[1], first[2], first[3], first[4],
                      {"freq": "YEARLY", "bymonth": first[1].month,
                       "byday": f"{_nth(first[1])}{weekday}"}))
    return _vtimezone(tzid, rules)


def _changes(tz: zoneinfo.ZoneInfo, year: int) -> list[tuple[Any, ...]]:
    """(DAYLIGHT or STANDARD, local wall time before the change, offset from, offset to,
    name after) of each change of the clocks in a year, found to the minute."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(days=1)
    while moment < end:
        later = min(moment + step, end)
        before, after = tz.utcoffset(moment.astimezone(tz)), tz.utcoffset(later.astimezone(tz))
        if before != after:
            low, high = moment, later
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if tz.utcoffset(middle.astimezone(tz)) == before:
                    low = middle
                else:
                    high = middle
            assert before is not None and after is not None
            wall = (high + before).replace(tzinfo=None, second=0, microsecond=0)
            kind = "DAYLIGHT" if tz.dst(high.astimezone(tz)) else "STANDARD"
            found.append((kind, wall, before, after, high.astimezone(tz).tzname()))
        moment = later
    return found


def _nth(day: datetime) -> int:
    """Which of its weekday in the month a day is: 1 to 4, or -1 for the last."""
    return -1 if (day + timedelta(days=7)).month != day.month else (day.day - 1) // 7 + 1


def _vtimezone(tzid: str, rules: list[tuple[Any, ...]]) -> icalendar.Timezone:
    vtimezone = icalendar.Timezone()
    vtimezone.add("tzid", tzid)
    for kind, start, offset_from, offset_to, name, rule in rules:
        part = (icalendar.TimezoneDaylight() if kind == "DAYLIGHT"
                else icalendar.TimezoneStandard())
        part.add("dtstart", start)
        part.add("tzoffsetfrom", offset_from)
        part.add("tzoffsetto", offset_to)
        if name:
            part.add("tzname", name)
        if rule:
            part.add("rrule", rule)
        vtimezone.add_component(part)
    return vtimezone


def events(meeting: Meeting, now: datetime) -> list[icalendar.Event]:
    tz = meeting.zone
    start = meeting.first_start()
    master = _event(meeting, now, start, start + timedelta(minutes=meeting.minutes),
                    meeting.sequence)
    whole_cancelled = meeting.cancelled or meeting.session == RELEASED
    master.add("status", "CANCELLED" if whole_cancelled else "CONFIRMED")
    if meeting.rule is not None:
        master.add("rrule", icalendar.vRecur.from_ical(meeting.rule))
    found = [master]
    cancelled = []
    for key, exception in sorted(meeting.exceptions.items()):
        original = moment_of(key).astimezone(tz)
        if exception.get("cancelled"):
            cancelled.append(original)
        moved = (moment_of(key).astimezone(tz) if not exception.get("start") else
                 datetime.strptime(exception["start"], "%Y-%m-%dT%H:%M").replace(tzinfo=tz))
        minutes = exception.get("minutes") or meeting.minutes
        override = _event(meeting, now, moved, moved + timedelta(minutes=minutes),
                          exception.get("sequence", meeting.sequence))
        override.add("recurrence-id", original)
        override.add("status", "CANCELLED" if exception.get("cancelled") or whole_cancelled
                     else "CONFIRMED")
        found.append(override)
    if cancelled:
        master.add("exdate", cancelled)
    return found


def _event(meeting: Meeting, now: datetime, start: datetime, end: datetime,
           sequence: int) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid(meeting.id))
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("sequence", sequence)
    event.add("summary", meeting.title)
    event.add("categories", [KIND_WORDS[meeting.kind]])
    if meeting.location:
        event.add("location", meeting.location)
    lines = [KIND_WORDS[meeting.kind]]
    if meeting.recording_link:
        event.add("url", meeting.recording_link)
        lines.append(f"Recording: {meeting.recording_link}")
    if meeting.reason and (meeting.cancelled or meeting.session == RELEASED):
        lines.append(f"Cancelled: {meeting.reason}")
    event.add("description", "\n".join(lines))
    return event
