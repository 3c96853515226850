"""Scheduling's request and response shapes: validated here and in the gateway, and the source
of the OpenAPI document. The domain checks its rules again (a time the clocks skip, a rule
without an end), naming the same fields."""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from eventstore.ids import ANY_ID, ID_RULE
from eventstore.ids import HUB_ID as HUB_ID_PATTERN
from eventstore.validation import Boolean, Integer, IsoDate, ZonedDateTime

from .domain import ANSWERS, KINDS, MAX_MEMBERS, MAX_MINUTES, MIN_MINUTES, ROLES, SCOPES, STARS
from .domain.find_a_time import MAX_INVITEES, MAX_LIMIT
from .domain.recurrence import YEARS

ID = validate.Regexp(ANY_ID, error=ID_RULE)
HUB_ID = validate.Regexp(HUB_ID_PATTERN, error="a hub's id")
LOCAL = validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$",
                        error="a local date and time, YYYY-MM-DDTHH:MM")
CLOCK = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="a local time, HH:MM")
KEY = validate.Regexp(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                      error="an occurrence's key: its start in UTC, YYYY-MM-DDTHH:MM:SSZ")
MINUTES = validate.Range(MIN_MINUTES, MAX_MINUTES)
REASON = validate.Length(min=1, max=500)


def _local(required: bool = False) -> fields.String:
    return fields.String(required=required, validate=LOCAL, metadata={
        "description": "local date and time in the meeting's time zone, YYYY-MM-DDTHH:MM"})


def _occurrence() -> fields.String:
    return fields.String(allow_none=True, validate=KEY, metadata={
        "description": "the occurrence's key: its original start in UTC "
                       "(YYYY-MM-DDTHH:MM:SSZ); none for a meeting that does not recur"})


# -- meetings ------------------------------------------------------------------------------------

class MeetingCreate(Schema):
    id = fields.String(validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = _local(required=True)
    minutes = Integer(required=True, validate=MINUTES)
    time_zone = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "an IANA time zone; the hub's when not given"})
    rrule = fields.String(allow_none=True, validate=validate.Length(min=1, max=300),
                          metadata={"description": "an RFC 5545 RRULE with COUNT or UNTIL "
                                                   "(network meetings, check-ins, webinars)"})
    members = fields.List(fields.String(validate=ID), allow_none=True,
                          validate=validate.Length(max=MAX_MEMBERS), metadata={
                              "description": "the members invited (every member of the hub "
                                             "when not given); a site visit's visitors"})
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)),
                        validate=validate.Length(min=1, max=len(ROLES)))
    location = fields.String(allow_none=True, validate=validate.Length(min=1, max=300))
    host_member_id = fields.String(allow_none=True, validate=ID)
    expert_id = fields.String(allow_none=True, validate=ID)
    engagement_id = fields.String(allow_none=True, validate=ID)


class Reschedule(Schema):
    occurrence = _occurrence()
    scope = fields.String(load_default="this", validate=validate.OneOf(SCOPES))
    starts_at = _local(required=True)
    minutes = Integer(allow_none=True, validate=MINUTES)
    rrule = fields.String(allow_none=True, validate=validate.Length(min=1, max=300),
                          metadata={"description": "a new RRULE for the series (scope "
                                                   "following or all), when its rule does "
                                                   "not fall on the new start"})


class Cancellation(Schema):
    occurrence = _occurrence()
    scope = fields.String(load_default="this", validate=validate.OneOf(SCOPES))
    reason = fields.String(allow_none=True, validate=REASON)


class Rsvp(Schema):
    occurrence = _occurrence()
    person_id = fields.String(required=True, validate=ID)
    answer = fields.String(required=True, validate=validate.OneOf(ANSWERS))


class Attendance(Schema):
    occurrence = _occurrence()
    present = fields.List(fields.String(validate=ID), required=True,
                          validate=validate.Length(max=2000))


class Feedback(Schema):
    occurrence = _occurrence()
    person_id = fields.String(required=True, validate=ID)
    stars = Integer(required=True, validate=validate.Range(*STARS))
    comment = fields.String(allow_none=True, validate=validate.Length(min=1, max=2000))


class Recording(Schema):
    link = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                      validate=validate.Length(max=2000))


class Window(Schema):
    """``?from=&to=``: local dates in the hub's zone, both included (at most a year)."""
    starts_from = IsoDate(data_key="from", required=True)
    ends_on = IsoDate(data_key="to", required=True)

    @validates_schema
    def bounded(self, data: dict, **kwargs: object) -> None:
        first, last = date.fromisoformat(data["starts_from"]), date.fromisoformat(data["ends_on"])
        if not (YEARS[0] <= first.year and last.year <= YEARS[1]):
            raise ValidationError(f"dates from {YEARS[0]} to {YEARS[1]}", "from")
        if last < first:
            raise ValidationError("on or after from", "to")
        if (last - first).days > 366:
            raise ValidationError("at most 366 days after from", "to")


