"""The resources slice end to end, over HTTP, through the real gateway and services: two hubs
share a library and a pool of experts, and engage one expert together, each seeing only its own
part of the cost; an expert's personal data is erased from every table."""

from __future__ import annotations

import uuid

import pytest

from eventstore.personal import tables_holding
from tests.integration.http import token
from tests.support import cli, query, wait_until

NORTH, SOUTH, EAST = "res-north", "res-south", "res-east"
LINK = "https://ies.ed.gov/ncee/wwc/PracticeGuide/16"


@pytest.fixture(scope="module")
def hubs(platform):
    """Three hubs with members, known to the resources service (its directory)."""
    client = platform["client"]
    members = {}
    for hub, state, enrollments in ((NORTH, "CA", (503, 1293)), (SOUTH, "NV", (89,)),
                                    (EAST, "OR", (40,))):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county", "state": state,
                                       "facilitator_org": "Partner nonprofit"})
        members[hub] = [client.ok("POST", f"/v1/hubs/{hub}/members", {
            "name": f"{hub} district {n}", "kind": "district", "grade_span": "K-8",
            "enrollment": enrollment})["id"] for n, enrollment in enumerate(enrollments)]
    every = [m for ids in members.values() for m in ids]
    wait_until(lambda: query(platform["databases"]["resources"],
                             "SELECT count(*) FROM directory_members WHERE id = ANY(%s) "
                             "AND name IS NOT NULL", (every,))[0][0] == len(every),
               what="resources to hear of every member")
    return {"client": client, "members": members,
            "north": token("facilitator", [NORTH], sub="nora"),
            "south": token("facilitator", [SOUTH], sub="sam"),
            "east": token("facilitator", [EAST], sub="eve")}


def entry(hub, **fields):
    return {"hub_id": hub, "kind": "research", "title": "Improving Mathematical Problem "
            "Solving in Grades 4 Through 8", "summary": "Practice guide: multi-step problems.",
            "link": LINK, "tags": ["math", "persistence"], "subject": "math",
            "grade_band": "3-8", "visibility": "consortium", **fields}


def test_a_shared_entry_is_found_by_other_hubs_and_a_hub_only_one_never(hubs):
    client, north, south = hubs["client"], hubs["north"], hubs["south"]
    shared = client.ok("POST", "/v1/resources", entry(NORTH), token=north)
    own = client.ok("POST", "/v1/resources", entry(
        NORTH, title="North's fishbone of multi-step problems", visibility="hub"), token=north)
    assert shared["revision"] == 1 and shared["rating"] == {"count": 0, "average": None}
    found = client.ok("GET", "/v1/resources?q=multi-step&tag=math", token=south)
    ids = [item["id"] for item in found["items"]]
    assert shared["id"] in ids and own["id"] not in ids
    assert found["facets"]["kind"].get("research", 0) == len(
        [i for i in found["items"] if i["kind"] == "research"])
    assert "<mark>" in found["items"][ids.index(shared["id"])]["highlight"]["summary"]
    mine = client.ok("GET", "/v1/resources?q=fishbone", token=north)
    assert [item["id"] for item in mine["items"]] == [own["id"]]
    # Another hub's hub-only entry answers as an unknown one does, word for word.
    hidden = client.request("GET", f"/v1/resources/{own['id']}", token=south)
    unknown = client.request("GET", f"/v1/resources/{NORTH}.nothing", token=south)
    assert hidden[0] == unknown[0] == 404
    assert hidden[2]["detail"].replace(own["id"], "X") == unknown[2]["detail"].replace(
        f"{NORTH}.nothing", "X")


