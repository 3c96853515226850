"""The state summary, ``GET /v1/agency/summary`` (issue 19): each hub of the agency's state in
aggregate, as each service (the data's owner) publishes its part: counts of 1 to 10 suppressed,
with what is derived from them, and enough other cells that no suppressed one can be worked
back out of the totals. Eleven shows, ten does not, on both sides of every small group here:
members in a band, people attending, raters of feedback."""

from __future__ import annotations

import json

import pytest

from eventstore.disclosure import TOTAL, small
from tests.integration.http import ADMIN, token
from tests.support import query, wait_until
from tests.unit.test_disclosure import recomputable

HUB = "sum-ca"
SECRETS = ("Teodora Okafor", "teodora.okafor@example.org", "the roads were icy again",
           "Modoc Ridge reading night")


@pytest.fixture(scope="module")
def network(platform):
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": HUB, "name": "Sum county office", "state": "CA",
                                   "facilitator_org": "Partner"})
    client.ok("POST", "/v1/hubs", {"id": "sum-nv", "name": "Nye county office",
                                   "state": "NV", "facilitator_org": "Partner"})
    members, drivers = [], []
    # Eleven small districts (one band) and ten schools (another).
    for i, (kind, enrollment) in enumerate([("district", 50)] * 11 + [("school", 300)] * 10):
        member = client.ok("POST", f"/v1/hubs/{HUB}/members", {
            "name": f"Sum {kind} {i}", "kind": kind, "grade_span": "K-8",
            "enrollment": enrollment})["id"]
        name = "Teodora Okafor" if i == 0 else f"Driver {i}"
        person = client.ok("POST", f"/v1/hubs/{HUB}/people", {
            "name": name, "email": f"driver{i}@example.org" if i else SECRETS[1]})["id"]
        client.ok("POST", f"/v1/members/{member}/roles", {"person_id": person,
                                                           "role": "driver"})
        members.append(member)
        drivers.append(person)
    wait_until(lambda: query(platform["databases"]["scheduling"],
                             "SELECT count(*) FROM directory_roles WHERE hub_id = %s AND held",
                             (HUB,))[0][0] == 21, what="scheduling to hear of the drivers")
    facilitator = token("facilitator", [HUB])

    def held(kind, title, starts_at, present, stars):
        meeting = client.ok("POST", f"/v1/hubs/{HUB}/meetings", {
            "kind": kind, "title": title, "starts_at": starts_at, "minutes": 60,
            "roles": ["driver"]}, token=facilitator)
        path = f"/v1/meetings/{meeting['id']}"
        client.ok("POST", f"{path}/attendance", {"present": present}, token=facilitator)
        for person in present:
            client.ok("POST", f"{path}/feedback", {"person_id": person, "stars": stars,
                                                   "comment": SECRETS[2]}, token=facilitator)
    held("network_meeting", SECRETS[3], "2026-11-03T15:30", drivers[:11], 4)
    held("webinar", "Webinar", "2026-11-10T15:30", drivers[:10], 5)
    return {"members": members, "drivers": drivers}


def summary_of(client, state):
    return client.ok("GET", "/v1/agency/summary", token=token("agency", state=state))


def hidden_cells(rows):
    return {(r, c) for r, row in rows.items() for c, n in row.items() if n is None}


def original(rows, known):
    """The table the service counted (without totals), from what is shown and the counts
    the test knows it wrote."""
    return {r: {c: n if n is not None else known[(r, c)] for c, n in row.items() if c != TOTAL}
            for r, row in rows.items() if r != TOTAL}


def test_eleven_shows_ten_does_not_and_nothing_hidden_can_be_worked_out(platform, network):
    found = summary_of(platform["client"], "CA")
    assert found["state"] == "CA" and found["unreachable"] == []
    (hub,) = [h for h in found["hubs"] if h["id"] == HUB]
    assert hub["hub"]["name"] == "Sum county office"
    members = hub["members"]["rows"]
    assert members["district"]["under 100"] == 11
    assert members["school"]["100 to 499"] is None
    assert sorted(map(tuple, hub["members"]["suppressed"])) == sorted(hidden_cells(members))
    # Not the school row's total either, nor anything that would give it: the reader's
    # linear system, solved, determines no hidden count.
    table = original(members, {("school", "100 to 499"): 10, ("school", "under 100"): 0,
                               ("district", "100 to 499"): 0})
    assert recomputable(table, hidden_cells(members)) == set()
    held = hub["meetings_held"]["rows"]
    assert held["meetings"]["network_meeting"] is None   # one meeting: a count under 11
    attending = hub["attendance"]["rows"]["people attending"]
    # Ten is hidden; then eleven too, its complement (21 less 11 would give the ten away).
    assert attending["webinar"] is None and attending["network_meeting"] is None
    assert attending[TOTAL] == 21
    assert hub["feedback"]["network_meeting"] == {"raters": 11, "average_stars": 4.0}
    assert hub["feedback"]["webinar"] == {"raters": None, "average_stars": None}
    assert hub["expert_sessions"] == {"engagements": 0, "sessions_used": 0,
                                      "pooled_cost_cents": 0, "saved_cents": 0}
    assert hub["projects_by_phase"] == {"rows": {}, "suppressed": []}


def test_no_person_and_no_word_a_person_wrote_leaves(platform, network):
    text = json.dumps(summary_of(platform["client"], "CA"))
    assert not [s for s in SECRETS if s in text]
    assert not [p for p in network["drivers"] if p in text]
    assert not [m for m in network["members"] if m in text]


def test_another_state_sees_none_of_these_hubs_and_only_agencies_read_it(platform, network):
    client = platform["client"]
    nevada = summary_of(client, "NV")
    assert [h["id"] for h in nevada["hubs"]] == ["sum-nv"] and HUB not in json.dumps(nevada)
    for who in (token("facilitator", [HUB]), ADMIN, token("operator")):
        assert client.request("GET", "/v1/agency/summary", token=who)[0] == 403
    # An agency token is 403 on every other route.
    assert client.request("GET", f"/v1/hubs/{HUB}/members",
                          token=token("agency", state="CA"))[0] == 403


def test_every_small_count_in_the_summary_is_hidden(platform, network):
    for hub in summary_of(platform["client"], "CA")["hubs"]:
        for name, section in hub.items():
            if isinstance(section, dict) and "rows" in section:
                shown = [n for row in section["rows"].values() for n in row.values()]
                assert not [n for n in shown if small(n)], (hub["id"], name)
