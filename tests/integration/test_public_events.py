"""What a state agency may read of each service's log (issue 19's first part): the events of
its state's hubs that have a public form, as CloudEvents, with no person in them; read page by
page after a cursor, never an event missed or twice. Real services; the agencies' feed over
HTTP comes next (the issue stays open)."""

from __future__ import annotations

import json

import pytest
from cloudevents.core.formats.json import JSONFormat

from eventstore.errors import Forbidden, ValidationError
from eventstore.identity import Identity
from tests.integration.http import token
from tests.support import query, wait_until
from tests.unit.test_asyncapi import CLOUDEVENTS

CDE = Identity(sub="cde-reader", role="agency", state="CA")
NEVADA = Identity(sub="nde-reader", role="agency", state="NV")
SECRETS = ("Ana Lopez", "ana.lopez@example.org", "snow closed the roads", "Sierra Math")


@pytest.fixture(scope="module")
def network(platform):
    client = platform["client"]
    for hub, state in (("pub-ca", "CA"), ("pub-nv", "NV")):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county office",
                                       "state": state, "facilitator_org": "Partner"})
    tiny = client.ok("POST", "/v1/hubs/pub-ca/members", {
        "name": "Indian Diggings Elementary", "kind": "district", "grade_span": "K-8",
        "enrollment": 7})["id"]
    large = client.ok("POST", "/v1/hubs/pub-ca/members", {
        "name": "Buckeye Union", "kind": "district", "grade_span": "K-8",
        "enrollment": 4_800})["id"]
    client.ok("POST", "/v1/hubs/pub-nv/members", {
        "name": "Eureka County SD", "kind": "district", "grade_span": "K-12",
        "enrollment": 250})
    person = client.ok("POST", "/v1/hubs/pub-ca/people", {
        "name": "Ana Lopez", "email": "ana.lopez@example.org"})["id"]
    client.ok("POST", f"/v1/members/{large}/roles", {"person_id": person, "role": "driver"})
    facilitator = token("facilitator", ["pub-ca"])
    wait_until(lambda: query(platform["databases"]["scheduling"],
                             "SELECT count(*) FROM directory_members WHERE id = %s",
                             (large,))[0][0] == 1, what="scheduling to hear of the member")
    meeting = client.ok("POST", "/v1/hubs/pub-ca/meetings", {
        "kind": "network_meeting", "title": "Sierra Math night", "starts_at":
        "2027-01-14T09:00", "minutes": 60}, token=facilitator)
    client.ok("POST", f"/v1/meetings/{meeting['id']}/cancellation",
              {"reason": "snow closed the roads"}, token=facilitator)
    return {"tiny": tiny, "large": large, "person": person}


def read_all(service, caller, limit):
    events, cursor = [], [0, 0]
    while True:
        page = service.rpc("public_events", cursor, limit, caller=caller)
        events += page["events"]
        if not page["more"]:
            return events, page["next"]
        cursor = page["next"]


def test_an_agency_reads_its_states_public_events_with_no_person_in_them(platform, network):
    membership = platform["services"]["membership"]
    events, _ = read_all(membership, CDE, 500)
    types = [e["type"].rsplit(".", 1)[1] for e in events]
    assert {"HubRegistered", "MemberEnrolled", "RoleAssigned"} <= set(types)
    assert "PersonAdded" not in types
    assert all(e["hub"] == "pub-ca" for e in events if e.get("hub") in ("pub-ca", "pub-nv"))
    assert not [e for e in events if "pub-nv" in json.dumps(e)]
    text = json.dumps(events)
    assert not [s for s in SECRETS if s in text] and network["person"] not in text
    enrolled = {e["subject"]: e["data"] for e in events if e["type"].endswith("MemberEnrolled")}
    assert enrolled[network["tiny"]]["enrollment"] is None
    assert enrolled[network["tiny"]]["suppressed"] == ["enrollment"]
    assert enrolled[network["large"]]["enrollment"] == 4_800
    for event in events:
        read = JSONFormat().read(None, json.dumps(event))
        assert read.get_specversion() == "1.0" and read.get_id() == event["id"]


def test_what_has_no_public_form_does_not_leave(platform, network):
    # A meeting's events have no contract yet (the state summary will need some): none of a
    # meeting, its title or its reason leaves scheduling.
    scheduling = platform["services"]["scheduling"]
    assert query(platform["databases"]["scheduling"], "SELECT count(*) FROM events "
                 "WHERE type = 'MeetingCancelled'")[0][0] >= 1
    events, _ = read_all(scheduling, CDE, 500)
    assert events == []


def test_another_states_agency_sees_none_of_it(platform, network):
    events, _ = read_all(platform["services"]["membership"], NEVADA, 500)
    assert events and all("pub-ca" not in json.dumps(e) for e in events)
    assert any(e.get("subject") == "pub-nv" for e in events)


