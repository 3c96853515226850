"""Local times and recurrence rules (services/scheduling/domain/recurrence.py): each rule on both
sides of its boundary, and series across both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eventstore.errors import ValidationError
from services.scheduling.domain import recurrence as r

LA = r.zone("America/Los_Angeles")


def start(text="2026-09-10T09:00", tz=LA):
    return r.local_start(text, tz)


def refused(call, field, words=""):
    with pytest.raises(ValidationError) as error:
        call()
    assert list(error.value.errors) == [field], error.value.errors
    assert words in error.value.errors[field][0]
    return error.value


# -- zones and local times -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu",
                                  "America/Puerto_Rico", "UTC"])
def test_iana_zones_are_known(name):
    assert r.zone(name).key == name


@pytest.mark.parametrize("name", ["America/Nowhere", "../../etc/localtime", "America",
                                  "America/", "posixrules", "localtime", "zone.tab", "",
                                  None, 5, "/etc/passwd", "/usr/share/zoneinfo/UTC", "a" * 65])
def test_anything_but_a_zones_name_is_refused_naming_the_field(name):
    # "America" is a folder of the zone database: looked up as a file it was a 500.
    refused(lambda: r.zone(name), "time_zone", "an IANA time zone, such as")
    refused(lambda: r.zone(name, "tz"), "tz")


@pytest.mark.parametrize("text", ["1969-12-31T09:00", "2101-01-01T09:00", "9999-12-31T23:30",
                                  "0001-01-01T00:30"])
def test_a_start_is_in_the_years_a_meeting_may_be_in(text):
    refused(lambda: r.local_start(text, LA), "starts_at", "a date from 1970 to 2100")


def test_the_first_and_last_years_are_taken():
    assert r.local_start("1970-01-01T09:00", LA).year == 1970
    assert r.local_start("2100-12-31T09:00", LA).year == 2100


@pytest.mark.parametrize("text", ["2026-09-10T9:00", "2026-09-10 09:00", "2026-02-30T09:00",
                                  "2026-09-10T09:00:00", "tomorrow", 20260910, None])
def test_a_local_start_is_a_date_and_time_to_the_minute(text):
    refused(lambda: r.local_start(text, LA), "starts_at", "YYYY-MM-DDTHH:MM")
    refused(lambda: r.local_start(text, LA, "at"), "at")


def test_a_local_start_is_that_wall_time_in_the_zone():
    moment = start()
    assert (moment.hour, moment.minute) == (9, 0)
    assert moment.utcoffset() == timedelta(hours=-7)
    assert start("2027-01-14T09:00").utcoffset() == timedelta(hours=-8)


@pytest.mark.parametrize("text", ["2027-03-14T02:00", "2027-03-14T02:30", "2027-03-14T02:59"])
def test_a_time_the_clocks_skip_is_refused(text):
    error = refused(lambda: r.local_start(text, LA), "starts_at", "does not exist")
    assert "America/Los_Angeles" in str(error)


@pytest.mark.parametrize("text", ["2027-03-14T01:59", "2027-03-14T03:00"])
def test_the_minutes_either_side_of_the_gap_exist(text):
    assert r.local_start(text, LA).strftime("%Y-%m-%dT%H:%M") == text


def test_a_time_the_clocks_repeat_is_the_first_of_the_two():
    moment = r.local_start("2026-11-01T01:30", LA)
    assert moment.utcoffset() == timedelta(hours=-7)
    assert moment.astimezone(UTC).hour == 8


def test_exists_tells_skipped_times_from_shown_ones():
    assert r.exists(datetime(2027, 3, 14, 1, 59, tzinfo=LA))
    assert not r.exists(datetime(2027, 3, 14, 2, 30, tzinfo=LA))
    assert r.exists(datetime(2026, 11, 1, 1, 30, tzinfo=LA))


def test_keys_are_utc_to_the_second_and_read_back():
    assert r.key(start()) == "2026-09-10T16:00:00Z"
    assert r.moment_of("2026-09-10T16:00:00Z") == datetime(2026, 9, 10, 16, tzinfo=UTC)
    for bad in ("2026-09-10T16:00:00", "2026-09-10", None, 3):
        refused(lambda bad=bad: r.moment_of(bad), "occurrence")


# -- rules -----------------------------------------------------------------------------------

def test_a_rule_is_kept_upper_case_without_its_prefix():
    assert r.check_rule("rrule:freq=monthly;interval=2;byday=2th;count=6", start()) == \
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"


@pytest.mark.parametrize("freq", ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
def test_daily_to_yearly_rules_are_taken(freq):
    assert r.check_rule(f"FREQ={freq};COUNT=2", start()).startswith(f"FREQ={freq}")


@pytest.mark.parametrize("freq", ["HOURLY", "MINUTELY", "SECONDLY", "FORTNIGHTLY", ""])
def test_finer_or_unknown_frequencies_are_refused(freq):
    refused(lambda: r.check_rule(f"FREQ={freq};COUNT=2", start()), "rrule", "FREQ one of")


def test_a_rule_must_end():
    refused(lambda: r.check_rule("FREQ=WEEKLY", start()), "rrule", "bounded")
    refused(lambda: r.check_rule("FREQ=WEEKLY;INTERVAL=2", start()), "rrule", "bounded")


def test_count_from_1_to_120():
    assert r.check_rule("FREQ=DAILY;COUNT=1", start())
    assert r.check_rule("FREQ=DAILY;COUNT=120", start())
    refused(lambda: r.check_rule("FREQ=DAILY;COUNT=121", start()), "rrule", "COUNT from 1")
    refused(lambda: r.check_rule("FREQ=DAILY;COUNT=0", start()), "rrule", "COUNT from 1")


def test_until_at_most_732_days_after_the_start():
    begin = start("2026-09-10T09:00")
    within = (begin + timedelta(days=732)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    beyond = (begin + timedelta(days=732, seconds=1)).astimezone(UTC).strftime(
        "%Y%m%dT%H%M%SZ")
    assert r.check_rule(f"FREQ=MONTHLY;UNTIL={within}", begin)
    refused(lambda: r.check_rule(f"FREQ=MONTHLY;UNTIL={beyond}", begin), "rrule",
            "UNTIL at most 732 days")


def test_at_most_120_occurrences_whatever_ends_the_rule():
    begin = start("2026-09-10T09:00")
    refused(lambda: r.check_rule("FREQ=DAILY;UNTIL=20270601T000000Z", begin), "rrule",
            "at most 120 occurrences")
    # 120 days from the start, both ends included: 120 occurrences.
    last = (begin + timedelta(days=119)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert r.check_rule(f"FREQ=DAILY;UNTIL={last}", begin)


def test_until_is_in_utc():
    refused(lambda: r.check_rule("FREQ=DAILY;UNTIL=20261001T000000", start()), "rrule",
            "UNTIL in UTC")


@pytest.mark.parametrize("text", ["FREQ=DAILY;COUNT=2\nBYDAY=MO",
                                  "FREQ=DAILY;COUNT=2;DTSTART=20260910T090000",
                                  "FREQ=DAILY;COUNT=2;EXDATE=20261001",
                                  "FREQ=DAILY;COUNT=2;RDATE=20261001"])
def test_only_the_rule_itself(text):
    refused(lambda: r.check_rule(text, start()), "rrule", "the RRULE alone")


@pytest.mark.parametrize("text", ["", "   ", None, 7, "FREQ=DAILY;COUNT=2;" + "X" * 300])
def test_a_rule_is_text_of_at_most_300_characters(text):
    refused(lambda: r.check_rule(text, start()), "rrule", "at most 300 characters")


def test_a_rule_of_300_characters_is_read_and_301_is_not():
    rule = "FREQ=WEEKLY;INTERVAL=1;COUNT=2;BYDAY=TH" + ",TH" * 87
    assert len(rule) == 300 and r.check_rule(rule, start())
    refused(lambda: r.check_rule(rule + "H", start()), "rrule", "at most 300 characters")


def test_a_rule_ending_before_its_first_occurrence_is_refused():
    refused(lambda: r.check_rule("FREQ=WEEKLY;BYDAY=FR;UNTIL=20260910T200000Z", start()),
            "rrule", "yields no occurrence")


def test_a_leap_day_series_is_read_like_any_other():
    leap = r.local_start("2028-02-29T09:00", LA)
    assert r.check_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=1", leap)
    assert r.check_rule("FREQ=MONTHLY;BYMONTHDAY=29;COUNT=3", leap)


@pytest.mark.parametrize("text", ["FREQ=DAILY;COUNT=two", "FREQ=DAILY;COUNT=2;BYDAY=XX",
                                  "FREQ=DAILY;UNTIL=notadateZ"])
def test_rules_dateutil_cannot_read_are_not_rrules(text):
    refused(lambda: r.check_rule(text, start()), "rrule")


def test_a_rule_that_yields_nothing_is_refused():
    refused(lambda: r.check_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=3", start()),
            "rrule", "yields no occurrence")


def test_a_start_the_rule_does_not_fall_on_is_refused_naming_the_start():
    error = refused(lambda: r.check_rule("FREQ=MONTHLY;BYDAY=2TU;COUNT=3", start()),
                    "starts_at", "is not a day of the rule")
    assert "2026-10-13T09:00" in str(error)
    assert r.check_rule("FREQ=MONTHLY;BYDAY=2TH;COUNT=3", start())


# -- occurrences -------------------------------------------------------------------------------

def local(moments):
    return [m.strftime("%Y-%m-%dT%H:%M%z") for m in moments]


def test_a_series_keeps_its_wall_time_across_both_changes():
    rule = "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"
    assert local(r.starts(rule, start())) == [
        "2026-09-10T09:00-0700", "2026-11-12T09:00-0800", "2027-01-14T09:00-0800",
        "2027-03-11T09:00-0800", "2027-05-13T09:00-0700", "2027-07-08T09:00-0700"]


def test_a_weekly_series_over_the_fall_back_and_spring_forward_weekends():
    fall = list(r.starts("FREQ=WEEKLY;COUNT=3", start("2026-10-25T01:30")))
    assert local(fall) == ["2026-10-25T01:30-0700", "2026-11-01T01:30-0700",
                           "2026-11-08T01:30-0800"]
    spring = list(r.starts("FREQ=WEEKLY;COUNT=2", start("2027-03-07T02:30")))
    # 02:30 does not exist on 14 March: the occurrence moves forward by the gap.
    assert local(spring) == ["2027-03-07T02:30-0800", "2027-03-14T03:30-0700"]


def test_a_single_meeting_is_its_start():
    assert list(r.starts(None, start())) == [start()]


def test_keys_before_counts_the_occurrences_before_a_moment():
    rule = "FREQ=WEEKLY;COUNT=5"
    begin = start()
    assert r.keys_before(rule, begin, begin) == 0
    assert r.keys_before(rule, begin, begin + timedelta(seconds=1)) == 1
    assert r.keys_before(rule, begin, begin + timedelta(days=14)) == 2
    assert r.keys_before(rule, begin, begin + timedelta(days=100)) == 5
    assert r.keys_before(None, begin, begin + timedelta(days=1)) == 1


def test_a_series_truncated_ends_a_second_before_an_occurrence():
    cut = datetime(2027, 1, 14, 17, tzinfo=UTC)
    assert r.truncated("FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6", cut) == \
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;UNTIL=20270114T165959Z"
    assert r.truncated("FREQ=WEEKLY;UNTIL=20270601T000000Z", cut) == \
        "FREQ=WEEKLY;UNTIL=20270114T165959Z"
    kept = list(r.starts(r.truncated("FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6", cut),
                         start()))
    assert len(kept) == 2


def test_a_series_continued_counts_what_is_left():
    assert r.continued("FREQ=MONTHLY;INTERVAL=2;COUNT=6", 2) == "FREQ=MONTHLY;INTERVAL=2;COUNT=4"
    assert r.continued("FREQ=MONTHLY;COUNT=6", 6) == "FREQ=MONTHLY;COUNT=1"
    assert r.continued("FREQ=MONTHLY;COUNT=6", 5) == "FREQ=MONTHLY;COUNT=1"
    assert r.continued("FREQ=WEEKLY;UNTIL=20270601T000000Z", 3) == \
        "FREQ=WEEKLY;UNTIL=20270601T000000Z"


def test_a_local_day_may_be_23_or_25_hours():
    first, last = r.day_bounds(date(2027, 3, 14), LA)
    assert last - first == timedelta(hours=24)     # wall-clock difference …
    assert last.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=23)
    first, last = r.day_bounds(date(2026, 11, 1), LA)
    assert last.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=25)


def test_local_text_is_to_the_minute():
    assert r.local_text(start()) == "2026-09-10T09:00"


@pytest.mark.parametrize("text", ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=1",
                                  "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31;UNTIL=20280101T000000Z",
                                  "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31;COUNT=3"])
def test_a_rule_that_can_never_occur_is_refused_without_a_search_to_the_year_9999(text):
    import time
    started = time.perf_counter()
    refused(lambda: r.check_rule(text, start()), "rrule", "yields no occurrence")
    assert time.perf_counter() - started < 0.5   # unbounded, dateutil takes seconds


def test_a_count_that_reaches_past_732_days_is_refused():
    # 2026-09-10, 2027-09-10 and 2028-09-10 (731 days on: 2028 is a leap year), not 2029's.
    refused(lambda: r.check_rule("FREQ=YEARLY;COUNT=4", start()), "rrule",
            "at most 732 days after its start")
    assert r.check_rule("FREQ=YEARLY;COUNT=3", start())
    refused(lambda: r.check_rule("FREQ=MONTHLY;INTERVAL=6;COUNT=6", start()), "rrule",
            "at most 732 days")
    assert len(list(r.starts("FREQ=MONTHLY;INTERVAL=6;COUNT=5", start()))) == 5


def test_a_count_of_occurrences_is_every_one_of_them():
    assert len(list(r.starts("FREQ=DAILY;COUNT=120", start()))) == 120
    assert len(list(r.starts("FREQ=WEEKLY;UNTIL=20261001T000000Z", start()))) == 3