class OccurrenceShown(Schema):
    meeting_id = fields.String(required=True)
    occurrence = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    starts_at = ZonedDateTime(required=True)
    ends_at = ZonedDateTime(required=True)
    local_start = fields.String(required=True)
    time_zone = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "scheduled, moved, cancelled; an expert session requested, "
                       "confirmed or released"})
    reason = fields.String(allow_none=True)
    sequence = Integer(required=True)


class Invitee(Schema):
    person_id = fields.String(required=True)
    member_id = fields.String(required=True)
    role = fields.String(required=True)


class Meeting(Schema):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    time_zone = fields.String(required=True)
    starts_at = fields.String(required=True, metadata={"description": "local start"})
    minutes = Integer(required=True)
    rrule = fields.String(allow_none=True)
    members = fields.List(fields.String(), allow_none=True)
    roles = fields.List(fields.String(), required=True)
    location = fields.String(allow_none=True)
    host_member_id = fields.String(allow_none=True)
    expert_id = fields.String(allow_none=True)
    engagement_id = fields.String(allow_none=True)
    recording_link = fields.String(allow_none=True)
    status = fields.String(required=True)
    session = fields.String(allow_none=True, metadata={
        "description": "an expert session: requested, confirmed (counted against the "
                       "engagement) or released (refused: reason says why)"})
    session_number = Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    sequence = Integer(required=True)
    continued_by = fields.String(allow_none=True, metadata={
        "description": "the series that took over this one's later occurrences"})
    occurrences = fields.List(fields.Nested(OccurrenceShown), required=True)
    invitees = fields.List(fields.Nested(Invitee), required=True)
    feedback = fields.Dict(required=True, metadata={
        "description": "count and average of the stars given (average null under 1)"})
    version = Integer(required=True)


# -- blackouts and experts' calendars ------------------------------------------------------------

class BlackoutCreate(Schema):
    id = fields.String(validate=ID)
    starts_on = IsoDate(required=True)
    ends_on = IsoDate(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Blackout(Schema):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    member_id = fields.String(required=True)
    starts_on = IsoDate(required=True)
    ends_on = IsoDate(required=True)
    reason = fields.String(required=True)
    withdrawn = Boolean(required=True)
    version = Integer(required=True)


class Unavailability(Schema):
    hub_id = fields.String(required=True, validate=HUB_ID)
    starts_at = ZonedDateTime(required=True)
    ends_at = ZonedDateTime(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(min=1, max=200))


class BusyWindow(Schema):
    starts_from = ZonedDateTime(data_key="from", required=True)
    ends_before = ZonedDateTime(data_key="to", required=True)


class BusyTime(Schema):
    starts_at = ZonedDateTime(required=True)
    ends_at = ZonedDateTime(required=True)


class ExpertCalendar(Schema):
    expert_id = fields.String(required=True)
    busy = fields.List(fields.Nested(BusyTime), required=True, metadata={
        "description": "when the expert is busy: never which hub booked it or why"})


# -- find a time ---------------------------------------------------------------------------------

class FindATime(Schema):
    starts_on = IsoDate(data_key="from", required=True)
    ends_on = IsoDate(data_key="to", required=True)
    day_starts = fields.String(load_default="09:00", validate=CLOCK)
    day_ends = fields.String(load_default="15:00", validate=CLOCK)
    minutes = Integer(required=True, validate=MINUTES)
    members = fields.List(fields.String(validate=ID), allow_none=True,
                          validate=validate.Length(max=MAX_MEMBERS))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)),
                        validate=validate.Length(min=1, max=len(ROLES)))
    people = fields.List(fields.String(validate=ID), validate=validate.Length(max=MAX_INVITEES))
    host_member_id = fields.String(allow_none=True, validate=ID)
    expert_id = fields.String(allow_none=True, validate=ID)
    limit = Integer(load_default=10, validate=validate.Range(1, MAX_LIMIT))


class Missing(Schema):
    person_id = fields.String(required=True)
    why = fields.String(required=True)


class Slot(Schema):
    starts_at = ZonedDateTime(required=True)
    ends_at = ZonedDateTime(required=True)
    local_start = fields.String(required=True)
    possible = Boolean(required=True)
    blocked = fields.List(fields.String(), required=True)
    missing = fields.List(fields.Nested(Missing), required=True)


class Slots(Schema):
    time_zone = fields.String(required=True)
    invited = Integer(required=True)
    items = fields.List(fields.Nested(Slot), required=True)


# -- feeds -----------------------------------------------------------------------------------------

class CalendarLink(Schema):
    object_id = fields.String(required=True)
    link = fields.String(required=True, metadata={"description": "the secret, shown once"})
    path = fields.String(required=True)


class MonthFeedback(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM (UTC)"})
    meetings = Integer(required=True)
    count = Integer(required=True)
    average = fields.Float(allow_none=True)


class HubFeedback(Schema):
    items = fields.List(fields.Nested(MonthFeedback), required=True)

