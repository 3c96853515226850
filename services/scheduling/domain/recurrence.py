"""Local times and recurrence rules, decided without I/O (issue 18).

A meeting is kept as a facilitator plans it: a local start (``2027-01-14T09:00``), an IANA time
zone, a length in minutes and, for a series, an RFC 5545 RRULE. Its occurrences are expanded
by ``dateutil.rrule`` in the zone, so a meeting at 9:00 every two months stays at 9:00 local
across daylight-saving changes; each occurrence is known by its original start in UTC (its
key, the RECURRENCE-ID of the calendar feeds).

Local times that are not one moment:
- **Nonexistent** (02:30 on the spring-forward night: clocks go from 02:00 to 03:00): refused,
  naming the field. An occurrence of a series that falls in the gap is moved forward by the
  gap's length (03:30), as RFC 5545 says.
- **Ambiguous** (01:30 on the fall-back night happens twice): the first of the two (daylight
  time, before the clocks go back), for a start and for every occurrence.

Bounds (a rule is stored and expanded on every read of a calendar): FREQ daily, weekly,
monthly or yearly (never hourly or finer); COUNT or UNTIL, one of the two required; at most
``MAX_COUNT`` occurrences, and UNTIL at most ``MAX_SPAN_DAYS`` after the start. A rule that
yields no occurrence at all is refused.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any

from dateutil.rrule import rrule, rrulestr

from eventstore.errors import ValidationError
from eventstore.zones import zone_named

# The years a meeting may be in: wide enough for any school year, and far from the ends of
# the calendar (year 9999 plus a meeting's length is past the last date there is).
YEARS = (1970, 2100)
MAX_COUNT = 120              # occurrences of a series (a school year of school days)
MAX_SPAN_DAYS = 2 * 366      # UNTIL at most about two school years after the start
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
KEY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: [message]})


def zone(name: Any, field: str = "time_zone") -> zoneinfo.ZoneInfo:
    """The IANA zone of that name; anything else is refused naming ``field``."""
    found = zone_named(name)
    if found is None:
        raise _refuse(field, "an IANA time zone, such as America/Los_Angeles")
    return found


def local_start(value: Any, tz: zoneinfo.ZoneInfo, field: str = "starts_at") -> datetime:
    """``YYYY-MM-DDTHH:MM`` in ``tz`` as an aware moment; a time the zone skips is refused, one
    it repeats is the first of the two."""
    if not isinstance(value, str) or not LOCAL.fullmatch(value):
        raise _refuse(field, "a local date and time, YYYY-MM-DDTHH:MM")
    try:
        naive = datetime.strptime(value, LOCAL_FORMAT)
    except ValueError:
        raise _refuse(field, "a local date and time, YYYY-MM-DDTHH:MM") from None
    if not YEARS[0] <= naive.year <= YEARS[1]:
        raise _refuse(field, f"a date from {YEARS[0]} to {YEARS[1]}")
    moment = naive.replace(tzinfo=tz, fold=0)
    if not exists(moment):
        raise _refuse(field, f"{value} does not exist in {tz.key}: the clocks skip it "
                             "(daylight saving time begins)")
    return moment


def exists(moment: datetime) -> bool:
    """Whether a local time (aware, with its zone) is one the clocks show."""
    there_and_back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return there_and_back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def key(moment: datetime) -> str:
    """An occurrence's key: its original start in UTC."""
    return moment.astimezone(UTC).strftime(KEY_FORMAT)


