"""The expert-session process between scheduling and resources, under faults: scheduling books
an expert's time for a session of an engagement and asks resources to count it; resources
counts it or refuses it with a reason, and scheduling confirms or releases the booking. The same
request delivered twice counts once; resources killed while a request waits decides it when it
is back; a refusal frees the expert's time. Real processes, each as its own broker user (a
module of its own: it kills services)."""

from __future__ import annotations

import kombu
import pytest

from tests.integration.conftest import start_service
from tests.integration.http import token
from tests.support import query, wait_until

HUB = "ses-hub"
REQUESTS = "evt-scheduling-ExpertSessionRequested--resources.on_expert_session_requested"
DUPLICATES = ('consumer_events_total{consumer="on_expert_session_requested",'
              'outcome="duplicate"}')


@pytest.fixture(scope="module")
def engagement(platform):
    """A hub engages an expert for two sessions; scheduling knows the expert."""
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": HUB, "name": "Session County Office", "state": "OR",
                                   "facilitator_org": "Partner nonprofit"})
    member = client.ok("POST", f"/v1/hubs/{HUB}/members", {
        "name": "Harney County SD 3", "kind": "district", "grade_span": "K-12",
        "enrollment": 210})["id"]
    wait_until(lambda: query(platform["databases"]["resources"],
                             "SELECT count(*) FROM directory_members WHERE id = %s",
                             (member,))[0][0] == 1, what="resources to hear of the member")
    facilitator = token("facilitator", [HUB])
    expert = client.ok("POST", "/v1/experts", {
        "hub_id": HUB, "name": "Dr. Ana Ruiz", "organisation": "High Desert Literacy",
        "bio": "Running records.", "expertise": ["literacy"], "rate_cents": 90_000,
        "travels": True, "travel_cost_cents": 25_000, "sharing": "consortium"},
        token=facilitator)["id"]
    proposed = client.ok("POST", "/v1/engagements", {
        "hub_id": HUB, "expert_id": expert, "members": [member], "sessions": 2,
        "split": "equal"}, token=facilitator)
    client.ok("POST", f"/v1/engagements/{proposed['id']}/confirmation", None,
              token=facilitator)
    wait_until(lambda: query(platform["databases"]["scheduling"],
                             "SELECT count(*) FROM experts_known WHERE id = %s",
                             (expert,))[0][0] == 1, what="scheduling to hear of the expert")
    return {"client": client, "id": proposed["id"], "expert": expert, "token": facilitator}


def book(engagement, day):
    return engagement["client"].ok("POST", f"/v1/hubs/{HUB}/meetings", {
        "kind": "expert_session", "title": "Running records", "starts_at":
        f"2027-02-{day:02d}T09:00", "minutes": 120, "expert_id": engagement["expert"],
        "engagement_id": engagement["id"]}, token=engagement["token"])


def session_of(engagement, meeting_id):
    return engagement["client"].ok("GET", f"/v1/meetings/{meeting_id}",
                                   token=engagement["token"])


def decided(engagement, meeting_id):
    return wait_until(lambda: (found := session_of(engagement, meeting_id))["session"]
                      != "requested" and found, timeout=60,
                      what=f"resources to decide on {meeting_id}")


def sessions_left(engagement):
    return engagement["client"].ok("GET", f"/v1/engagements/{engagement['id']}",
                                   token=engagement["token"])["sessions_left"]


def test_a_request_waiting_while_resources_is_down_is_decided_when_it_is_back(
        platform, engagement):
    platform["services"]["resources"].kill()
    try:
        booked = book(engagement, 1)
        assert booked["session"] == "requested"
    finally:
        platform["services"]["resources"] = start_service(
            "resources", platform["databases"]["resources"], platform["amqp"])
    assert decided(engagement, booked["id"])["session"] == "confirmed"


def test_a_redelivered_request_counts_once_and_the_one_too_many_is_released(
        platform, engagement, amqp_uri):
    resources = platform["services"]["resources"]
    first = book(engagement, 8)
    assert decided(engagement, first["id"])["session"] == "confirmed"
    recorded = "SELECT count(*) FROM events WHERE type = 'ExpertSessionRecorded'"
    count = query(platform["databases"]["resources"], recorded)[0][0]
    left = sessions_left(engagement)

    # scheduling's request, delivered to resources again: decided nothing again.
    requests = platform["services"]["scheduling"].rpc(
        "read_events", [0, 0], 500, ["ExpertSessionRequested"])["events"]
    (again,) = [e for e in requests if e["stream_id"] == first["id"]]
    seen = resources.metric(DUPLICATES)
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(again, exchange="", routing_key=REQUESTS,
                                               serializer="json")
    wait_until(lambda: resources.metric(DUPLICATES) == seen + 1, what="the duplicate seen")
    assert query(platform["databases"]["resources"], recorded)[0][0] == count
    assert sessions_left(engagement) == left

    # Booking until the sessions are used: the last one is released with resources' words,
    # and its time is free again.
    for day in (15, 22, 23):
        booked = book(engagement, day)
        found = decided(engagement, booked["id"])
        if found["session"] == "released":
            break
    assert found["reason"] == "every session the engagement bought is used"
    busy = engagement["client"].ok(
        "GET", f"/v1/experts/{engagement['expert']}/busy?from=2027-02-01T00:00:00Z"
               "&to=2027-03-01T00:00:00Z", token=engagement["token"])["busy"]
    assert found["occurrences"][0]["starts_at"] not in {b["starts_at"] for b in busy}
    assert sessions_left(engagement) == 0
    # The refusal is resources' consequence of scheduling's request.
    cause = query(platform["databases"]["scheduling"],
                  "SELECT event_id::text FROM events WHERE stream_id = %s "
                  "AND type = 'ExpertSessionRequested'", (booked["id"],))[0][0]
    assert query(platform["databases"]["resources"],
                 "SELECT metadata->>'causation_id' FROM events WHERE type = "
                 "'ExpertSessionRefused' AND data->>'request_id' = %s",
                 (booked["id"],))[0][0] == cause
    for name in ("resources", "scheduling"):
        assert platform["services"][name].rpc("dead_letters") == []