def test_pages_after_a_cursor_are_the_whole_log_once_in_order(platform, network):
    membership = platform["services"]["membership"]
    whole, head = read_all(membership, CDE, 5000)
    paged, paged_head = read_all(membership, CDE, 3)
    assert [e["id"] for e in paged] == [e["id"] for e in whole]
    assert paged_head == head
    # Nothing new: the page after the head is empty and stays there.
    again = membership.rpc("public_events", head, 10, caller=CDE)
    assert again["events"] == [] and again["next"] == head and not again["more"]
    # Something new: it comes after the head, once.
    platform["client"].ok("POST", "/v1/hubs/pub-ca/members", {
        "name": "Pioneer Union", "kind": "district", "grade_span": "K-8", "enrollment": 300})
    later = membership.rpc("public_events", head, 10, caller=CDE)
    assert [e["data"]["name"] for e in later["events"]] == ["Pioneer Union"]


@pytest.mark.parametrize("caller", [Identity(sub="f", role="facilitator", hubs=("pub-ca",)),
                                    Identity(sub="a", role="admin", hubs=("*",)),
                                    Identity(sub="x", role="agency")])
def test_only_an_agency_of_a_state_reads_it(platform, caller):
    with pytest.raises(Forbidden):
        platform["services"]["membership"].rpc("public_events", [0, 0], 10, caller=caller)


@pytest.mark.parametrize("after", [["a", 0], [0], "0,0", None])
def test_a_cursor_that_is_not_one_is_refused(platform, after):
    with pytest.raises(ValidationError):
        platform["services"]["membership"].rpc("public_events", after, 10, caller=CDE)


# -- the agencies' feed over HTTP ------------------------------------------------------------

def feed(client, bearer, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.request("GET", f"/v1/feed?{query}", token=bearer)


def read_feed(client, bearer, limit):
    items, after = [], None
    while True:
        status, _, page = feed(client, bearer, limit=limit, **({"after": after} if after else {}))
        assert status == 200, page
        items += page["items"]
        after = page["next"]
        if not page["items"]:
            return items, after


def test_an_agency_follows_the_feed_of_every_service_each_event_once(platform, network):
    client = platform["client"]
    cde = token("agency", [], state="CA", sub="cde-feed")
    whole, head = read_feed(client, cde, 200)
    paged, _ = read_feed(client, cde, 3)
    ids = [e["id"] for e in whole]
    assert [e["id"] for e in paged] == ids and len(set(ids)) == len(ids)
    assert "urn:consortium-platform:membership" in {e["source"] for e in whole}
    text = json.dumps(whole)
    assert not [s for s in SECRETS if s in text] and "pub-nv" not in text
    for event in whole:
        assert JSONFormat().read(None, json.dumps(event)).get_specversion() == "1.0"
        CLOUDEVENTS.validate(event)   # what the SDK does not check, the JSON schema does
    # Caught up: an empty page and a cursor that still goes on; a new event comes once.
    status, _, quiet = feed(client, cde, after=head)
    assert status == 200 and quiet["items"] == [] and quiet["next"]
    client.ok("POST", "/v1/hubs/pub-ca/members", {
        "name": "Gold Trail Union", "kind": "district", "grade_span": "K-8",
        "enrollment": 600})
    status, _, new = feed(client, cde, after=quiet["next"], wait=10)
    assert [e["data"]["name"] for e in new["items"]] == ["Gold Trail Union"]
    status, _, after_it = feed(client, cde, after=new["next"])
    assert after_it["items"] == []


def test_a_caught_up_reader_waits_in_the_gateway_then_gets_an_empty_page(platform, network):
    import time
    client = platform["client"]
    cde = token("agency", [], state="CA", sub="cde-wait")
    _, head = read_feed(client, cde, 200)
    started = time.monotonic()
    status, _, page = feed(client, cde, after=head, wait=2)
    assert status == 200 and page["items"] == [] and time.monotonic() - started >= 2


def test_the_feed_is_an_agencys_and_its_cursor_its_own(platform, network):
    client = platform["client"]
    cde = token("agency", [], state="CA", sub="cde-1")
    _, head = read_feed(client, cde, 200)
    assert feed(client, token("facilitator", ["pub-ca"]))[0] == 403
    assert feed(client, token("admin", ["*"]))[0] == 403
    # An agency's token anywhere else is refused.
    assert client.request("GET", "/v1/hubs/pub-ca/members", token=cde)[0] == 403
    # Another agency's cursor, and one edited by hand: 422 naming after, never from zero.
    other = token("agency", [], state="CA", sub="cde-2")
    edited = head[:-1] + ("A" if head[-1] != "A" else "B")
    for bearer, cursor in ((other, head), (cde, edited), (cde, "not-a-cursor")):
        status, _, problem = feed(client, bearer, after=cursor)
        assert status == 422 and "after" in problem["errors"], problem
    for params in ({"limit": 0}, {"limit": 1001}, {"wait": 31}, {"wait": -1}, {"colour": "red"}):
        assert feed(client, cde, **params)[0] == 422, params
    assert feed(client, cde, limit=1000)[0] == 200   # a catch-up's page: up to 1,000


def test_another_states_agency_reads_nothing_of_these_hubs(platform, network):
    nevada = token("agency", [], state="NV", sub="nde")
    items, _ = read_feed(platform["client"], nevada, 200)
    assert items and "pub-ca" not in json.dumps(items)