def test_ratings_revisions_and_retirement(hubs):
    client, north, south = hubs["client"], hubs["north"], hubs["south"]
    created = client.ok("POST", "/v1/resources", entry(NORTH, title="Number talks"),
                        token=north)
    path = f"/v1/resources/{created['id']}"
    client.ok("POST", f"{path}/ratings", {"stars": 2}, token=south)
    client.ok("POST", f"{path}/ratings", {"stars": 5}, token=north)
    rated = client.ok("POST", f"{path}/ratings", {"stars": 4}, token=south)
    assert rated["rating"] == {"count": 2, "average": 4.5}
    for bad in (0, 6, 4.5, "4", True, None):
        status, _, problem = client.request("POST", f"{path}/ratings", {"stars": bad},
                                            token=south)
        assert status == 422 and "stars" in problem["errors"], bad
    revised = client.ok("POST", f"{path}/revisions", {"summary": "Daily number talks.",
                                                       "note": "shorter"}, token=north)
    assert revised["revision"] == 2 and revised["summary"] == "Daily number talks."
    history = client.ok("GET", f"{path}/revisions", token=south)["items"]
    assert [(r["revision"], r["summary"], r["note"]) for r in history] == [
        (1, "Practice guide: multi-step problems.", None), (2, "Daily number talks.", "shorter")]
    # A long history comes in pages, each following the last, none repeated.
    client.ok("POST", f"{path}/revisions", {"tags": ["math"], "note": "third"}, token=north)
    first = client.ok("GET", f"{path}/revisions?limit=2", token=south)
    assert [r["revision"] for r in first["items"]] == [1, 2] and first["next"]
    rest = client.ok("GET", f"{path}/revisions?limit=2&after={first['next']}", token=south)
    assert [r["revision"] for r in rest["items"]] == [3] and rest["next"] is None
    # Its cursor is this caller's for this entry's history: no other list takes it.
    assert client.request("GET", f"{path}/revisions?after={first['next']}",
                          token=north)[0] == 422
    # Only the owner hub's facilitators revise; another hub's is refused, not told more.
    assert client.request("POST", f"{path}/revisions", {"summary": "x"}, token=south)[0] in (
        403, 404)
    client.ok("POST", f"{path}/retirement", {"reason": "superseded"}, token=north)
    assert created["id"] not in [i["id"] for i in client.ok(
        "GET", "/v1/resources?q=number+talks", token=south)["items"]]
    assert client.request("GET", path, token=south)[0] == 404
    assert client.ok("GET", path, token=north)["retired"] is True
    assert client.request("POST", f"{path}/ratings", {"stars": 3}, token=north)[0] == 409


def test_bad_entries_and_searches_are_refused_naming_the_field(hubs):
    client, north = hubs["client"], hubs["north"]
    for field, value in (("link", "ftp://example.org/x"), ("link", "javascript:alert(1)"),
                         ("kind", "novel"), ("visibility", "everyone"), ("title", ""),
                         ("tags", "math")):
        status, _, problem = client.request("POST", "/v1/resources",
                                            entry(NORTH, **{field: value}), token=north)
        assert status == 422 and field in problem["errors"], (field, value)
    member = token("member", [NORTH], member=hubs["members"][NORTH][0])
    status, _, problem = client.request("POST", "/v1/resources", entry(NORTH), token=member)
    assert status == 422 and "kind" in problem["errors"]
    shared = client.ok("POST", "/v1/resources", entry(NORTH, kind="member_share"),
                       token=member)
    assert shared["kind"] == "member_share"
    # A request line of 10,000 characters is refused before it is read (414).
    status, headers, problem = client.request("GET", "/v1/resources?q=" + "a" * 10_000,
                                              token=north)
    assert status == 414 and headers["content-type"] == "application/problem+json"
    assert problem["status"] == 414 and "8192 bytes" in problem["detail"]
    for bad in ("q=" + "a" * 201, "kind=novel", "tag=" + "t" * 200, "after=forged",
                "limit=0", "visibility=everyone", "colour=red"):
        assert client.request("GET", f"/v1/resources?{bad}", token=north)[0] == 422, bad[:20]
    for hostile in ("%26%20%7C%20%21%20%3A%2A", "%22unbalanced", "-", "%22%22", "the"):
        status, _, page = client.request("GET", f"/v1/resources?q={hostile}", token=north)
        assert status == 200 and isinstance(page["items"], list), hostile


def expert(hub, **fields):
    return {"hub_id": hub, "name": "Dr. Rosa Quintero", "email": "rosa@mathcoach.example.org",
            "phone": "+1 530 555 0100", "organisation": "Sierra Math Coaching",
            "bio": "Coaches grade 3-5 teachers on number talks.",
            "expertise": ["math", "number talks"], "rate_cents": 150_000,
            "languages": ["English", "Spanish"], "travels": True, "travel_cost_cents": 42_050,
            **fields}


def test_the_pool_is_shared_and_contact_data_goes_to_hubs_an_expert_serves(hubs):
    client, north, south, east = hubs["client"], hubs["north"], hubs["south"], hubs["east"]
    named = client.ok("POST", "/v1/experts", expert(NORTH, sharing="hubs", hubs=[SOUTH]),
                      token=north)
    assert named["email"] == "rosa@mathcoach.example.org" and named["may_engage"] is True
    seen_south = client.ok("GET", f"/v1/experts/{named['id']}", token=south)
    seen_east = client.ok("GET", f"/v1/experts/{named['id']}", token=east)
    assert seen_south["may_engage"] and seen_south["phone"] == "+1 530 555 0100"
    assert seen_east["name"] == "Dr. Rosa Quintero" and seen_east["may_engage"] is False
    assert seen_east["email"] is None and seen_east["phone"] is None
    listed = client.ok("GET", "/v1/experts?expertise=number+talks", token=east)["items"]
    assert named["id"] in [e["id"] for e in listed]
    for field, value in (("rate_cents", -1), ("rate_cents", 12.5), ("rate_cents", "100"),
                         ("email", "not-an-email"), ("sharing", "some"),
                         ("travel_cost_cents", -5)):
        status, _, problem = client.request("POST", "/v1/experts",
                                            expert(NORTH, **{field: value}), token=north)
        assert status == 422 and field in problem["errors"], (field, value)
    status, _, problem = client.request("POST", "/v1/experts", expert(
        NORTH, travels=False, travel_cost_cents=100), token=north)
    assert status == 422 and "travel_cost_cents" in problem["errors"]


