"""The scheduling slice end to end, over HTTP, through the real gateway and services: a hub's
network meetings across daylight-saving changes, read back by an iCalendar parser that is not
the library that wrote the feed; invitations that follow membership; RSVPs, attendance and
feedback; blackouts and find-a-time; one calendar per shared expert, which two hubs can never
double-book; the expert-session process with resources; secret calendar links."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import zoneinfo

import pytest
import vobject

from tests.integration.http import token
from tests.support import cli, query, wait_until

WEST, EAST = "sch-west", "sch-east"
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
SERIES = "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=6"


@pytest.fixture(scope="module")
def network(platform):
    """Two hubs; West has three members with a driver and a design team member each."""
    client = platform["client"]
    people, members = {}, {}
    for hub in (WEST, EAST):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county office",
                                       "state": "CA", "facilitator_org": "Partner nonprofit"})
    for n, name in enumerate(("Camino", "Gold Trail", "Pollock Pines")):
        member = client.ok("POST", f"/v1/hubs/{WEST}/members", {
            "name": f"{name} School District", "kind": "district", "grade_span": "K-8",
            "enrollment": 100 + n})["id"]
        members[name] = member
        for role in ("driver", "design_team"):
            person = client.ok("POST", f"/v1/hubs/{WEST}/people",
                               {"name": f"{role} of {name}"})["id"]
            client.ok("POST", f"/v1/members/{member}/roles",
                      {"person_id": person, "role": role,
                       **({"represents": "teachers"} if role == "design_team" else {})})
            people[(name, role)] = person
    east_member = client.ok("POST", f"/v1/hubs/{EAST}/members", {
        "name": "Alpine County Unified", "kind": "district", "grade_span": "K-12",
        "enrollment": 71})["id"]
    scheduling = platform["databases"]["scheduling"]
    wait_until(lambda: query(scheduling, "SELECT count(*) FROM directory_roles WHERE held")
               [0][0] >= 6 and query(scheduling, "SELECT count(*) FROM directory_members "
                                                 "WHERE name IS NOT NULL")[0][0] >= 4,
               what="scheduling to hear of every member and role")
    return {"client": client, "people": people, "members": members,
            "east_member": east_member,
            "west": token("facilitator", [WEST], sub="wendy"),
            "east": token("facilitator", [EAST], sub="ed")}


def schedule(network, **fields):
    body = {"kind": "network_meeting", "title": "Network meeting", "starts_at":
            "2026-09-10T09:00", "minutes": 120, "rrule": SERIES, **fields}
    return network["client"].ok("POST", f"/v1/hubs/{WEST}/meetings", body,
                                token=network["west"])


def test_a_series_stays_at_nine_local_across_daylight_saving_and_its_feed_says_so(network):
    client, west = network["client"], network["west"]
    meeting = schedule(network, location="El Dorado County Office, Placerville")
    assert meeting["time_zone"] == "America/Los_Angeles"   # the hub's zone (its state's)
    starts = [o["local_start"] for o in meeting["occurrences"]]
    assert starts == ["2026-09-10T09:00", "2026-11-12T09:00", "2027-01-14T09:00",
                      "2027-03-11T09:00", "2027-05-13T09:00", "2027-07-08T09:00"]
    # 9:00 in summer is 16:00 UTC, in winter 17:00 UTC.
    utc = [o["starts_at"][11:16] for o in meeting["occurrences"]]
    assert utc == ["16:00", "17:00", "17:00", "17:00", "16:00", "16:00"]
    # One occurrence cancelled (a snow day), one moved.
    path = f"/v1/meetings/{meeting['id']}"
    january, march = meeting["occurrences"][2]["occurrence"], \
        meeting["occurrences"][3]["occurrence"]
    client.ok("POST", f"{path}/cancellation", {"occurrence": january, "scope": "this",
                                               "reason": "snow closed the roads"}, token=west)
    moved = client.ok("POST", f"{path}/reschedule", {
        "occurrence": march, "scope": "this", "starts_at": "2027-03-12T10:00"}, token=west)
    by_key = {o["occurrence"]: o for o in moved["occurrences"]}
    assert by_key[january]["status"] == "cancelled"
    assert by_key[january]["reason"] == "snow closed the roads"
    assert (by_key[march]["status"], by_key[march]["local_start"]) == ("moved",
                                                                      "2027-03-12T10:00")
    assert moved["sequence"] == 2

    # The feed, read by vobject (not icalendar, which wrote it).
    status, headers, text = client.request("GET", f"/v1/hubs/{WEST}/calendar.ics", token=west)
    assert status == 200 and headers["content-type"].startswith("text/calendar")
    calendar = vobject.readOne(text)
    events = [e for e in calendar.vevent_list if e.uid.value.startswith(meeting["id"])]
    master = next(e for e in events if not hasattr(e, "recurrence_id"))
    assert master.sequence.value == "2" and master.status.value == "CONFIRMED"
    shown = [d for d in master.getrruleset(addRDate=True)]
    # Every occurrence at 9:00 local, the cancelled one excluded (EXDATE).
    assert [d.astimezone(LA).strftime("%Y-%m-%dT%H:%M") for d in shown] == [
        "2026-09-10T09:00", "2026-11-12T09:00", "2027-03-11T09:00", "2027-05-13T09:00",
        "2027-07-08T09:00"]
    overrides = {e.recurrence_id.value.astimezone(LA).strftime("%m-%d"): e
                 for e in events if hasattr(e, "recurrence_id")}
    assert overrides["01-14"].status.value == "CANCELLED"
    assert overrides["03-11"].dtstart.value.astimezone(LA).strftime("%Y-%m-%dT%H:%M") == \
        "2027-03-12T10:00"
    assert {e.uid.value for e in events} == {f"{meeting['id']}@consortium-platform"}
    assert calendar.vtimezone.tzid.value == "America/Los_Angeles"

    # The hub's meetings in a window: one item per occurrence, by start, paged.
    first = client.ok("GET", f"/v1/hubs/{WEST}/meetings?from=2026-09-01&to=2027-06-30"
                             f"&limit=2", token=west)
    ours = [i for i in first["items"] if i["meeting_id"] == meeting["id"]]
    assert ours and ours[0]["local_start"] == "2026-09-10T09:00" and first["next"]
    rest = client.ok("GET", f"/v1/hubs/{WEST}/meetings?from=2026-09-01&to=2027-06-30"
                            f"&limit=50&after={first['next']}", token=west)
    keys = [i["occurrence"] for i in first["items"] + rest["items"]
            if i["meeting_id"] == meeting["id"]]
    assert len(keys) == len(set(keys)) == 5   # July is past the window


def test_this_and_following_become_a_series_of_their_own(network):
    client, west = network["client"], network["west"]
    meeting = schedule(network, title="Network meeting (moving to Fridays)")
    path = f"/v1/meetings/{meeting['id']}"
    third = meeting["occurrences"][2]["occurrence"]
    # A start the rule does not fall on needs a rule that does.
    status, _, problem = client.request("POST", f"{path}/reschedule", {
        "occurrence": third, "scope": "following", "starts_at": "2027-01-15T13:00"},
        token=west)
    assert status == 422 and "starts_at" in problem["errors"]
    answer = client.ok("POST", f"{path}/reschedule", {
        "occurrence": third, "scope": "following", "starts_at": "2027-01-15T13:00",
        "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=3FR;COUNT=4"}, token=west)
    assert [o["local_start"] for o in answer["occurrences"]] == [
        "2026-09-10T09:00", "2026-11-12T09:00"]
    following = client.ok("GET", f"/v1/meetings/{answer['continued_by']}", token=west)
    assert following["rrule"].endswith("COUNT=4")
    assert following["occurrences"][0]["local_start"] == "2027-01-15T13:00"
    assert len(following["occurrences"]) == 4
    # Cancelling this and what follows ends a series there.
    ended = client.ok("POST", f"/v1/meetings/{following['id']}/cancellation", {
        "occurrence": following["occurrences"][2]["occurrence"], "scope": "following",
        "reason": "the grant ends"}, token=west)
    assert len(ended["occurrences"]) == 2


def test_invitations_follow_membership(network):
    client, west, people = network["client"], network["west"], network["people"]
    meeting = schedule(network, kind="site_visit", rrule=None, title="Site visit at Camino",
                       host_member_id=network["members"]["Camino"],
                       members=[network["members"]["Gold Trail"]], starts_at="2026-10-06T10:00")
    invited = {i["person_id"] for i in meeting["invitees"]}
    assert invited == {people[(m, r)] for m in ("Camino", "Gold Trail")
                       for r in ("driver", "design_team")}
    # Gold Trail's driver is erased: not invited any more; its member off-boarded: none of it.
    client.ok("DELETE", f"/v1/people/{people[('Gold Trail', 'driver')]}")
    wait_until(lambda: people[("Gold Trail", "driver")] not in {
        i["person_id"] for i in client.ok("GET", f"/v1/meetings/{meeting['id']}",
                                          token=west)["invitees"]},
        what="the erased person no longer invited")
    member = client.ok("GET", f"/v1/members/{network['members']['Gold Trail']}")
    client.ok("POST", f"/v1/members/{network['members']['Gold Trail']}/offboarding",
              {"reason": "left the network"}, headers={"If-Match": f'"{member["version"]}"'})
    assert member["id"] == network["members"]["Gold Trail"]
    wait_until(lambda: {i["member_id"] for i in client.ok(
        "GET", f"/v1/meetings/{meeting['id']}", token=west)["invitees"]} ==
        {network["members"]["Camino"]}, what="the off-boarded member's people uninvited")


def test_rsvps_attendance_and_feedback_keep_to_the_invited(network):
    client, west, people = network["client"], network["west"], network["people"]
    pollock = network["members"]["Pollock Pines"]
    driver, stranger = people[("Pollock Pines", "driver")], people[("Camino", "driver")]
    coming = schedule(network, kind="check_in", rrule=None, title="Check-in with Pollock",
                      members=[pollock], starts_at="2027-11-03T15:30", minutes=30)
    assert [i["person_id"] for i in coming["invitees"]] == [driver]
    path = f"/v1/meetings/{coming['id']}"
    status, _, problem = client.request("POST", f"{path}/rsvps", {
        "person_id": stranger, "answer": "yes"}, token=west)
    assert status == 422 and "person_id" in problem["errors"]
    answered = client.ok("POST", f"{path}/rsvps", {"person_id": driver, "answer": "maybe"},
                         token=west)
    assert answered["id"] == coming["id"]
    status, _, problem = client.request("POST", f"{path}/attendance", {"present": [driver]},
                                        token=west)
    assert status == 409 and "has not begun" in problem["detail"]

    past = schedule(network, kind="check_in", rrule=None, title="Check-in in November",
                    members=[pollock], starts_at="2026-11-03T15:30", minutes=30)
    path = f"/v1/meetings/{past['id']}"
    status, _, problem = client.request("POST", f"{path}/rsvps", {
        "person_id": driver, "answer": "yes"}, token=west)
    assert status == 409 and "is over" in problem["detail"]
    status, _, problem = client.request("POST", f"{path}/attendance", {
        "present": [driver, stranger]}, token=west)
    assert status == 422 and stranger in problem["errors"]["present"][0]
    client.ok("POST", f"{path}/attendance", {"present": [driver]}, token=west)
    for stars in (0, 6, 4.5, "4"):
        status, _, problem = client.request("POST", f"{path}/feedback", {
            "person_id": driver, "stars": stars}, token=west)
        assert status == 422 and "stars" in problem["errors"], stars
    client.ok("POST", f"{path}/feedback", {"person_id": driver, "stars": 1}, token=west)


def test_rsvp_to_a_cancelled_occurrence_and_attendance_of_a_stranger_are_refused(network):
    client, west, people = network["client"], network["west"], network["people"]
    meeting = schedule(network, rrule="FREQ=WEEKLY;COUNT=3", starts_at="2030-01-07T09:00",
                       title="Design team huddles", roles=["design_team"])
    path = f"/v1/meetings/{meeting['id']}"
    first = meeting["occurrences"][0]["occurrence"]
    teacher = people[("Camino", "design_team")]
    client.ok("POST", f"{path}/rsvps", {"occurrence": first, "person_id": teacher,
                                        "answer": "yes"}, token=west)
    client.ok("POST", f"{path}/cancellation", {"occurrence": first, "scope": "this",
                                               "reason": "no substitutes"}, token=west)
    status, _, problem = client.request("POST", f"{path}/rsvps", {
        "occurrence": first, "person_id": teacher, "answer": "no"}, token=west)
    assert status == 409 and "cancelled" in problem["detail"]
    # An occurrence the series does not have is named as such.
    status, _, problem = client.request("POST", f"{path}/rsvps", {
        "occurrence": "2030-01-08T17:00:00Z", "person_id": teacher, "answer": "no"},
        token=west)
    assert status == 422 and "occurrence" in problem["errors"]


def test_feedback_of_past_meetings_is_averaged_per_meeting_and_per_hub(network, platform):
    client, west, people = network["client"], network["west"], network["people"]
    meeting = schedule(network, rrule=None, starts_at="2026-09-01T09:00",
                       title="Kick-off", roles=["driver"])
    path = f"/v1/meetings/{meeting['id']}"
    drivers = [people[(m, "driver")] for m in ("Camino", "Pollock Pines")]
    client.ok("POST", f"{path}/attendance", {"present": drivers}, token=west)
    for person, stars in zip(drivers, (5, 4), strict=True):
        client.ok("POST", f"{path}/feedback", {"person_id": person, "stars": stars,
                                               "comment": "useful"}, token=west)
    status, _, problem = client.request("POST", f"{path}/feedback", {
        "person_id": people[("Camino", "design_team")], "stars": 3}, token=west)
    assert status == 409 and "did not attend" in problem["detail"]
    assert client.ok("GET", path, token=west)["feedback"] == {"count": 2, "average": 4.5}
    months = client.ok("GET", f"/v1/hubs/{WEST}/feedback", token=west)["items"]
    assert {"month": "2026-09", "meetings": 1, "count": 2, "average": 4.5} in months


@pytest.mark.parametrize("field, value, named", [
    ("rrule", "FREQ=MONTHLY", "rrule"),                       # unbounded
    ("rrule", "FREQ=DAILY;COUNT=1000", "rrule"),
    ("rrule", "FREQ=MINUTELY;COUNT=3", "rrule"),
    ("rrule", "not a rule", "rrule"),
    ("rrule", "FREQ=DAILY;UNTIL=20400101T000000Z", "rrule"),
    ("rrule", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=1", "rrule"),   # never occurs
    ("rrule", "FREQ=YEARLY;COUNT=5", "rrule"),                          # past 732 days
    ("time_zone", "America/Nowhere", "time_zone"),
    ("time_zone", "America", "time_zone"),            # a folder of the zone database
    ("starts_at", "9999-12-31T23:30", "starts_at"),   # past the end of the calendar
    ("minutes", 0, "minutes"),
    ("minutes", 30 * 24 * 60, "minutes"),
    ("starts_at", "2027-03-14T02:30", "starts_at"),           # the clocks skip it
    ("starts_at", "2027-02-30T09:00", "starts_at"),
    ("kind", "party", "kind"),
    ("roles", ["facilitator"], "roles"),
    ("rrule", "FREQ=MONTHLY;BYDAY=2TU;COUNT=3", "starts_at"),   # not on the rule's days
])
def test_bad_meetings_are_refused_naming_the_field(network, field, value, named):
    status, _, problem = network["client"].request(
        "POST", f"/v1/hubs/{WEST}/meetings", {
            "kind": "network_meeting", "title": "x", "starts_at": "2027-01-14T09:00",
            "minutes": 60, field: value}, token=network["west"])
    assert status == 422 and any(k.split(".")[0] == named for k in problem["errors"]), problem


def test_the_fall_back_hour_is_its_first_occurrence(network):
    meeting = schedule(network, rrule=None, starts_at="2026-11-01T01:30", minutes=30,
                       title="Early call")
    (only,) = meeting["occurrences"]
    assert only["starts_at"].startswith("2026-11-01T08:30")   # 01:30 PDT, not PST


def test_blackouts_and_find_a_time(network):
    client, west, members = network["client"], network["west"], network["members"]
    camino, gold = members["Camino"], members["Pollock Pines"]
    blackout = client.ok("POST", f"/v1/members/{camino}/blackouts", {
        "starts_on": "2027-04-19", "ends_on": "2027-04-23",
        "reason": "state testing window (CAASPP)"}, token=west)
    assert blackout["member_id"] == camino
    status, _, problem = client.request("POST", f"/v1/members/{camino}/blackouts", {
        "starts_on": "2027-04-23", "ends_on": "2027-04-19", "reason": "x"}, token=west)
    assert status == 422 and "ends_on" in problem["errors"]
    found = client.ok("POST", f"/v1/hubs/{WEST}/find-a-time", {
        "from": "2027-04-19", "to": "2027-04-27", "minutes": 90, "members": [camino, gold],
        "day_starts": "09:00", "day_ends": "15:00", "limit": 5}, token=west)
    assert found["time_zone"] == "America/Los_Angeles" and found["invited"] >= 3
    best = found["items"][0]
    assert best["missing"] == [] and best["local_start"] >= "2027-04-26"
    # A site visit hosted by a member in its testing window is not possible that week.
    visit = client.ok("POST", f"/v1/hubs/{WEST}/find-a-time", {
        "from": "2027-04-19", "to": "2027-04-23", "minutes": 90, "members": [gold],
        "host_member_id": camino, "limit": 3}, token=west)
    assert all(not s["possible"] and any("CAASPP" in b for b in s["blocked"])
               for s in visit["items"])
    for bad, named in (({"from": "2027-01-01", "to": "2036-12-31"}, "to"),
                       ({"people": [f"p-{n}" for n in range(500)]}, "people"),
                       ({"minutes": 0}, "minutes")):
        body = {"from": "2027-04-19", "to": "2027-04-23", "minutes": 60, **bad}
        status, _, problem = client.request("POST", f"/v1/hubs/{WEST}/find-a-time", body,
                                            token=west)
        assert status == 422 and named in problem["errors"], (bad, problem)
    withdrawn = client.ok("DELETE", f"/v1/blackouts/{blackout['id']}", token=west)
    assert withdrawn["withdrawn"] is True


def test_another_hub_sees_nothing_of_west(network):
    client, east = network["client"], network["east"]
    meeting = schedule(network, rrule=None, starts_at="2027-02-02T09:00", title="Private")
    assert client.request("GET", f"/v1/meetings/{meeting['id']}", token=east)[0] == 404
    assert client.request("POST", f"/v1/meetings/{meeting['id']}/cancellation",
                          {"reason": "x"}, token=east)[0] == 404
    assert client.request("GET", f"/v1/hubs/{WEST}/meetings?from=2027-01-01&to=2027-12-31",
                          token=east)[0] == 404
    assert client.request("GET", f"/v1/hubs/{WEST}/calendar.ics", token=east)[0] == 404


def test_a_persons_calendar_by_a_secret_link_that_rotates(network):
    client, west, people = network["client"], network["west"], network["people"]
    schedule(network, rrule=None, starts_at="2027-05-04T09:00", title="Design day",
             roles=["design_team"])
    person = people[("Pollock Pines", "design_team")]
    issued = client.ok("PUT", f"/v1/people/{person}/calendar-link", token=west)
    status, headers, text = client.request("GET", issued["path"], token=None)
    assert status == 200 and headers["content-type"].startswith("text/calendar")
    summaries = {e.summary.value for e in vobject.readOne(text).vevent_list}
    assert "Design day" in summaries
    again = client.ok("PUT", f"/v1/people/{person}/calendar-link", token=west)
    assert client.request("GET", issued["path"], token=None)[0] == 404
    assert client.request("GET", again["path"], token=None)[0] == 200
    assert client.request("PUT", f"/v1/people/{person}/calendar-link",
                          token=network["east"])[0] == 404


# -- one calendar per shared expert ------------------------------------------------------------

@pytest.fixture(scope="module")
def expert(network, platform):
    """An expert West added to the pool, known to scheduling."""
    client = network["client"]
    added = client.ok("POST", "/v1/experts", {
        "hub_id": WEST, "name": "Dr. Rosa Quintero", "organisation": "Sierra Math Coaching",
        "bio": "Number talks.", "expertise": ["math"], "rate_cents": 100_000, "travels": False,
        "travel_cost_cents": 0, "sharing": "consortium"}, token=network["west"])
    wait_until(lambda: query(platform["databases"]["scheduling"],
                             "SELECT count(*) FROM experts_known WHERE id = %s",
                             (added["id"],))[0][0] == 1, what="scheduling to hear of the expert")
    return added["id"]


def session_body(expert, engagement, starts_at, minutes=120):
    return {"kind": "expert_session", "title": "Number talks coaching", "starts_at": starts_at,
            "minutes": minutes, "expert_id": expert, "engagement_id": engagement}


@pytest.fixture(scope="module")
def shared_engagement(network, expert):
    """West and East engage the expert together (confirmed): either hub's session counts."""
    client = network["client"]
    proposed = client.ok("POST", "/v1/engagements", {
        "hub_id": WEST, "expert_id": expert, "members": [network["members"]["Camino"]],
        "sessions": 10, "split": "equal"}, token=network["west"])
    path = f"/v1/engagements/{proposed['id']}"
    client.ok("POST", f"{path}/hubs", {"hub_id": EAST, "members": [network["east_member"]]},
              token=network["east"])
    client.ok("POST", f"{path}/confirmation", None, token=network["west"])
    return proposed["id"]


