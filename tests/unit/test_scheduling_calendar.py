"""The iCalendar feeds (services/scheduling/calendar.py), read back by vobject, which did not
write them: each zone's VTIMEZONE gives every occurrence its local time, whole cancellations
and released sessions are CANCELLED, and a series' exceptions carry its UID."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import vobject

from eventstore.testing import given
from services.scheduling.calendar import feed, timezone
from services.scheduling.domain import Meeting
from services.scheduling.domain.recurrence import zone

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def meeting(tz, start, rule, kind="network_meeting", **more):
    return given(Meeting, "mtg-1").when(lambda m: m.schedule(
        "hub", kind, "Network meeting", tz, start, 60, rule, None, None, {}, **more)).instance


def read(meetings):
    return vobject.readOne(feed("Hub", meetings, NOW))


# The zones of the platform's county offices, and one south of the equator. (Not a zone at
# UTC+0 in winter: vobject reads a VTIMEZONE with a +0000 offset as UTC and expands the series
# there, an hour off in summer; a check of the rules' text covers Europe/London below.)
@pytest.mark.parametrize("tz, start, rule", [
    ("America/Los_Angeles", "2026-09-10T09:00", "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"),
    ("Australia/Sydney", "2026-09-10T09:00", "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"),
    ("Pacific/Honolulu", "2026-09-10T09:00", "FREQ=WEEKLY;COUNT=30"),
    ("America/New_York", "2026-10-26T09:00", "FREQ=WEEKLY;COUNT=25"),
    ("America/Phoenix", "2026-09-10T09:00", "FREQ=MONTHLY;COUNT=12"),
    ("America/Anchorage", "2026-01-05T09:00", "FREQ=WEEKLY;COUNT=52"),
])
def test_every_occurrence_reads_back_at_its_local_time(tz, start, rule):
    event = read([meeting(tz, start, rule)]).vevent
    shown = list(event.getrruleset())
    local = zone(tz)
    assert len(shown) == int(rule.rsplit("COUNT=", 1)[1])
    assert {d.astimezone(local).strftime("%H:%M") for d in shown} == {"09:00"}


def test_a_zone_without_changes_has_one_standard_rule():
    text = timezone("America/Phoenix", 2025, 2028).to_ical().decode()
    assert text.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in text
    assert "TZOFFSETTO:-0700" in text and "RRULE" not in text


def test_a_zone_with_yearly_changes_has_a_rule_for_each():
    text = timezone("America/Los_Angeles", 2025, 2028).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text
    london = timezone("Europe/London", 2025, 2028).to_ical().decode()
    assert "BYDAY=-1SU;BYMONTH=3" in london and "BYDAY=-1SU;BYMONTH=10" in london


def test_a_zone_whose_rules_changed_lists_every_change():
    # Moscow kept summer time all year from 2011 and went back to standard time in 2014.
    text = timezone("Europe/Moscow", 2010, 2015).to_ical().decode()
    assert "RRULE" not in text and "TZID:Europe/Moscow" in text


def test_a_meeting_cancelled_whole_and_a_released_session_are_cancelled():
    cancelled = meeting("America/Los_Angeles", "2027-01-14T09:00", None)
    cancelled.cancel(None, "all", "merged with the spring meeting")
    session = meeting("America/Los_Angeles", "2027-02-03T09:00", None, kind="expert_session",
                      expert_id="x-1", engagement_id="e-1")
    session.session_refused("your hub is not in this engagement")
    for found in (cancelled, session):
        event = read([found]).vevent
        assert event.status.value == "CANCELLED"
        assert int(event.sequence.value) == found.sequence


def test_a_webinar_links_its_recording():
    webinar = meeting("America/Los_Angeles", "2027-01-14T15:00", None, kind="webinar")
    webinar.add_recording("https://example.org/webinars/math-persistence")
    event = read([webinar]).vevent
    assert event.url.value == "https://example.org/webinars/math-persistence"
    assert "Recording: https://example.org/webinars/math-persistence" in event.description.value


def test_each_zone_used_is_described_once():
    la = meeting("America/Los_Angeles", "2027-01-14T09:00", None)
    ny = given(Meeting, "mtg-2").when(lambda m: m.schedule(
        "hub", "webinar", "Webinar", "America/New_York", "2027-01-15T12:00", 60, None, None,
        None, {})).instance
    again = given(Meeting, "mtg-3").when(lambda m: m.schedule(
        "hub", "webinar", "Webinar", "America/New_York", "2027-03-15T12:00", 60, None, None,
        None, {})).instance
    calendar = read([la, ny, again])
    assert sorted(t.tzid.value for t in calendar.vtimezone_list) == [
        "America/Los_Angeles", "America/New_York"]
    assert [e.dtstart.value.astimezone(UTC).hour for e in calendar.vevent_list] == [17, 17, 16]
