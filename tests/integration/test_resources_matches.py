"""Matches for a problem of practice and what worked elsewhere, end to end over HTTP: resources
learns problems and shared prototypes from cycles' news, ranks experts, library entries and
prototypes for a problem with the reasons in words, and never shows a hub what another hub
keeps to itself."""

from __future__ import annotations

import pytest

from tests.integration.http import token
from tests.integration.test_cycles_http import (
    GOALS,
    problem,
    ready_member,
    work_through_cycles,
)
from tests.support import wait_until

A, B = "match-a", "match-b"
LINK = "https://ies.ed.gov/ncee/wwc/PracticeGuide/16"


def entry(hub, title, tags, visibility="consortium", summary="", **fields):
    return {"hub_id": hub, "kind": "research", "title": title, "summary": summary,
            "link": LINK, "tags": tags, "subject": "math", "grade_band": "3-5",
            "visibility": visibility, **fields}


def expert(hub, name, organisation, bio, expertise, **fields):
    return {"hub_id": hub, "name": name, "email": "coach@example.org",
            "organisation": organisation, "bio": bio, "expertise": expertise,
            "rate_cents": 120_000, "languages": ["English"], "travels": False,
            "travel_cost_cents": 0, "sharing": "consortium", **fields}


def matches_of(client, problem_id, who):
    def known():
        status, _, found = client.request("GET", f"/v1/problems/{problem_id}/matches",
                                          token=who)
        return found if status == 200 else None
    return wait_until(known, timeout=30, what=f"resources to hear of problem {problem_id}")


@pytest.fixture(scope="module")
def network(platform):
    """Two hubs: A with a ready member that works a prototype through two test cycles and
    shares it, B with a problem of its own."""
    client = platform["client"]
    for hub, name in ((A, "Buckeye County Office"), (B, "Alpine County Office")):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": name, "state": "CA",
                                       "facilitator_org": "Partner nonprofit"})
    fa, fb = token("facilitator", [A], sub="fa"), token("facilitator", [B], sub="fb")
    buckeye = ready_member(client, fa, "Buckeye Union", 503, hub=A)
    members_b = [client.ok("POST", f"/v1/hubs/{B}/members", {
        "name": "Alpine district", "kind": "district", "grade_span": "K-8",
        "enrollment": 90}, token=fb)["id"]]
    math_a = problem(client, fa, "Math persistence",
                     "Too few upper-elementary students persist with multi-step math problems",
                     hub=A)
    math_b = problem(client, fb, "Persistence in upper-elementary math",
                     "Students in grades 3 to 5 give up on multi-step math problems; "
                     "teachers want number talks", hub=B)
    return {"client": client, "fa": fa, "fb": fb, "buckeye": buckeye, "members_b": members_b,
            "math_a": math_a, "math_b": math_b}