def test_two_hubs_never_double_book_an_expert_even_at_the_same_instant(
        network, expert, shared_engagement):
    client = network["client"]
    attempts = [(WEST if n % 2 else EAST, network["west"] if n % 2 else network["east"])
                for n in range(12)]

    def book(attempt):
        hub, bearer = attempt
        return client.request("POST", f"/v1/hubs/{hub}/meetings",
                              session_body(expert, shared_engagement, "2027-06-01T09:00"),
                              token=bearer)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(book, attempts))
    statuses = sorted(a[0] for a in answers)
    assert statuses == [201] + [409] * 11, statuses
    (won,) = [payload for status, _, payload in answers if status == 201]
    assert wait_until(lambda: client.ok("GET", f"/v1/meetings/{won['id']}")["session"]
                      != "requested", what="resources to count it") is not None
    assert client.ok("GET", f"/v1/meetings/{won['id']}")["session"] == "confirmed"
    for status, _, problem in answers:
        if status == 409:
            assert problem["constraint"] == "expert_slots_expert_free"
            # The conflicting time, never the other hub.
            assert problem["detail"] == ("the expert is busy then: from "
                                         "2027-06-01T16:00:00+00:00 to "
                                         "2027-06-01T18:00:00+00:00; choose another time")
    # Every hub sees that the expert is busy then, never whose time it is.
    busy = client.ok("GET", f"/v1/experts/{expert}/busy?from=2027-06-01T00:00:00Z"
                            "&to=2027-06-02T00:00:00Z", token=network["east"])
    assert busy["busy"] == [{"starts_at": "2027-06-01T16:00:00+00:00",
                             "ends_at": "2027-06-01T18:00:00+00:00"}]