def test_erasure_leaves_no_name_email_or_phone_anywhere(platform, hubs):
    client, north = hubs["client"], hubs["north"]
    name, email = f"Ada {uuid.uuid4().hex[:6]}", f"{uuid.uuid4().hex[:6]}@example.org"
    body = expert(NORTH, name=name, email=email, phone="+1 530 555 0199")
    added = client.ok("POST", "/v1/experts", body, token=north,
                      headers={"Idempotency-Key": "add-ada"})
    database = platform["databases"]["resources"]
    assert tables_holding(database, name, email, "+1 530 555 0199") == {
        "experts_pii": 1, "idempotency_keys": 1}
    erased = client.ok("DELETE", f"/v1/experts/{added['id']}", token=north)
    assert (erased["erased"], erased["name"], erased["email"]) == (True, None, None)
    assert tables_holding(database, name, email, "+1 530 555 0199") == {}
    replayed = client.ok("POST", "/v1/experts", body, token=north,
                         headers={"Idempotency-Key": "add-ada"})
    assert replayed["id"] == added["id"] and replayed["name"] is None
    assert tables_holding(database, name, email, "+1 530 555 0199") == {}
    assert client.request("DELETE", f"/v1/experts/{added['id']}", token=north)[0] == 409


def test_an_engagement_shared_by_two_hubs_each_sees_its_own_part(hubs):
    client, north, south, east = hubs["client"], hubs["north"], hubs["south"], hubs["east"]
    shared = client.ok("POST", "/v1/experts", expert(NORTH, rate_cents=100_000,
                                                     travel_cost_cents=1),
                       token=north)
    north_members, south_members = hubs["members"][NORTH], hubs["members"][SOUTH]
    # A facilitator names its own hub's members only.
    status, _, problem = client.request("POST", "/v1/engagements", {
        "hub_id": NORTH, "expert_id": shared["id"], "members": south_members, "sessions": 3},
        token=north)
    assert status == 422 and "members" in problem["errors"]
    proposed = client.ok("POST", "/v1/engagements", {
        "hub_id": NORTH, "expert_id": shared["id"], "members": north_members, "sessions": 3,
        "split": "enrollment"}, token=north)
    total = 3 * 100_000 + 1
    assert proposed["total_cents"] == total
    assert sum(m["share_cents"] for m in proposed["members"]) == total
    path = f"/v1/engagements/{proposed['id']}"
    joined = client.ok("POST", f"{path}/hubs", {"hub_id": SOUTH, "members": south_members},
                       token=south)
    # South sees its own part alone: its member's share, its saving, never North's members.
    assert [h["hub_id"] for h in joined["hubs"]] == [SOUTH]
    assert [m["member_id"] for m in joined["members"]] == south_members
    (part,) = joined["hubs"]
    assert part["saving_cents"] == total - part["share_cents"] and joined["hub_count"] == 2
    seen_north = client.ok("GET", path, token=north)
    assert {m["member_id"] for m in seen_north["members"]} == set(north_members)
    everyone = client.ok("GET", path)   # the consortium admin sees every part
    assert sum(m["share_cents"] for m in everyone["members"]) == total
    # By enrollment: 503, 1293 and 89 students.
    exact = {m["member_id"]: total * m["enrollment"] / (503 + 1293 + 89)
             for m in everyone["members"]}
    assert all(abs(m["share_cents"] - exact[m["member_id"]]) < 1 for m in everyone["members"])
    # A hub taking no part learns only that the expert is engaged.
    assert client.request("GET", path, token=east)[0] == 404
    assert client.ok("GET", f"/v1/experts/{shared['id']}", token=east)["engaged"] is True
    # Only the proposer confirms; after it, no hub joins or leaves.
    assert client.request("POST", f"{path}/confirmation", None, token=south)[0] in (403, 404)
    confirmed = client.ok("POST", f"{path}/confirmation", None, token=north)
    assert confirmed["status"] == "confirmed" and confirmed["sessions_left"] == 3
    assert client.request("POST", f"{path}/departure", {"hub_id": SOUTH},
                          token=south)[0] == 409