def test_matches_are_ranked_with_reasons_and_keep_each_hub_its_own(network):
    client, fa, fb = network["client"], network["fa"], network["fb"]
    problem_b = network["math_b"]["id"]
    guide = client.ok("POST", "/v1/resources", entry(
        A, "Improving Mathematical Problem Solving in Grades 4 Through 8",
        ["math", "persistence"], summary="Practice guide: multi-step problems."), token=fa)
    talks = client.ok("POST", "/v1/resources", entry(
        B, "Number talks in the upper grades", ["number talks"],
        summary="Short daily routines."), token=fb)
    serving = client.ok("POST", "/v1/resources", entry(
        B, "Alpine's notes from the fall convening", [], visibility="hub",
        problems=[problem_b]), token=fb)
    secret = client.ok("POST", "/v1/resources", entry(
        A, "Buckeye's own math persistence fishbone", ["math", "persistence"],
        visibility="hub", summary="Multi-step math problems, persistence."), token=fa)
    unrelated = client.ok("POST", "/v1/resources", entry(
        A, "Chronic absence toolkit", ["attendance"], summary="Attendance nudges."), token=fa)
    coach = client.ok("POST", "/v1/experts", expert(
        A, "Dr. Rosa Quintero", "Sierra Math Coaching", "Coaches grade 3-5 teachers on number "
        "talks and persistence.", ["math", "number talks"]), token=fa)
    retired = client.ok("POST", "/v1/experts", expert(
        A, "Dr. Old Timer", "Math Retirees", "Math persistence coaching.", ["math"]),
        token=fa)
    client.ok("POST", f"/v1/experts/{retired['id']}/retirement", {"reason": "retired"},
              token=fa)
    not_ours = client.ok("POST", "/v1/experts", expert(
        A, "Dr. Only Buckeye", "Buckeye Math", "Math persistence.", ["math", "persistence"],
        sharing="hubs", hubs=["match-c"]), token=fa)
    # A confirmed engagement of the coach by hub A: one hub engaged the coach.
    members_a = [network["buckeye"]["id"]]
    proposed = client.ok("POST", "/v1/engagements", {
        "hub_id": A, "expert_id": coach["id"], "members": members_a, "sessions": 2},
        token=fa)
    client.ok("POST", f"/v1/engagements/{proposed['id']}/confirmation", None, token=fa)

    found = matches_of(client, problem_b, fb)
    assert found["problem"]["id"] == problem_b and found["problem"]["hub_id"] == B
    assert set(found["problem"]["tags"]) >= {"math", "persistence", "number talks"}
    items = {(m["kind"], m["id"]): m for m in found["items"]}
    ranked = [(m["kind"], m["id"]) for m in found["items"]]
    assert [m["score"] for m in found["items"]] == sorted(
        (m["score"] for m in found["items"]), reverse=True)
    # What fits is there, with its reasons in words.
    got = items["expert", coach["id"]]
    assert got["title"] == "Dr. Rosa Quintero"
    assert "shares tags: math, number talks" in got["reasons"]
    assert "engaged by 1 hub on similar problems" in got["reasons"]
    assert got["reason"] == "; ".join(got["reasons"])
    assert "shares tags: math, persistence" in items["resource", guide["id"]]["reasons"]
    assert "shares tags: number talks" in items["resource", talks["id"]]["reasons"]
    assert items["resource", serving["id"]]["reasons"][0] == "serves this problem of practice"
    # The coach (two tags, words, an engagement) outranks the entry with one tag.
    assert ranked.index(("expert", coach["id"])) < ranked.index(("resource", talks["id"]))
    # Never: another hub's hub-only entry, a retired expert, an expert B may not engage,
    # an entry with no fit.
    for hidden in (("resource", secret["id"]), ("expert", retired["id"]),
                   ("expert", not_ours["id"]), ("resource", unrelated["id"])):
        assert hidden not in items, hidden
    # Hub A, which owns the hub-only entry, gets it for its own problem.
    own = matches_of(client, network["math_a"]["id"], fa)
    assert ("resource", secret["id"]) in {(m["kind"], m["id"]) for m in own["items"]}
    assert ("resource", serving["id"]) not in {(m["kind"], m["id"]) for m in own["items"]}


def test_another_hubs_problem_is_as_missing_as_an_unknown_one(network):
    client, fa, fb = network["client"], network["fa"], network["fb"]
    problem_a = network["math_a"]["id"]
    matches_of(client, problem_a, fa)
    hidden = client.request("GET", f"/v1/problems/{problem_a}/matches", token=fb)
    unknown = client.request("GET", f"/v1/problems/{A}.nothing/matches", token=fb)
    assert hidden[0] == unknown[0] == 404
    assert hidden[2]["detail"].replace(problem_a, "X") == unknown[2]["detail"].replace(
        f"{A}.nothing", "X")
    member_b = token("member", [B], member=network["members_b"][0])
    assert client.request("GET", f"/v1/problems/{network['math_b']['id']}/matches",
                          token=member_b)[0] == 200