def test_an_expert_session_outside_an_engagement_is_released_with_the_reason(
        network, expert):
    client, east = network["client"], network["east"]
    booked = client.ok("POST", f"/v1/hubs/{EAST}/meetings",
                       session_body(expert, f"{WEST}.eng-not-easts", "2027-06-08T09:00"),
                       token=east)
    assert booked["session"] == "requested"

    def released():
        found = client.ok("GET", f"/v1/meetings/{booked['id']}", token=east)
        return found if found["session"] == "released" else None
    found = wait_until(released, what="resources to refuse the session")
    assert found["reason"] == "your hub is not in this engagement"
    assert found["occurrences"][0]["status"] == "released"
    # The expert's time is free again: West books it.
    client.ok("POST", f"/v1/hubs/{WEST}/meetings",
              session_body(expert, f"{WEST}.eng-y", "2027-06-08T09:00"), token=network["west"])


def test_an_expert_session_of_a_confirmed_engagement_is_counted_and_given_back(
        network, expert, platform):
    client, west = network["client"], network["west"]
    engagement = client.ok("POST", "/v1/engagements", {
        "hub_id": WEST, "expert_id": expert, "members": [network["members"]["Camino"]],
        "sessions": 2, "split": "equal"}, token=west)
    client.ok("POST", f"/v1/engagements/{engagement['id']}/confirmation", None, token=west)
    booked = client.ok("POST", f"/v1/hubs/{WEST}/meetings",
                       session_body(expert, engagement["id"], "2027-06-15T09:00"), token=west)

    def counted():
        found = client.ok("GET", f"/v1/meetings/{booked['id']}", token=west)
        return found if found["session"] == "confirmed" else None
    assert wait_until(counted, what="resources to count the session")["session_number"] == 1
    path = f"/v1/engagements/{engagement['id']}"
    assert client.ok("GET", path, token=west)["sessions_left"] == 1
    client.ok("POST", f"/v1/meetings/{booked['id']}/cancellation",
              {"scope": "all", "reason": "the expert fell ill"}, token=west)
    wait_until(lambda: client.ok("GET", path, token=west)["sessions_left"] == 2,
               what="the cancelled session given back to the engagement")
    assert platform["services"]["scheduling"].rpc("dead_letters") == []