def test_every_read_model_rebuilt_from_the_log_is_the_one_kept_live(platform, hubs):
    client, north, south = hubs["client"], hubs["north"], hubs["south"]
    created = client.ok("POST", "/v1/resources", entry(NORTH, title="Rebuilt entry"),
                        token=north)
    client.ok("POST", f"/v1/resources/{created['id']}/ratings", {"stars": 3}, token=south)
    client.ok("POST", f"/v1/resources/{created['id']}/revisions", {"tags": ["rebuild"]},
              token=north)
    kept = client.ok("POST", "/v1/experts", expert(NORTH), token=north)
    gone = client.ok("POST", "/v1/experts", expert(NORTH, name="Gone"), token=north)
    client.ok("DELETE", f"/v1/experts/{gone['id']}", token=north)
    engagement = client.ok("POST", "/v1/engagements", {
        "hub_id": NORTH, "expert_id": kept["id"], "members": hubs["members"][NORTH],
        "sessions": 2, "split": "equal"}, token=north)
    client.ok("POST", f"/v1/engagements/{engagement['id']}/hubs",
              {"hub_id": SOUTH, "members": hubs["members"][SOUTH]}, token=south)
    client.ok("POST", f"/v1/engagements/{engagement['id']}/confirmation", None, token=north)
    database = platform["databases"]["resources"]
    tables = ("library_view", "library_revisions", "experts_view", "engagements_view",
              "engagement_hubs", "engagement_members", "expert_engaged_hubs")

    def read_models():
        return {t: query(database, f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}
    live = read_models()
    assert live["engagement_members"] and live["library_revisions"]
    assert live["expert_engaged_hubs"]
    query(database, "UPDATE engagement_members SET share_cents = 0")
    query(database, "UPDATE library_view SET rating_count = 0")
    cli("projections", "rebuild", "--service", "resources", "--database-url", database)
    assert read_models() == live


def test_another_hubs_facilitator_changes_no_expert_and_learns_nothing_more(hubs):
    client, north, south = hubs["client"], hubs["north"], hubs["south"]
    added = client.ok("POST", "/v1/experts", expert(NORTH), token=north)
    path = f"/v1/experts/{added['id']}"
    unknown = f"/v1/experts/{NORTH}.nobody"
    for method, suffix, body in (("POST", "/profile", {"organisation": "X", "rate_cents": 1}),
                                 ("POST", "/sharing", {"sharing": "consortium"}),
                                 ("POST", "/retirement", {"reason": "x"}),
                                 ("DELETE", "", None)):
        hidden = client.request(method, path + suffix, body, token=south)
        missing = client.request(method, unknown + suffix, body, token=south)
        assert hidden[0] == missing[0] == 404, (method, suffix, hidden[0], missing[0])
    # A hub adds experts to the pool only as itself.
    assert client.request("POST", "/v1/experts", expert(NORTH), token=south)[0] == 404
    after = client.ok("GET", path, token=north)
    assert (after["version"], after["name"], after["retired"]) == (added["version"],
                                                                   added["name"], False)


def test_an_experts_profile_and_contact_data_change_by_the_fields_given(platform, hubs):
    client, north = hubs["client"], hubs["north"]
    added = client.ok("POST", "/v1/experts", expert(NORTH), token=north)
    path = f"/v1/experts/{added['id']}/profile"
    revised = client.ok("POST", path, {"rate_cents": 160_000, "phone": "+1 530 555 0142"},
                        token=north)
    assert (revised["rate_cents"], revised["phone"]) == (160_000, "+1 530 555 0142")
    assert (revised["bio"], revised["travels"], revised["name"], revised["email"]) == (
        added["bio"], True, added["name"], added["email"])
    # The new phone number is personal data: in its table, in no event.
    database = platform["databases"]["resources"]
    held = tables_holding(database, "+1 530 555 0142")
    assert held["experts_pii"] == 1 and "events" not in held
    for bad in ({"rate_cents": -1}, {"phone": "call me"}, {"name": ""}, {"colour": "red"}):
        status, _, problem = client.request("POST", path, bad, token=north)
        assert status == 422 and set(problem["errors"]) == set(bad), bad
    client.ok("DELETE", f"/v1/experts/{added['id']}", token=north)
    # Erasure reaches the changed number too, the answer kept for the revision included.
    assert tables_holding(database, "+1 530 555 0142") == {}
    assert client.request("POST", path, {"phone": "+1 530 555 0143"}, token=north)[0] == 409
    assert tables_holding(database, "+1 530 555 0143") == {}