def test_a_prototype_shared_in_one_hub_is_found_from_anothers_problem(network):
    client, fa, fb = network["client"], network["fa"], network["fb"]
    buckeye, math_a = network["buckeye"], network["math_a"]
    client.ok("POST", f"/v1/problems/{math_a['id']}/ratification",
              {"on": "2017-09-14", "votes_for": 11, "votes_against": 1}, token=fa,
              headers={"If-Match": f'"{math_a["version"]}"'})
    project = client.ok("POST", f"/v1/members/{buckeye['id']}/projects",
                        {"problem_id": math_a["id"]}, token=fa)
    for goal in GOALS:
        client.ok("POST", f"/v1/projects/{project['id']}/goals", goal, token=fa)
    client.ok("POST", f"/v1/members/{buckeye['id']}/onboarding", token=fa)
    wait_until(lambda: client.ok("GET", f"/v1/projects/{project['id']}")
               ["exit_criteria_missing"] == [], timeout=30,
               what="cycles to hear that the member is ready")
    client.ok("POST", f"/v1/projects/{project['id']}/phase", {"phase": "discover"}, token=fa)
    prototype, _ = work_through_cycles(client, fa, project["id"],
                                       [[38, 41, 40, 43], [52, 55, 54, 58]])

    def shared():
        found = client.ok("GET", "/v1/prototypes/shared?q=number+talks", token=fb)["items"]
        return [p for p in found if p["id"] == prototype]
    (listed,) = wait_until(shared, timeout=30, what="resources to hear of the share")
    assert listed["hub_id"] == A and listed["member_id"] == buckeye["id"]
    assert listed["shared_by"] == "Buckeye Union (Buckeye County Office)"
    assert listed["problem_title"] == "Math persistence"
    assert [(r["number"], r["decision"]) for r in listed["results"]] == [(1, "adapt"),
                                                                        (2, "adopt")]
    # Aggregates only: no count of a group under 11 ever leaves the hub.
    assert all(r.get("n") is None or r["n"] >= 11 for r in listed["results"])
    by_problem = client.ok("GET", f"/v1/prototypes/shared?problem={math_a['id']}", token=fb)
    assert [p["id"] for p in by_problem["items"]] == [prototype]
    assert client.ok("GET", "/v1/prototypes/shared?q=attendance", token=fb)["items"] == []
    for bad in ("q=" + "a" * 201, "problem=not%20an%20id", "colour=red"):
        assert client.request("GET", f"/v1/prototypes/shared?{bad}", token=fb)[0] == 422, bad

    found = matches_of(client, network["math_b"]["id"], fb)
    (match,) = [m for m in found["items"] if m["kind"] == "prototype" and m["id"] == prototype]
    assert match["title"] == "Number talks, 15 minutes daily"
    assert "adopted by Buckeye Union (Buckeye County Office) after 2 test cycles" in \
        match["reasons"]
    assert any(r.startswith("shares tags:") and "number talks" in r for r in match["reasons"])

    # Withdrawn by its hub: no other hub finds it, in the list or among matches.
    withdrawn = client.ok("DELETE", f"/v1/prototypes/{prototype}/sharing", token=fa)
    assert [(p["id"], p["shared"]) for p in withdrawn["prototypes"]] == [(prototype, False)]
    wait_until(lambda: shared() == [], timeout=30, what="resources to hear of the withdrawal")
    assert client.ok("GET", f"/v1/prototypes/shared?problem={math_a['id']}",
                     token=fb)["items"] == []
    assert prototype not in {m["id"] for m in matches_of(client, network["math_b"]["id"],
                                                         fb)["items"]}
    assert client.request("DELETE", f"/v1/prototypes/{prototype}/sharing", token=fa)[0] == 409
    # Shared again (it may be): found again, its withdrawal before it notwithstanding.
    client.ok("POST", f"/v1/prototypes/{prototype}/sharing",
              {"summary": "Number talks, shared again"}, token=fa)
    (again,) = wait_until(shared, timeout=30, what="resources to hear of the new share")
    assert again["summary"] == "Number talks, shared again"