def test_an_expert_is_unavailable_as_its_hub_says(network, expert):
    client = network["client"]
    marked = client.ok("POST", f"/v1/experts/{expert}/unavailability", {
        "hub_id": WEST, "starts_at": "2027-07-01T00:00:00Z", "ends_at": "2027-07-15T00:00:00Z",
        "reason": "summer"}, token=network["west"])
    assert {"starts_at": "2027-07-01T00:00:00+00:00",
            "ends_at": "2027-07-15T00:00:00+00:00"} in marked["busy"]
    status, _, problem = client.request("POST", f"/v1/hubs/{EAST}/meetings",
                                        session_body(expert, f"{EAST}.eng-z",
                                                     "2027-07-06T09:00"), token=network["east"])
    assert status == 409 and problem["constraint"] == "expert_slots_expert_free"
    assert client.request("POST", f"/v1/experts/{expert}/unavailability", {
        "hub_id": EAST, "starts_at": "2027-08-01T00:00:00Z",
        "ends_at": "2027-08-02T00:00:00Z"}, token=network["east"])[0] == 422


def test_every_read_model_rebuilt_from_the_log_is_the_one_kept_live(network, platform):
    db = platform["databases"]["scheduling"]
    tables = ("meetings_view", "meeting_responses", "blackouts_view", "expert_slots")

    def read_models():
        return {t: sorted(map(repr, query(db, f"SELECT * FROM {t}"))) for t in tables}
    live = read_models()
    assert live["meetings_view"] and live["meeting_responses"]
    query(db, "UPDATE meetings_view SET sequence = 99")
    cli("projections", "rebuild", "--service", "scheduling", "--database-url", db)
    assert read_models() == live


