"""Scheduling's aggregates (services/scheduling/domain): given events, when a command, then
events — each rule on both sides of its boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eventstore.errors import Conflict, ValidationError
from eventstore.testing import given, received
from services.scheduling.domain import (
    Blackout,
    ExpertCalendar,
    Meeting,
    bounds,
    planned,
)

HUB = "el-dorado"
TZ = "America/Los_Angeles"
RULE = "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"
DIRECTORY = {"m-camino": HUB, "m-gold": HUB, "m-pollock": HUB, "m-alpine": "alpine"}
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
KEYS = ["2026-09-10T16:00:00Z", "2026-11-12T17:00:00Z", "2027-01-14T17:00:00Z",
        "2027-03-11T17:00:00Z", "2027-05-13T16:00:00Z", "2027-07-08T16:00:00Z"]


def scheduled(kind="network_meeting", rule=RULE, members=None, roles=("driver", "design_team"),
              start="2026-09-10T09:00", minutes=120, host=None, expert=None, engagement=None,
              location=None, title="Network meeting"):
    return ("MeetingScheduled", {
        "hub_id": HUB, "kind": kind, "title": title, "time_zone": TZ, "starts_at": start,
        "minutes": minutes, "rrule": rule, "members": members, "roles": list(roles),
        "location": location, "host_member_id": host, "expert_id": expert,
        "engagement_id": engagement})


SERIES = scheduled()
SESSION = scheduled("expert_session", None, ["m-camino"], ["design_team"],
                    "2027-02-03T09:00", 120, expert="x-1", engagement="e-1",
                    title="Coaching")
REQUESTED = ("ExpertSessionRequested", {
    "hub_id": HUB, "engagement_id": "e-1", "expert_id": "x-1",
    "starts_at": "2027-02-03T17:00:00+00:00", "ends_at": "2027-02-03T19:00:00+00:00"})


def schedule(kind="network_meeting", rule=RULE, members=None, roles=None,
             start="2026-09-10T09:00", minutes=120, tz=TZ, **extra):
    args = received(HUB, kind, "Network meeting", tz, start, minutes, rule, members, roles)
    return lambda m: m.schedule(*args, DIRECTORY, **extra)


# -- scheduling ----------------------------------------------------------------------------------

def test_a_network_meeting_series_is_scheduled_with_default_roles():
    meeting = given(Meeting, "mtg-1").when(schedule()).then([SERIES])
    assert meeting.hub_id == HUB and [o.key for o in meeting.occurrences()] == KEYS


def test_a_meeting_exists_once():
    given(Meeting, "mtg-1", [SERIES]).when(schedule()).then_raises(Conflict, "exists already")


@pytest.mark.parametrize("kind, roles", [("network_meeting", ["driver", "design_team"]),
                                         ("webinar", ["driver", "design_team"]),
                                         ("check_in", ["driver"])])
def test_default_roles_by_kind(kind, roles):
    members = ["m-gold"] if kind == "check_in" else None
    meeting = given(Meeting, "mtg-1").when(schedule(kind, members=members)).instance
    assert meeting.roles == roles


def test_roles_chosen_are_kept_once_each():
    meeting = given(Meeting, "mtg-1").when(schedule(roles=["sponsor", "sponsor"])).instance
    assert meeting.roles == ["sponsor"]


@pytest.mark.parametrize("roles", [[], ["facilitator"], ["driver", "owner"], "driver"])
def test_other_roles_are_refused(roles):
    given(Meeting, "mtg-1").when(schedule(roles=roles)).then_refuses("roles")


@pytest.mark.parametrize("field, change", [
    ("kind", {"kind": "party"}), ("minutes", {"minutes": 4}), ("minutes", {"minutes": 721}),
    ("minutes", {"minutes": True}), ("minutes", {"minutes": 60.0}),
    ("time_zone", {"tz": "Mars/Olympus"}), ("starts_at", {"start": "2027-03-14T02:30"}),
])
def test_bad_meetings_are_refused_naming_the_field(field, change):
    error = given(Meeting, "mtg-1").when(schedule(**change)).then_raises(ValidationError)
    assert field in error.errors


@pytest.mark.parametrize("minutes", [5, 720])
def test_minutes_from_5_to_720(minutes):
    assert given(Meeting, "mtg-1").when(schedule(minutes=minutes)).instance.minutes == minutes


def test_title_and_location_are_bounded_text():
    args = received(HUB, "network_meeting", "", TZ, "2026-09-10T09:00", 60, None, None, None)
    given(Meeting, "mtg-1").when(lambda m: m.schedule(*args, DIRECTORY)).then_refuses("title")
    given(Meeting, "mtg-1").when(schedule(rule=None, location="x" * 301)).then_refuses("location")
    meeting = given(Meeting, "mtg-1").when(schedule(rule=None, location="x" * 300)).instance
    assert meeting.location == "x" * 300


@pytest.mark.parametrize("kind", ["site_visit", "expert_session"])
def test_site_visits_and_expert_sessions_do_not_recur(kind):
    given(Meeting, "mtg-1").when(schedule(kind, members=["m-gold"], host_member_id="m-camino",
                                          expert_id="x", engagement_id="e")).then_raises(
        ValidationError, "does not recur")


def test_a_site_visit_is_hosted_by_a_member_and_visited_by_others():
    visit = scheduled("site_visit", None, ["m-camino", "m-gold"], host="m-camino")
    given(Meeting, "mtg-1").when(schedule("site_visit", rule=None, members=["m-gold"],
                                          host_member_id="m-camino")).then([visit])
    for members, host, field in ((["m-gold"], None, "host_member_id"),
                                 (["m-gold"], "m-alpine", "host_member_id"),
                                 ([], "m-camino", "members"), (None, "m-camino", "members"),
                                 (["m-camino"], "m-camino", "members"),
                                 (["m-alpine"], "m-camino", "members")):
        error = given(Meeting, "mtg-1").when(schedule(
            "site_visit", rule=None, members=members, host_member_id=host)).then_raises(
            ValidationError)
        assert field in error.errors, (members, host)


def test_only_a_site_visit_has_a_host():
    given(Meeting, "mtg-1").when(schedule(host_member_id="m-camino")).then_refuses("host_member_id")


@pytest.mark.parametrize("members", [None, [], ["m-gold", "m-camino"]])
def test_a_check_in_is_with_one_member(members):
    given(Meeting, "mtg-1").when(schedule("check_in", rule=None, members=members)) \
        .then_refuses("members")


def test_members_of_another_hub_or_none_are_refused():
    error = given(Meeting, "mtg-1").when(schedule(members=["m-gold", "m-alpine", "m-x"])) \
        .then_raises(ValidationError)
    assert error.errors["members"] == [f"not members of hub {HUB}: m-alpine, m-x"]
    for bad in ("m-gold", [1], ["m"] * 201):
        given(Meeting, "mtg-1").when(schedule(members=bad)).then_refuses("members")
    meeting = given(Meeting, "mtg-1").when(schedule(members=["m-gold", "m-gold"])).instance
    assert meeting.members == ["m-gold"]


def test_an_expert_session_books_the_expert_and_asks_resources():
    given(Meeting, "mtg-1").when(schedule(
        "expert_session", rule=None, members=["m-camino"], roles=["design_team"],
        start="2027-02-03T09:00", expert_id="x-1", engagement_id="e-1")).then([
            ("MeetingScheduled", {**SESSION[1], "title": "Network meeting"}), REQUESTED])


@pytest.mark.parametrize("expert, engagement, field", [(None, "e-1", "expert_id"),
                                                       ("x-1", None, "engagement_id"),
                                                       ("", "e-1", "expert_id")])
def test_an_expert_session_names_the_expert_and_the_engagement(expert, engagement, field):
    given(Meeting, "mtg-1").when(schedule("expert_session", rule=None, expert_id=expert,
                                          engagement_id=engagement)).then_refuses(field)


def test_only_an_expert_session_books_an_expert():
    given(Meeting, "mtg-1").when(schedule(expert_id="x-1")).then_refuses("expert_id")
    given(Meeting, "mtg-1").when(schedule(engagement_id="e-1")).then_refuses("expert_id")


# -- occurrences, moved and cancelled --------------------------------------------------------

def moved(key, start, seq=1, minutes=120):
    return ("OccurrenceRescheduled", {"occurrence": key, "starts_at": start,
                                      "minutes": minutes, "sequence": seq})


def cancelled(key, reason="snow", seq=1):
    return ("OccurrenceCancelled", {"occurrence": key, "reason": reason, "sequence": seq})


def test_one_occurrence_is_moved_and_the_sequence_bumps():
    meeting = given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        *received(KEYS[3], "this", "2027-03-12T10:00", None))).then([
            moved(KEYS[3], "2027-03-12T10:00")])
    found = meeting.occurrence(KEYS[3])
    assert found.moved and found.starts == datetime(2027, 3, 12, 18, tzinfo=UTC)
    assert meeting.sequence == 1 and found.sequence == 1


def test_one_occurrence_is_cancelled_with_its_reason():
    meeting = given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(
        *received(KEYS[2], "this", "snow"))).then([cancelled(KEYS[2])])
    found = meeting.occurrence(KEYS[2])
    assert found.cancelled and found.reason == "snow" and not found.moved
    given(Meeting, "mtg-1", [SERIES, cancelled(KEYS[2])]).when(
        lambda m: m.cancel(KEYS[2], "this", None)).then_raises(Conflict, "cancelled already")
    given(Meeting, "mtg-1", [SERIES, cancelled(KEYS[2])]).when(
        lambda m: m.reschedule(KEYS[2], "this", "2027-01-15T09:00", None)).then_raises(
        Conflict, "is cancelled")


def test_an_occurrence_the_series_lacks_is_refused():
    for key in ("2027-01-14T16:00:00Z", "2027-01-15T17:00:00Z", "soon"):
        given(Meeting, "mtg-1", [SERIES]).when(lambda m, key=key: m.cancel(
            key, "this", None)).then_refuses("occurrence")


def test_a_moved_occurrence_is_found_by_its_original_key_and_its_new_time():
    meeting = given(Meeting, "mtg-1", [SERIES, moved(KEYS[3], "2027-04-20T10:00")]).instance
    assert meeting.occurrence(KEYS[3]).key == KEYS[3]
    april = meeting.occurrences(datetime(2027, 4, 20, tzinfo=UTC),
                                datetime(2027, 4, 21, tzinfo=UTC))
    assert [o.key for o in april] == [KEYS[3]]
    march = meeting.occurrences(datetime(2027, 3, 11, tzinfo=UTC),
                                datetime(2027, 3, 12, tzinfo=UTC))
    assert [o.key for o in march] == [KEYS[3]]


def test_occurrences_meet_a_window_on_both_sides():
    meeting = given(Meeting, "mtg-1", [SERIES]).instance
    start = datetime(2026, 11, 12, 17, tzinfo=UTC)
    end = start + timedelta(hours=2)
    assert [o.key for o in meeting.occurrences(start, end)] == [KEYS[1]]
    assert [o.key for o in meeting.occurrences(end, end + timedelta(days=1))] == []
    assert [o.key for o in meeting.occurrences(start - timedelta(days=1), start)] == []
    assert [o.key for o in meeting.occurrences(end - timedelta(seconds=1), None)] == KEYS[1:]
    assert [o.key for o in meeting.occurrences(None, start + timedelta(seconds=1))] == \
        KEYS[:2]


def test_all_of_a_series_moves_and_its_exceptions_go():
    history = [SERIES, moved(KEYS[3], "2027-03-12T10:00")]
    meeting = given(Meeting, "mtg-1", history).when(lambda m: m.reschedule(
        *received(None, "all", "2026-09-10T13:00", 90))).then([
            ("MeetingRescheduled", {"starts_at": "2026-09-10T13:00", "minutes": 90,
                                    "rrule": RULE, "sequence": 2})])
    assert meeting.exceptions == {}
    assert [o.starts.astimezone(meeting.zone).hour for o in meeting.occurrences()] == [13] * 6


def test_a_single_meeting_moves_whatever_the_scope_says():
    single = scheduled(rule=None, start="2027-02-02T09:00")
    for scope in ("this", "all"):
        given(Meeting, "mtg-1", [single]).when(lambda m, scope=scope: m.reschedule(
            None, scope, "2027-02-03T09:00", None)).then([
                ("MeetingRescheduled", {"starts_at": "2027-02-03T09:00", "minutes": 120,
                                        "rrule": None, "sequence": 1})])
    given(Meeting, "mtg-1", [single]).when(lambda m: m.reschedule(
        None, "this", "2027-02-02T09:00", 120)).then_raises(Conflict, "at that time already")
    given(Meeting, "mtg-1", [single]).when(lambda m: m.reschedule(
        None, "this", "2027-02-02T09:00", 60)).then([
            ("MeetingRescheduled", {"starts_at": "2027-02-02T09:00", "minutes": 60,
                                    "rrule": None, "sequence": 1})])


def test_a_new_rule_is_for_following_or_all_of_a_series():
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[1], "this", "2026-11-12T10:00", None, None, "FREQ=DAILY;COUNT=2")) \
        .then_refuses("rrule")
    given(Meeting, "mtg-1", [scheduled(rule=None)]).when(lambda m: m.reschedule(
        None, "all", "2026-11-12T10:00", None, None, "FREQ=DAILY;COUNT=2")).then_refuses("rrule")
    meeting = given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        None, "all", "2026-09-10T09:00", None, None, "FREQ=WEEKLY;COUNT=3")).instance
    assert meeting.rule == "FREQ=WEEKLY;COUNT=3" and len(meeting.occurrences()) == 3


def test_this_and_following_become_a_new_series():
    following = Meeting("mtg-2")
    meeting = given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[2], "following", "2027-01-14T13:00", None, following)).then([
            ("SeriesEnded", {"before": KEYS[2],
                             "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;UNTIL=20270114T165959Z",
                             "continued_by": "mtg-2", "sequence": 1})])
    assert [o.key for o in meeting.occurrences()] == KEYS[:2]
    assert [e.type for e in following.pending] == ["MeetingScheduled"]
    assert following.pending[0].data["rrule"] == "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=4"
    assert following.hub_id == HUB
    assert [o.starts.astimezone(following.zone).hour for o in following.occurrences()] == \
        [13] * 4


def test_following_needs_a_new_meeting_and_not_the_first_occurrence():
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[2], "following", "2027-01-14T13:00", None, None)).then_raises(Conflict)
    existing = given(Meeting, "mtg-2", [SERIES]).instance
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[2], "following", "2027-01-14T13:00", None, existing)).then_raises(Conflict)
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[0], "following", "2026-09-10T13:00", None, Meeting("mtg-2"))).then_raises(
        ValidationError, "use scope all")
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(
        KEYS[0], "following", None)).then_raises(ValidationError, "use scope all")


def test_cancelling_this_and_following_ends_the_series_there():
    history = [SERIES, moved(KEYS[4], "2027-05-14T09:00"), cancelled(KEYS[1], seq=2)]
    meeting = given(Meeting, "mtg-1", history).when(lambda m: m.cancel(
        KEYS[3], "following", "grant ends")).then([
            ("SeriesEnded", {"before": KEYS[3],
                             "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;UNTIL=20270311T165959Z",
                             "continued_by": None, "sequence": 3})])
    assert [o.key for o in meeting.occurrences()] == KEYS[:3]
    assert list(meeting.exceptions) == [KEYS[1]]   # the later exception went with its series


@pytest.mark.parametrize("scope", ["some", None, ""])
def test_a_scope_is_this_following_or_all(scope):
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(KEYS[1], scope, None)) \
        .then_refuses("scope")
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.reschedule(
        KEYS[1], scope, "2026-11-12T10:00", None)).then_refuses("scope")


def test_a_cancelled_meeting_changes_no_more():
    history = [SERIES, ("MeetingCancelled", {"reason": "merged", "sequence": 1})]
    meeting = given(Meeting, "mtg-1", history).instance
    assert all(o.cancelled and o.reason == "merged" for o in meeting.occurrences())
    for act in (lambda m: m.cancel(None, "all", None),
                lambda m: m.reschedule(None, "all", "2026-09-10T10:00", None),
                lambda m: m.add_recording("https://example.org/r")):
        given(Meeting, "mtg-1", history).when(act).then_raises(Conflict, "is cancelled")


def test_a_reason_is_bounded_text():
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(None, "all", "x" * 501)) \
        .then_refuses("reason")
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(None, "all", "x" * 500)).then([
        ("MeetingCancelled", {"reason": "x" * 500, "sequence": 1})])


def test_a_webinar_gets_its_recording_afterwards():
    webinar = scheduled("webinar", None)
    meeting = given(Meeting, "mtg-1", [webinar]).when(
        lambda m: m.add_recording(received("https://example.org/recording"))).then([
            ("RecordingAdded", {"link": "https://example.org/recording", "sequence": 1})])
    assert meeting.recording_link == "https://example.org/recording"
    for bad in ("ftp://example.org/r", "example.org", "https://", None):
        given(Meeting, "mtg-1", [webinar]).when(lambda m, bad=bad: m.add_recording(bad)) \
            .then_refuses("link")
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.add_recording("https://example.org/r")) \
        .then_refuses("link")


# -- the expert-session process --------------------------------------------------------------

def test_a_session_resources_counted_is_confirmed_once():
    meeting = given(Meeting, "mtg-1", [SESSION, REQUESTED]).when(
        lambda m: m.session_counted(3)).then([("ExpertSessionConfirmed", {"number": 3})])
    assert meeting.session == "confirmed" and meeting.session_number == 3
    confirmed = [SESSION, REQUESTED, ("ExpertSessionConfirmed", {"number": 3})]
    given(Meeting, "mtg-1", confirmed).when(lambda m: m.session_counted(3)).then([])
    given(Meeting, "mtg-1", confirmed).when(lambda m: m.session_refused("x")).then([])


def test_a_session_resources_refused_is_released_with_its_words():
    meeting = given(Meeting, "mtg-1", [SESSION, REQUESTED]).when(
        lambda m: m.session_refused("every session the engagement bought is used")).then([
            ("ExpertSessionReleased", {"reason": "every session the engagement bought is used"})])
    assert meeting.session == "released"
    released = [SESSION, REQUESTED, ("ExpertSessionReleased", {"reason": "no"})]
    given(Meeting, "mtg-1", released).when(lambda m: m.session_counted(1)).then([])
    given(Meeting, "mtg-1", released).when(lambda m: m.cancel(None, "all", None)).then_raises(
        Conflict, "was released: no")


def test_a_cancelled_session_stays_cancelled_and_gives_its_session_back():
    cancel = ("MeetingCancelled", {"reason": "ill", "sequence": 1})
    given(Meeting, "mtg-1", [SESSION, REQUESTED]).when(
        lambda m: m.cancel(None, "all", "ill")).then([
            cancel, ("ExpertSessionCancelled", {"hub_id": HUB, "engagement_id": "e-1",
                                                "reason": "ill"})])
    confirmed = [SESSION, REQUESTED, ("ExpertSessionConfirmed", {"number": 1})]
    given(Meeting, "mtg-1", confirmed).when(lambda m: m.cancel(None, "this", "ill")).then([
        cancel, ("ExpertSessionCancelled", {"hub_id": HUB, "engagement_id": "e-1",
                                            "reason": "ill"})])
    for answer in (lambda m: m.session_counted(1), lambda m: m.session_refused("x")):
        given(Meeting, "mtg-1", [SESSION, REQUESTED, cancel]).when(answer).then([])
    # Other meetings cancel without asking resources anything.
    given(Meeting, "mtg-1", [SERIES]).when(lambda m: m.cancel(None, "all", None)).then([
        ("MeetingCancelled", {"reason": None, "sequence": 1})])


# -- who came and what they thought ------------------------------------------------------------

FUTURE = scheduled(rule="FREQ=WEEKLY;COUNT=3", start="2027-01-07T09:00")
FUTURE_KEY = "2027-01-07T17:00:00Z"
PAST = scheduled(rule=None, start="2026-11-03T09:00", minutes=60)
PAST_KEY = "2026-11-03T17:00:00Z"
INVITED = {"p-driver", "p-team"}


def test_an_invitee_answers_an_occurrence_to_come():
    meeting = given(Meeting, "mtg-1", [FUTURE]).when(lambda m: m.rsvp(
        *received(FUTURE_KEY, "p-driver", "yes"), INVITED, NOW)).then([
            ("RsvpGiven", {"occurrence": FUTURE_KEY, "person_id": "p-driver",
                           "answer": "yes"})])
    assert meeting.rsvps == {FUTURE_KEY: {"p-driver": "yes"}}
    answered = [FUTURE, ("RsvpGiven", {"occurrence": FUTURE_KEY, "person_id": "p-driver",
                                       "answer": "yes"})]
    given(Meeting, "mtg-1", answered).when(lambda m: m.rsvp(
        FUTURE_KEY, "p-driver", "yes", INVITED, NOW)).then([])
    given(Meeting, "mtg-1", answered).when(lambda m: m.rsvp(
        FUTURE_KEY, "p-driver", "no", INVITED, NOW)).then([
            ("RsvpGiven", {"occurrence": FUTURE_KEY, "person_id": "p-driver", "answer": "no"})])


def test_an_rsvp_is_refused_for_a_stranger_an_answer_or_an_occurrence_that_is_not_open():
    given(Meeting, "mtg-1", [FUTURE]).when(lambda m: m.rsvp(
        FUTURE_KEY, "p-x", "yes", INVITED, NOW)).then_refuses("person_id")
    given(Meeting, "mtg-1", [FUTURE]).when(lambda m: m.rsvp(
        FUTURE_KEY, "p-driver", "perhaps", INVITED, NOW)).then_refuses("answer")
    given(Meeting, "mtg-1", [FUTURE, cancelled(FUTURE_KEY)]).when(lambda m: m.rsvp(
        FUTURE_KEY, "p-driver", "yes", INVITED, NOW)).then_raises(Conflict, "is cancelled")
    # Over when it has ended; open until then.
    end = datetime(2026, 11, 3, 18, tzinfo=UTC)
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.rsvp(
        PAST_KEY, "p-driver", "yes", INVITED, end)).then_raises(Conflict, "is over")
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.rsvp(
        PAST_KEY, "p-driver", "yes", INVITED, end - timedelta(seconds=1))).then([
            ("RsvpGiven", {"occurrence": PAST_KEY, "person_id": "p-driver", "answer": "yes"})])


def test_attendance_is_of_the_invited_or_those_who_answered_once_it_began():
    began = datetime(2026, 11, 3, 17, tzinfo=UTC)
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        *received(PAST_KEY, ["p-team", "p-driver", "p-team"]), INVITED, began)).then([
            ("AttendanceRecorded", {"occurrence": PAST_KEY, "present": ["p-driver", "p-team"]})])
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        PAST_KEY, ["p-driver"], INVITED, began - timedelta(seconds=1))).then_raises(
        Conflict, "has not begun")
    error = given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        PAST_KEY, ["p-driver", "p-x"], INVITED, NOW)).then_raises(ValidationError)
    assert error.errors == {"present": ["never invited: p-x"]}
    answered = [PAST, ("RsvpGiven", {"occurrence": PAST_KEY, "person_id": "p-left",
                                     "answer": "yes"})]
    given(Meeting, "mtg-1", answered).when(lambda m: m.record_attendance(
        PAST_KEY, ["p-left"], INVITED, NOW)).then([
            ("AttendanceRecorded", {"occurrence": PAST_KEY, "present": ["p-left"]})])
    given(Meeting, "mtg-1", [PAST, cancelled(PAST_KEY)]).when(lambda m: m.record_attendance(
        PAST_KEY, [], INVITED, NOW)).then_raises(Conflict, "is cancelled")
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        PAST_KEY, "p-driver", INVITED, NOW)).then_refuses("present")


ATTENDED = [PAST, ("AttendanceRecorded", {"occurrence": PAST_KEY, "present": ["p-driver"]})]


@pytest.mark.parametrize("stars", [1, 5])
def test_an_attendee_gives_1_to_5_stars(stars):
    meeting = given(Meeting, "mtg-1", ATTENDED).when(lambda m: m.give_feedback(
        *received(PAST_KEY, "p-driver", stars, "useful"))).then([
            ("FeedbackGiven", {"occurrence": PAST_KEY, "person_id": "p-driver",
                               "stars": stars, "comment": "useful"})])
    assert meeting.feedback == {PAST_KEY: {"p-driver": stars}}


@pytest.mark.parametrize("stars", [0, 6, 4.5, "4", True, None])
def test_other_stars_are_refused(stars):
    given(Meeting, "mtg-1", ATTENDED).when(lambda m: m.give_feedback(
        PAST_KEY, "p-driver", stars, None)).then_refuses("stars")


def test_feedback_is_an_attendees_with_a_bounded_comment():
    given(Meeting, "mtg-1", ATTENDED).when(lambda m: m.give_feedback(
        PAST_KEY, "p-team", 4, None)).then_raises(Conflict, "did not attend")
    given(Meeting, "mtg-1", ATTENDED).when(lambda m: m.give_feedback(
        PAST_KEY, "p-driver", 4, "x" * 2001)).then_refuses("comment")


# -- blackouts and experts' calendars ------------------------------------------------------------

def declared(first="2027-04-19", last="2027-04-23"):
    return ("BlackoutDeclared", {"hub_id": HUB, "member_id": "m-camino", "starts_on": first,
                                 "ends_on": last, "reason": "state testing window"})


def test_a_blackout_is_a_span_of_days_with_a_reason():
    blackout = given(Blackout, "blk-1").when(lambda b: b.declare(*received(
        HUB, "m-camino", "2027-04-19", "2027-04-23", "state testing window"))).then([declared()])
    assert (blackout.hub_id, blackout.member_id) == (HUB, "m-camino")
    given(Blackout, "blk-1").when(lambda b: b.declare(
        HUB, "m-camino", "2027-04-19", "2027-04-19", "x")).then([
            ("BlackoutDeclared", {**declared("2027-04-19", "2027-04-19")[1], "reason": "x"})])
    given(Blackout, "blk-1", [declared()]).when(lambda b: b.declare(
        HUB, "m-camino", "2027-04-19", "2027-04-23", "x")).then_raises(Conflict)


@pytest.mark.parametrize("first, last, reason, field", [
    ("2027-04-23", "2027-04-22", "x", "ends_on"), ("2027-04-19", "2028-04-19", "x", "ends_on"),
    ("2027-19-04", "2027-04-23", "x", "starts_on"), (None, "2027-04-23", "x", "starts_on"),
    ("2027-04-19", "soon", "x", "ends_on"), ("2027-04-19", "2027-04-23", "", "reason"),
    ("2027-04-19", "2027-04-23", "x" * 201, "reason")])
def test_bad_blackouts_are_refused_naming_the_field(first, last, reason, field):
    given(Blackout, "blk-1").when(lambda b: b.declare(HUB, "m-camino", first, last, reason)) \
        .then_refuses(field)


def test_a_blackout_of_366_days_is_the_longest():
    given(Blackout, "blk-1").when(lambda b: b.declare(
        HUB, "m-camino", "2027-01-01", "2027-12-31", "x")).then([
            ("BlackoutDeclared", {**declared("2027-01-01", "2027-12-31")[1], "reason": "x"})])


def test_a_blackout_is_withdrawn_once():
    blackout = given(Blackout, "blk-1", [declared()]).when(lambda b: b.withdraw()).then([
        ("BlackoutWithdrawn", {})])
    assert blackout.withdrawn
    given(Blackout, "blk-1", [declared(), ("BlackoutWithdrawn", {})]).when(
        lambda b: b.withdraw()).then_raises(Conflict, "withdrawn already")


AT = datetime(2027, 7, 1, tzinfo=UTC)


def test_the_hub_that_added_an_expert_marks_it_unavailable():
    calendar = given(ExpertCalendar, "x-1").when(lambda c: c.mark_unavailable(
        HUB, HUB, "off-1", AT, AT + timedelta(days=14), "summer")).then([
            ("ExpertUnavailable", {"hub_id": HUB, "period_id": "off-1",
                                   "starts_at": "2027-07-01T00:00:00+00:00",
                                   "ends_at": "2027-07-15T00:00:00+00:00",
                                   "reason": "summer"})])
    assert calendar.hub_id == HUB
    given(ExpertCalendar, "x-1").when(lambda c: c.mark_unavailable(
        "alpine", HUB, "off-1", AT, AT + timedelta(days=1), None)).then_refuses("hub_id")


@pytest.mark.parametrize("length, ok", [(timedelta(0), False), (timedelta(seconds=-1), False),
                                        (timedelta(seconds=1), True),
                                        (timedelta(days=366), True),
                                        (timedelta(days=366, seconds=1), False)])
def test_an_unavailability_is_a_positive_span_of_at_most_366_days(length, ok):
    scenario = given(ExpertCalendar, "x-1").when(lambda c: c.mark_unavailable(
        HUB, HUB, "off-1", AT, AT + length, None))
    if ok:
        assert scenario.instance.pending
    else:
        scenario.then_refuses("ends_at")


# -- the read model's view of a meeting -------------------------------------------------------

def test_a_meeting_from_its_row_expands_as_the_aggregate_does():
    meeting = given(Meeting, "mtg-1", [SERIES, moved(KEYS[3], "2027-04-20T10:00"),
                                       cancelled(KEYS[2], seq=2)]).instance
    row = {"id": "mtg-1", "hub_id": HUB, "kind": meeting.kind, "title": meeting.title,
           "time_zone": TZ, "starts_at": meeting.start, "minutes": meeting.minutes,
           "rrule": meeting.rule, "members": None, "roles": meeting.roles, "location": None,
           "host_member_id": None, "expert_id": None, "engagement_id": None,
           "recording_link": None, "status": "scheduled", "session": None,
           "session_number": None, "reason": None, "sequence": 2,
           "exceptions": meeting.exceptions, "version": 3}
    again = planned(row)
    assert again.occurrences() == meeting.occurrences()
    assert planned({**row, "status": "cancelled"}).cancelled
    assert planned({**row, "session": "released"}).session == "released"
    first, last = bounds(meeting)
    assert first == datetime(2026, 9, 10, 16, tzinfo=UTC)
    assert last == datetime(2027, 7, 8, 18, tzinfo=UTC)
    late = given(Meeting, "mtg-1", [SERIES, moved(KEYS[5], "2027-12-20T10:00")]).instance
    assert bounds(late)[1] == datetime(2027, 12, 20, 20, tzinfo=UTC)
    early = given(Meeting, "mtg-1", [SERIES, moved(KEYS[0], "2026-08-01T10:00")]).instance
    assert bounds(early)[0] == datetime(2026, 8, 1, 17, tzinfo=UTC)


# -- boundaries: every count and sequence as the log gives them back ----------------------------

MOVED_ONCE = [SERIES, moved(KEYS[3], "2027-03-12T10:00")]    # sequence 1


def test_every_change_counts_the_sequence_up_from_where_it_is():
    # From 1, +1 is 2 (where ^1 would be 0 and |1 would be 1).
    for act, expected in (
            (lambda m: m.reschedule(KEYS[1], "this", "2026-11-13T09:00", None),
             moved(KEYS[1], "2026-11-13T09:00", seq=2)),
            (lambda m: m.cancel(KEYS[1], "this", None), cancelled(KEYS[1], None, seq=2)),
            (lambda m: m.cancel(None, "all", None),
             ("MeetingCancelled", {"reason": None, "sequence": 2})),
            (lambda m: m.reschedule(None, "all", "2026-09-10T10:00", None),
             ("MeetingRescheduled", {"starts_at": "2026-09-10T10:00", "minutes": 120,
                                     "rrule": RULE, "sequence": 2})),
            (lambda m: m.cancel(KEYS[4], "following", None),
             ("SeriesEnded", {"before": KEYS[4], "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;"
                              "UNTIL=20270513T155959Z", "continued_by": None,
                              "sequence": 2}))):
        given(Meeting, "mtg-1", MOVED_ONCE).when(act).then([expected])
    following = Meeting("mtg-2")
    given(Meeting, "mtg-1", MOVED_ONCE).when(lambda m: m.reschedule(
        KEYS[4], "following", "2027-05-13T13:00", None, following)).then([
            ("SeriesEnded", {"before": KEYS[4], "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;"
                             "UNTIL=20270513T155959Z", "continued_by": "mtg-2",
                             "sequence": 2})])
    webinar = [scheduled("webinar", None), ("RecordingAdded", {"link": "https://a.org/1",
                                                              "sequence": 1})]
    given(Meeting, "mtg-1", webinar).when(lambda m: m.add_recording("https://a.org/2")).then([
        ("RecordingAdded", {"link": "https://a.org/2", "sequence": 2})])


def test_a_check_in_records_only_its_scheduling():
    given(Meeting, "mtg-1").when(schedule("check_in", rule=None, members=["m-gold"])).then([
        scheduled("check_in", None, ["m-gold"], ["driver"])])


def test_an_occurrence_moved_onto_anothers_time_is_not_taken_for_it():
    meeting = given(Meeting, "mtg-1", [SERIES, moved(KEYS[1], "2027-03-11T09:00")]).instance
    assert meeting.occurrence(KEYS[3]).key == KEYS[3]
    assert meeting.occurrence(KEYS[1]).key == KEYS[1]


def test_a_single_meeting_is_its_own_occurrence_with_or_without_its_key():
    single = given(Meeting, "mtg-1", [scheduled(rule=None, start="2027-02-02T09:00")]).instance
    assert single.occurrence(None).key == "2027-02-02T17:00:00Z"
    assert single.occurrence("2027-02-02T17:00:00Z").key == "2027-02-02T17:00:00Z"
    series = given(Meeting, "mtg-1", [SERIES]).instance
    series.occurrence(KEYS[2])
    with pytest.raises(ValidationError):
        series.occurrence(None)


def test_a_single_meeting_moved_earlier_for_as_long_moves():
    single = scheduled(rule=None, start="2027-02-02T09:00")
    given(Meeting, "mtg-1", [single]).when(lambda m: m.reschedule(
        None, "all", "2027-02-01T09:00", None)).then([
            ("MeetingRescheduled", {"starts_at": "2027-02-01T09:00", "minutes": 120,
                                    "rrule": None, "sequence": 1})])


def test_an_occurrence_cannot_be_changed_in_place():
    meeting = given(Meeting, "mtg-1", [SERIES]).instance
    with pytest.raises(AttributeError):
        meeting.occurrences()[0].cancelled = True   # type: ignore[misc]


def test_titles_links_members_and_attendance_are_bounded_at_their_limits():
    args = received(HUB, "network_meeting", None, TZ, "2026-09-10T09:00", 60, None, None, None)
    given(Meeting, "mtg-1").when(lambda m: m.schedule(*args, DIRECTORY)).then_refuses("title")
    for title, ok in (("t" * 200, True), ("t" * 201, False)):
        scenario = given(Meeting, "mtg-1").when(lambda m, title=title: m.schedule(
            HUB, "network_meeting", title, TZ, "2026-09-10T09:00", 60, None, None, None,
            DIRECTORY))
        if ok:
            assert scenario.instance.title == title
        else:
            scenario.then_refuses("title")
    many = {f"m-{n:03d}": HUB for n in range(201)}
    for count, ok in ((200, True), (201, False)):
        chosen = sorted(many)[:count]
        scenario = given(Meeting, "mtg-1").when(lambda m, chosen=chosen: m.schedule(
            HUB, "network_meeting", "t", TZ, "2026-09-10T09:00", 60, None, chosen, None, many))
        if ok:
            assert len(scenario.instance.members) == 200
        else:
            scenario.then_refuses("members")
    webinar = [scheduled("webinar", None)]
    link = "https://example.org/" + "r" * (2000 - len("https://example.org/"))
    given(Meeting, "mtg-1", webinar).when(lambda m: m.add_recording(link)).then([
        ("RecordingAdded", {"link": link, "sequence": 1})])
    given(Meeting, "mtg-1", webinar).when(lambda m: m.add_recording(link + "r")) \
        .then_refuses("link")
    people = [f"p-{n:04d}" for n in range(2001)]
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        PAST_KEY, people[:2000], set(people), NOW)).then([
            ("AttendanceRecorded", {"occurrence": PAST_KEY, "present": people[:2000]})])
    given(Meeting, "mtg-1", [PAST]).when(lambda m: m.record_attendance(
        PAST_KEY, people, set(people), NOW)).then_refuses("present")


def test_the_hub_keeping_an_experts_calendar_is_the_owner_whatever_its_name_sorts_like():
    for hub in ("alpine", "placer", "el-dorado-2"):
        given(ExpertCalendar, "x-1").when(lambda c, hub=hub: c.mark_unavailable(
            hub, HUB, "off-1", AT, AT + timedelta(days=1), None)).then_refuses("hub_id")


def test_a_row_read_from_the_database_is_cancelled_by_its_value():
    meeting = given(Meeting, "mtg-1", [SERIES]).instance
    row = {"id": "mtg-1", "hub_id": HUB, "kind": meeting.kind, "title": meeting.title,
           "time_zone": TZ, "starts_at": meeting.start, "minutes": meeting.minutes,
           "rrule": meeting.rule, "members": None, "roles": meeting.roles, "location": None,
           "host_member_id": None, "expert_id": None, "engagement_id": None,
           "recording_link": None, "session": None, "session_number": None, "reason": None,
           "sequence": 0, "exceptions": {}, "version": 1,
           # A text the database gave back: equal to "cancelled", not the same object.
           "status": "".join(["cancel", "led"])}
    assert planned(row).cancelled
