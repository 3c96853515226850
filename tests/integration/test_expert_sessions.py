"""The expert-session process (issue 17, completed by scheduling in issue 18): a hub books a
shared expert's time for a session of an engagement; resources counts it against the
engagement or refuses it with a reason, and the booking is confirmed or released with
resources' words; a cancelled booking gives its session back. The real platform (membership,
cycles, resources and the gateway, each as its own broker user) and the planner fixture run
under scheduling's name, as scheduling will."""

from __future__ import annotations

import kombu
import pytest

from tests.integration.http import token
from tests.support import ServiceProcess, delete_queues, query, wait_until

NORTH, SOUTH, EAST = "ses-north", "ses-south", "ses-east"
REQUESTS = "evt-scheduling-ExpertSessionRequested--resources.on_expert_session_requested"
DUPLICATES = ('consumer_events_total{consumer="on_expert_session_requested",'
              'outcome="duplicate"}')


@pytest.fixture(scope="module")
def planner(platform, new_database, amqp_uri):
    delete_queues(amqp_uri, REQUESTS,
                  "evt-resources-ExpertSessionRecorded--scheduling.on_session_recorded",
                  "evt-resources-ExpertSessionRefused--scheduling.on_session_refused")
    process = ServiceProcess("scheduling", "tests.fixtures.planner.service:Planner",
                             new_database(), amqp_uri)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def network(platform):
    """Three hubs with a member each; North adds an expert shared with every hub."""
    client = platform["client"]
    members = {}
    for hub in (NORTH, SOUTH, EAST):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county", "state": "CA",
                                       "facilitator_org": "Partner nonprofit"})
        members[hub] = client.ok("POST", f"/v1/hubs/{hub}/members", {
            "name": f"{hub} district", "kind": "district", "grade_span": "K-8",
            "enrollment": 120})["id"]
    wait_until(lambda: query(platform["databases"]["resources"],
                             "SELECT count(*) FROM directory_members WHERE id = ANY(%s)",
                             (list(members.values()),))[0][0] == 3,
               what="resources to hear of every member")
    north = token("facilitator", [NORTH])
    expert = client.ok("POST", "/v1/experts", {
        "hub_id": NORTH, "name": "Dr. Rosa Quintero", "organisation": "Sierra Math Coaching",
        "bio": "Number talks.", "expertise": ["math"], "rate_cents": 100_000,
        "travels": False, "travel_cost_cents": 0, "sharing": "consortium"}, token=north)
    return {"client": client, "members": members, "expert": expert["id"], "north": north,
            "south": token("facilitator", [SOUTH])}


@pytest.fixture
def engagement(network):
    """North engages the expert for two sessions, South joins; East takes no part."""
    client, north = network["client"], network["north"]
    proposed = client.ok("POST", "/v1/engagements", {
        "hub_id": NORTH, "expert_id": network["expert"],
        "members": [network["members"][NORTH]], "sessions": 2, "split": "equal"}, token=north)
    path = f"/v1/engagements/{proposed['id']}"
    client.ok("POST", f"{path}/hubs", {"hub_id": SOUTH, "members": [network["members"][SOUTH]]},
              token=network["south"])
    client.ok("POST", f"{path}/confirmation", None, token=north)
    return {"id": proposed["id"], "expert": network["expert"], "path": path, "north": north,
            "key": proposed["id"].rsplit("-", 1)[-1]}


def book(planner, hub, booking, engagement, expert, day):
    return planner.rpc("book_expert_session", hub, {
        "id": booking, "engagement_id": engagement, "expert_id": expert,
        "starts_at": f"2027-02-{day:02d}T17:00:00+00:00",
        "ends_at": f"2027-02-{day:02d}T19:00:00+00:00"})


def decided(planner, booking):
    wait_until(lambda: planner.rpc("get_expert_session", booking)["status"] != "requested",
               what=f"resources to decide on {booking}")
    return planner.rpc("get_expert_session", booking)


def sessions_left(platform, engagement):
    return platform["client"].ok("GET", engagement["path"],
                                 token=engagement["north"])["sessions_left"]