def test_dates_shown_are_aware(network):
    meeting = schedule(network, rrule=None, starts_at="2027-09-09T09:00", title="x")
    start = dt.datetime.fromisoformat(meeting["occurrences"][0]["starts_at"])
    assert start.utcoffset() == dt.timedelta(0)


def test_the_routes_are_in_the_openapi_document_with_their_constraints(network):
    document = network["client"].ok("GET", "/openapi.json", token=None)
    paths = document["paths"]
    for path in ("/v1/hubs/{hub}/calendar.ics", "/v1/people/{person}/calendar.ics",
                 "/v1/calendars/people/{link}.ics", "/v1/calendars/hubs/{link}.ics"):
        assert "text/calendar" in paths[path]["get"]["responses"]["200"]["content"], path
    assert "security" in paths["/v1/hubs/{hub}/calendar.ics"]["get"] or document.get(
        "security")
    assert paths["/v1/calendars/people/{link}.ics"]["get"].get("security") == []
    schemas = document["components"]["schemas"]
    created = schemas["MeetingCreate"]["properties"]
    assert (created["minutes"]["minimum"], created["minutes"]["maximum"]) == (5, 720)
    assert created["kind"]["enum"] == ["network_meeting", "site_visit", "check_in", "webinar",
                                       "expert_session"]
    assert created["starts_at"]["pattern"]
    finding = schemas["FindATime"]["properties"]
    assert finding["people"]["maxItems"] == 300 and finding["limit"]["maximum"] == 50
    window = {p["name"]: p for p in paths["/v1/hubs/{hub}/meetings"]["get"]["parameters"]}
    assert window["from"]["required"] and window["to"]["schema"]["format"] == "date"