def moment_of(key_text: Any, field: str = "occurrence") -> datetime:
    if not isinstance(key_text, str):
        raise _refuse(field, "an occurrence's key, its start in UTC: YYYY-MM-DDTHH:MM:SSZ")
    try:
        return datetime.strptime(key_text, KEY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _refuse(field, "an occurrence's key, its start in UTC: "
                             "YYYY-MM-DDTHH:MM:SSZ") from None


def check_rule(text: Any, start: datetime, field: str = "rrule") -> str:
    """The rule as it will be kept (upper case, no ``RRULE:`` prefix), or refused naming
    ``field``: not RFC 5545, finer than daily, unbounded, too long, or yielding nothing."""
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        raise _refuse(field, "an RFC 5545 RRULE of at most 300 characters")
    rule = text.strip().upper()
    if rule.startswith("RRULE:"):
        rule = rule[len("RRULE:"):]
    if "\n" in rule or "DTSTART" in rule or "EXDATE" in rule or "RDATE" in rule:
        raise _refuse(field, "the RRULE alone (the start is starts_at)")
    parts = dict(part.partition("=")[::2] for part in rule.split(";") if part)
    if parts.get("FREQ") not in FREQUENCIES:
        raise _refuse(field, f"FREQ one of {', '.join(FREQUENCIES)}")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise _refuse(field, f"bounded: COUNT (at most {MAX_COUNT}) or UNTIL (at most "
                             f"{MAX_SPAN_DAYS} days after the start)")
    if "UNTIL" in parts and not parts["UNTIL"].endswith("Z"):
        raise _refuse(field, "UNTIL in UTC (YYYYMMDDTHHMMSSZ), as RFC 5545 asks of a zoned "
                             "start")
    try:
        if not _ever(rule, start):
            raise _refuse(field, "the rule yields no occurrence from the start")
        parsed, count, until = _parse(rule, start)
        if count is not None and not 1 <= count <= MAX_COUNT:
            raise _refuse(field, f"COUNT from 1 to {MAX_COUNT}")
        if until is not None and until - start > timedelta(days=MAX_SPAN_DAYS):
            raise _refuse(field, f"UNTIL at most {MAX_SPAN_DAYS} days after the start")
        # Within the span (a bounded walk, whatever the rule: one that can never occur does
        # not make dateutil search to the year 9999).
        within = list(islice(parsed, MAX_COUNT + 1))
    except (ValueError, TypeError, KeyError, OverflowError):
        raise _refuse(field, "not an RFC 5545 RRULE") from None
    if count is not None and len(within) < count:
        if within:
            raise _refuse(field, f"the series ends at most {MAX_SPAN_DAYS} days after its "
                                 "start: fewer occurrences, or closer together")
        raise _refuse(field, "the rule yields no occurrence from the start")
    yielded = len(within) if count is None else min(count, len(within))
    if yielded == 0:
        raise _refuse(field, "the rule yields no occurrence from the start")
    if yielded > MAX_COUNT:
        raise _refuse(field, f"at most {MAX_COUNT} occurrences: a longer series is a new one")
    first = next(iter(starts(rule, start)))
    if first != start:
        raise _refuse("starts_at", f"{local_text(start)} is not a day of the rule (its first "
                                   f"occurrence is {local_text(first)}): start the series on "
                                   "one, or send a rule that falls on it")
    return rule


def _ever(rule: str, start: datetime) -> bool:
    """Whether the rule occurs at all. dateutil looks for an occurrence of a rule that has none
    (the 30th of February, every day) until the year 9999, which takes seconds; from 9968 on it
    looks through 31 years, in which every rule that ever occurs does (the weekdays of the
    calendar repeat every 28 years between two skipped leap days; 9968 is a leap year)."""
    unbounded = ";".join(p for p in rule.split(";") if not p.startswith(("COUNT=", "UNTIL=")))
    probe: Any = rrulestr(unbounded, dtstart=start.replace(year=9968), cache=False)
    return next(iter(probe), None) is not None


def _parse(rule: str, start: datetime) -> tuple[rrule, int | None, datetime | None]:
    """The rule from a zoned start (dateutil keeps the wall time of each occurrence), walked
    no further than ``MAX_SPAN_DAYS`` after the start; and its COUNT (taken off the walk:
    dateutil may not be given both) and UNTIL, as it said them."""
    parsed: Any = rrulestr(rule, dtstart=start, cache=False)
    count = parsed._count  # noqa: SLF001
    limit = start + timedelta(days=MAX_SPAN_DAYS)
    until = parsed._until  # noqa: SLF001
    bounded = parsed.replace(count=None, until=limit if until is None else min(until, limit))
    return bounded, count, until


def starts(rule: str | None, start: datetime) -> Iterator[datetime]:
    """Every start of a meeting, in its zone: the start alone, or the rule's occurrences. Each
    is the local wall time in the zone (an occurrence in a skipped hour moves forward by the
    gap; one in a repeated hour is the first)."""
    if rule is None:
        yield start
        return
    parsed, count, _ = _parse(rule, start)
    for naive in islice(parsed, count):
        moment = naive.replace(tzinfo=start.tzinfo, fold=0)
        if not exists(moment):
            # The offset before the gap: the wall time moves forward by the gap.
            moment = moment.astimezone(UTC).astimezone(start.tzinfo)
        yield moment


def keys_before(rule: str | None, start: datetime, before: datetime) -> int:
    """How many occurrences start before ``before``."""
    return sum(1 for _ in _until(starts(rule, start), before))


def _until(moments: Iterator[datetime], before: datetime) -> Iterator[datetime]:
    for moment in moments:
        if moment >= before:
            return
        yield moment


def truncated(rule: str, before: datetime) -> str:
    """The rule of a series ended before ``before`` (an occurrence that moves to a new series
    with those after it): UNTIL one second before it, in UTC."""
    kept = [p for p in rule.split(";") if p and not p.startswith(("COUNT=", "UNTIL="))]
    until = (before.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    return ";".join([*kept, f"UNTIL={until}"])


def continued(rule: str, taken: int) -> str:
    """The rule of the series that goes on after ``taken`` occurrences moved away from it: a
    COUNT less by those, or the same UNTIL."""
    parts = [p for p in rule.split(";") if p]
    out = []
    for part in parts:
        name, _, value = part.partition("=")
        out.append(f"COUNT={max(1, int(value) - taken)}" if name == "COUNT" else part)
    return ";".join(out)


def local_text(moment: datetime) -> str:
    return moment.strftime(LOCAL_FORMAT)


def day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The first and last moment of a local day (a day may be 23 or 25 hours long)."""
    first = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    return first, datetime(following.year, following.month, following.day, tzinfo=tz)