def test_sessions_are_counted_until_used_up_then_refused_with_the_reason(
        platform, planner, engagement):
    ids, key = (engagement["id"], engagement["expert"]), engagement["key"]
    book(planner, NORTH, f"{key}-1", *ids, day=3)
    assert decided(planner, f"{key}-1")["status"] == "confirmed"
    book(planner, SOUTH, f"{key}-2", *ids, day=10)
    second = decided(planner, f"{key}-2")
    assert (second["status"], second["number"]) == ("confirmed", 2)
    assert sessions_left(platform, engagement) == 0
    book(planner, NORTH, f"{key}-3", *ids, day=17)
    released = decided(planner, f"{key}-3")
    assert released["status"] == "released"
    assert released["reason"] == "every session the engagement bought is used"
    # The refusal is recorded as resources' consequence of scheduling's request.
    cause = query(planner.database_url, "SELECT event_id::text FROM events "
                  "WHERE stream_id = %s AND type = 'ExpertSessionRequested'",
                  (f"{key}-3",))[0][0]
    assert query(platform["databases"]["resources"],
                 "SELECT metadata->>'causation_id' FROM events WHERE type = "
                 "'ExpertSessionRefused' AND data->>'request_id' = %s",
                 (f"{key}-3",))[0][0] == cause


def test_a_hub_outside_the_engagement_learns_nothing_of_whether_it_exists(
        planner, engagement):
    key = engagement["key"]
    book(planner, EAST, f"{key}-e1", engagement["id"], engagement["expert"], day=4)
    book(planner, EAST, f"{key}-e2", f"{NORTH}.eng-nowhere-{key}", engagement["expert"], day=5)
    outside, unknown = decided(planner, f"{key}-e1"), decided(planner, f"{key}-e2")
    assert outside["status"] == unknown["status"] == "released"
    assert outside["reason"] == unknown["reason"] == "your hub is not in this engagement"
    # Another expert's time booked against this engagement is not counted against it.
    book(planner, NORTH, f"{key}-x", engagement["id"], f"{NORTH}.exp-someone-else", day=6)
    assert decided(planner, f"{key}-x")["reason"] == "this engagement is of another expert"


def test_a_cancelled_session_goes_back_and_a_redelivered_request_counts_once(
        platform, planner, engagement, amqp_uri):
    resources, key = platform["services"]["resources"], engagement["key"]
    ids = (engagement["id"], engagement["expert"])
    for n, day in ((1, 3), (2, 10)):
        book(planner, NORTH, f"{key}-{n}", *ids, day=day)
        assert decided(planner, f"{key}-{n}")["status"] == "confirmed"
    # The first is cancelled (a snow day): its session goes back to the engagement.
    planner.rpc("cancel_expert_session", f"{key}-1", {"reason": "snow day"})
    wait_until(lambda: sessions_left(platform, engagement) == 1,
               what="the cancelled session back in the engagement")
    book(planner, SOUTH, f"{key}-3", *ids, day=24)
    assert decided(planner, f"{key}-3")["status"] == "confirmed"
    assert sessions_left(platform, engagement) == 0
    recorded = "SELECT count(*) FROM events WHERE type = 'ExpertSessionRecorded'"
    count = query(platform["databases"]["resources"], recorded)[0][0]

    # scheduling's request for the third, delivered to resources again: decided nothing again.
    requests = planner.rpc("read_events", [0, 0], 200, ["ExpertSessionRequested"])["events"]
    (again,) = [e for e in requests if e["stream_id"] == f"{key}-3"]
    seen = resources.metric(DUPLICATES)
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(again, exchange="", routing_key=REQUESTS,
                                               serializer="json")
    wait_until(lambda: resources.metric(DUPLICATES) == seen + 1, what="the duplicate seen")
    assert query(platform["databases"]["resources"], recorded)[0][0] == count
    assert sessions_left(platform, engagement) == 0
    assert resources.rpc("dead_letters") == [] and planner.rpc("dead_letters") == []