@pytest.mark.parametrize("path, body", [
    ("/v1/hubs/sch-west/meetings?from=9999-12-31&to=9999-12-31", None),
    ("/v1/hubs/sch-west/meetings?from=2027-01-01&to=2026-01-01", None),
    ("/v1/hubs/sch-west/find-a-time", {"from": "9999-12-30", "to": "9999-12-31",
                                       "minutes": 60}),
    ("/v1/experts/sch-west.nobody/busy?from=9999-12-31T23:00:00-05:00&to=2027-01-01T00:00:00Z",
     None),
])
def test_dates_at_the_ends_of_the_calendar_are_refused_not_a_500(network, path, body):
    method = "GET" if body is None else "POST"
    status, headers, problem = network["client"].request(method, path, body,
                                                         token=network["west"])
    assert 400 <= status < 500 and headers["content-type"] == "application/problem+json", \
        (status, problem)


# Every scheduling route with another hub's token: 404 (or 403), never its data.
def test_another_hubs_facilitator_reaches_nothing_of_west_by_any_route(network):
    client, east, people = network["client"], network["east"], network["people"]
    meeting = schedule(network, rrule=None, starts_at="2027-10-05T09:00", title="West only")
    key = meeting["occurrences"][0]["occurrence"]
    camino = network["members"]["Camino"]
    blackout = client.ok("POST", f"/v1/members/{camino}/blackouts", {
        "starts_on": "2027-10-11", "ends_on": "2027-10-11", "reason": "no substitutes"},
        token=network["west"])
    person = people[("Camino", "driver")]
    m = f"/v1/meetings/{meeting['id']}"
    for method, path, body in (
            ("GET", m, None),
            ("POST", f"{m}/reschedule", {"starts_at": "2027-10-06T09:00"}),
            ("POST", f"{m}/cancellation", {"reason": "x"}),
            ("POST", f"{m}/recording", {"link": "https://example.org/r"}),
            ("POST", f"{m}/rsvps", {"occurrence": key, "person_id": person, "answer": "yes"}),
            ("POST", f"{m}/attendance", {"occurrence": key, "present": [person]}),
            ("POST", f"{m}/feedback", {"occurrence": key, "person_id": person, "stars": 5}),
            ("POST", f"/v1/hubs/{WEST}/meetings", {"kind": "webinar", "title": "x",
                                                   "starts_at": "2027-10-07T09:00",
                                                   "minutes": 60}),
            ("GET", f"/v1/hubs/{WEST}/meetings?from=2027-01-01&to=2027-12-31", None),
            ("GET", f"/v1/hubs/{WEST}/feedback", None),
            ("POST", f"/v1/hubs/{WEST}/find-a-time", {"from": "2027-10-04",
                                                      "to": "2027-10-08", "minutes": 60}),
            ("POST", f"/v1/members/{camino}/blackouts", {"starts_on": "2027-10-12",
                                                         "ends_on": "2027-10-12",
                                                         "reason": "x"}),
            ("GET", f"/v1/members/{camino}/blackouts", None),
            ("DELETE", f"/v1/blackouts/{blackout['id']}", None),
            ("GET", f"/v1/hubs/{WEST}/calendar.ics", None),
            ("GET", f"/v1/people/{person}/calendar.ics", None),
            ("PUT", f"/v1/people/{person}/calendar-link", None),
            ("PUT", f"/v1/hubs/{WEST}/calendar-link", None)):
        status, _, answer = client.request(method, path, body, token=east)
        assert status in (403, 404), (method, path, status, answer)
        # (A 404 names the id the path gave, the caller's own words; nothing of West's.)
        assert "West only" not in json.dumps(answer) and "Camino" not in json.dumps(answer)
    # And nothing changed: the meeting and the blackout are as West left them.
    assert client.ok("GET", m, token=network["west"])["sequence"] == 0
    assert client.ok("GET", f"/v1/members/{camino}/blackouts",
                     token=network["west"])["items"][0]["withdrawn"] is False
