"""Find a time: candidate slots for a meeting, ranked by what each costs (issue 18).

Pure: the service gathers who is invited (people by member), what each is already doing (their
meetings), the blackout days of their members, and the expert's busy times; this decides.

Candidates start every ``STEP_MINUTES`` within the working hours of each working day of the
window, in the hub's zone (a day the clocks change is still 9:00 to 15:00 local), and end within
them. Each candidate costs:

- **who cannot come and why**: an invitee in another meeting then ("a meeting"), or whose
  member has a blackout that day ("a blackout: state testing window");
- **whether it can happen at all**: the expert busy then, or (a site visit) the host or a
  visiting member in a blackout. Such a slot is ranked after every slot that can happen.

Ranked by: can happen first; then fewer people who cannot come; then fewer members with
someone missing; then earlier. At most ``limit`` slots are answered, each with its costs.

Bounds (documented in the README): a window of at most ``MAX_WINDOW_DAYS`` days, at most
``MAX_INVITEES`` people, at most ``MAX_BUSY`` busy times considered; the work is at most
(candidates × their overlaps), found by sorting, never candidates × everything.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eventstore.errors import ValidationError

from .recurrence import YEARS, exists

MAX_WINDOW_DAYS = 92
MAX_INVITEES = 300
MAX_BUSY = 20_000
STEP_MINUTES = 30
MAX_LIMIT = 50
WEEKDAYS = (0, 1, 2, 3, 4)      # Monday to Friday


def _refuse(field_name: str, message: str) -> ValidationError:
    return ValidationError(message, {field_name: [message]})


@dataclass(frozen=True)
class Invitee:
    person_id: str
    member_id: str


@dataclass(frozen=True)
class Busy:
    """A person (or the expert: ``person_id`` None) busy from ``starts`` to ``ends`` (UTC)."""

    person_id: str | None
    starts: datetime
    ends: datetime
    why: str


@dataclass(frozen=True)
class Blackout:
    member_id: str
    first: date
    last: date
    reason: str


@dataclass(frozen=True)
class Request:
    """What a facilitator asks: ``first``..``last`` (local dates, both included), working hours
    ``day_starts``..``day_ends`` (local), ``minutes`` long, in ``tz``."""

    first: date
    last: date
    day_starts: time
    day_ends: time
    minutes: int
    tz: Any
    weekdays: tuple[int, ...] = WEEKDAYS
    must_attend: tuple[str, ...] = ()     # members that must all be free (a site visit's)
    limit: int = 10


@dataclass
class Slot:
    starts: datetime
    ends: datetime
    possible: bool = True
    missing: dict[str, str] = field(default_factory=dict)   # person id -> why
    blocked: list[str] = field(default_factory=list)        # why it cannot happen


def check(request: Request, invitees: Sequence[Invitee], busy: Sequence[Busy]) -> None:
    """Refuse work the platform does not do for one request, naming the field."""
    if not (YEARS[0] <= request.first.year and request.last.year <= YEARS[1]):
        raise _refuse("from", f"dates from {YEARS[0]} to {YEARS[1]}")
    if request.last < request.first:
        raise _refuse("to", "on or after from")
    if (request.last - request.first).days >= MAX_WINDOW_DAYS:
        raise _refuse("to", f"a window of at most {MAX_WINDOW_DAYS} days")
    if request.day_ends <= request.day_starts:
        raise _refuse("day_ends", "after day_starts")
    day = datetime.combine(date(2000, 1, 3), request.day_ends) - datetime.combine(
        date(2000, 1, 3), request.day_starts)
    if timedelta(minutes=request.minutes) > day:
        raise _refuse("minutes", "no longer than the working day")
    if len({i.person_id for i in invitees}) > MAX_INVITEES:
        raise _refuse("people", f"at most {MAX_INVITEES} people invited")
    if len(busy) > MAX_BUSY:
        raise _refuse("to", "too much in this window: ask for a shorter one")
    if not 1 <= request.limit <= MAX_LIMIT:
        raise _refuse("limit", f"from 1 to {MAX_LIMIT}")


def candidates(request: Request) -> list[tuple[datetime, datetime]]:
    """Every start, in UTC, within the working hours of the window's working days."""
    found = []
    day = request.first
    step = timedelta(minutes=STEP_MINUTES)
    length = timedelta(minutes=request.minutes)
    while day <= request.last:
        if day.weekday() in request.weekdays:
            start = datetime.combine(day, request.day_starts, tzinfo=request.tz)
            close = datetime.combine(day, request.day_ends, tzinfo=request.tz)
            while start + length <= close:
                if exists(start):
                    begins = start.astimezone(UTC)
                    found.append((begins, begins + length))
                start = start + step   # wall time: a day the clocks change keeps its hours
        day += timedelta(days=1)
    return found


def find_a_time(request: Request, invitees: Sequence[Invitee], busy: Sequence[Busy],
                blackouts: Sequence[Blackout]) -> list[Slot]:
    """The best ``request.limit`` candidate slots, best first, each with what it costs."""
    check(request, invitees, busy)
    people = {i.person_id: i.member_id for i in invitees}
    by_start = sorted(busy, key=lambda b: b.starts)
    starts = [b.starts for b in by_start]
    longest = max((b.ends - b.starts for b in by_start), default=timedelta(0))
    slots = []
    for begins, ends in candidates(request):
        slot = Slot(begins, ends)
        # Busy times that may overlap: those starting before the slot ends and after the
        # slot's start less the longest busy time.
        low = bisect.bisect_left(starts, begins - longest)
        high = bisect.bisect_left(starts, ends)
        for taken in by_start[low:high]:
            if taken.ends <= begins:
                continue
            if taken.person_id is None:
                slot.possible = False
                slot.blocked.append(f"the expert is busy ({taken.why})")
            elif taken.person_id in people:
                slot.missing.setdefault(taken.person_id, taken.why)
        local_day = begins.astimezone(request.tz).date()
        for blackout in blackouts:
            if not blackout.first <= local_day <= blackout.last:
                continue
            if blackout.member_id in request.must_attend:
                slot.possible = False
                slot.blocked.append(f"{blackout.member_id} cannot meet: {blackout.reason}")
            for person, member in people.items():
                if member == blackout.member_id:
                    slot.missing.setdefault(person, f"a blackout: {blackout.reason}")
        slots.append(slot)
    slots.sort(key=lambda s: (not s.possible, len(s.missing),
                              len({people[p] for p in s.missing}), s.starts))
    return slots[:request.limit]
