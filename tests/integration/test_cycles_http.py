"""The cycles slice end to end: two members of one hub work the design process over HTTP, as
the El Dorado network did by spring 2018, and the hub's progress shows it."""

from __future__ import annotations

import json
import uuid

import pytest

from eventstore.db import connect
from tests.integration.http import ADMIN, token
from tests.support import cli, query, wait_until

HUB = "cycles-hub"


def known_to_cycles(client, hub, member_id=None):
    """Cycles knows hubs and members from membership's events, a moment after they happen."""
    if member_id is None:
        wait_until(lambda: client.request("GET", f"/v1/hubs/{hub}/problems")[0] == 200,
                   what=f"cycles to hear of hub {hub}")
    else:
        def known():
            status, _, progress = client.request("GET", f"/v1/hubs/{hub}/progress?limit=200")
            return status == 200 and member_id in {m["member_id"] for m in progress["items"]}
        wait_until(known, what=f"cycles to hear of member {member_id}")


def ready_member(client, facilitator, name, enrollment, hub=HUB):
    member = client.ok("POST", f"/v1/hubs/{hub}/members", {
        "name": name, "kind": "district", "grade_span": "K-8", "enrollment": enrollment},
        token=facilitator)
    for role, represents in (("sponsor", None), ("driver", None),
                             ("design_team", "central_office"), ("design_team", "principals"),
                             ("design_team", "teachers"), ("design_team", "support_staff")):
        person = client.ok("POST", f"/v1/hubs/{hub}/people", {"name": f"{role} of {name}"},
                           token=facilitator)
        client.ok("POST", f"/v1/members/{member['id']}/roles",
                  {"person_id": person["id"], "role": role, "represents": represents},
                  token=facilitator)
    known_to_cycles(client, hub, member["id"])
    return member


def problem(client, facilitator, title, statement, hub=HUB):
    drafted = client.ok("POST", f"/v1/hubs/{hub}/problems", {
        "title": title, "statement": statement,
        "supporting_data": [{"source": "CAASPP 2016-17",
                             "finding": "math proficiency below the county in grades 3-8"}],
        "selection_criteria": ["shared by most members", "within the schools' control"]},
        token=facilitator)
    assert drafted["status"] == "draft"
    return drafted


GOALS = [
    {"kind": "impact", "statement": "Grade 3-5 students meeting math standards rises",
     "measure": "CAASPP math met or exceeded", "unit": "%", "baseline": 31, "target": 40,
     "due": "2027-06-30"},
    {"kind": "implementation", "statement": "Teachers use number talks three times a week",
     "measure": "classrooms observed using number talks", "unit": "%", "baseline": 10,
     "target": 80, "due": "2027-03-31"},
]


def work_through_cycles(client, who, project_id, values_by_cycle):
    """Discover → … → test, two test cycles (the first revises the prototype), → evolve."""
    def post(path, body, **kw):
        return client.ok("POST", path, body, token=who, **kw)

    project = post(f"/v1/projects/{project_id}/data", {
        "method": "survey", "summary": "Student math mindset survey, grades 3-5", "n": 212})
    post(f"/v1/projects/{project_id}/phase", {"phase": "interpret"})
    data_id = project["data"][0]["id"]
    post(f"/v1/projects/{project_id}/insights", {
        "text": "Students give up on multi-step problems", "data_ids": [data_id]})
    post(f"/v1/projects/{project_id}/phase", {"phase": "ideate"})
    idea = post(f"/v1/projects/{project_id}/ideas", {
        "description": "Daily number talks", "source": "expert",
        "source_ref": "county math coach"})["ideas"][0]["id"]
    post(f"/v1/projects/{project_id}/phase", {"phase": "prototype"})
    project = post(f"/v1/projects/{project_id}/prototypes", {
        "name": "Number talks, 15 minutes daily", "description": "Grades 3-5, all classrooms",
        "idea_ids": [idea]})
    prototype = project["prototypes"][0]["id"]
    status, _, refused = client.request("POST", f"/v1/projects/{project_id}/phase",
                                        {"phase": "test"}, token=who)
    assert status == 409 and "prototype selected" in refused["detail"]
    post(f"/v1/prototypes/{prototype}/selection", {"criteria": [
        {"criterion": "doable with current staff", "met": True},
        {"criterion": "tests a change idea from the data", "met": True}]})
    project = post(f"/v1/prototypes/{prototype}/indicators", {
        "name": "Students persisting on multi-step problems", "kind": "leading", "unit": "%",
        "direction": "up", "baseline": 40, "target": 60})
    indicator = project["indicators"][0]["id"]
    post(f"/v1/projects/{project_id}/phase", {"phase": "test"})
    for number, values in enumerate(values_by_cycle, start=1):
        project = post(f"/v1/prototypes/{prototype}/cycles", {
            "plan": {"who": "grade 4 teachers", "starts": f"2017-1{number}-01",
                     "ends": f"2017-1{number}-28", "how": "exit tickets twice a week"},
            "prediction": "persistence rises above 50%"})
        cycle = project["cycles"][-1]["id"]
        for day, value in enumerate(values, start=1):
            post(f"/v1/cycles/{cycle}/measurements", {
                "indicator_id": indicator, "value": value, "n": 24,
                "on": f"2017-1{number}-{day:02d}"})
        decision = "adapt" if number == 1 else "adopt"
        project = post(f"/v1/cycles/{cycle}/completion", {
            "findings": "persistence rose in classes that kept the routine",
            "decision": decision})
        if number == 1:
            project = post(f"/v1/projects/{project_id}/phase", {
                "phase": "prototype", "reason": "shorten to 10 minutes, add visuals"})
            assert project["prototypes"][0]["revision"] == 2
            post(f"/v1/projects/{project_id}/phase", {"phase": "test"})
    answer = post(f"/v1/projects/{project_id}/phase", {"phase": "evolve"})
    assert answer["phase"] == "evolve" and answer["cycles"] == []
    project = client.ok("GET", f"/v1/projects/{project_id}", token=who)
    assert project["phase"] == "evolve"
    assert [c["decision"] for c in project["cycles"]] == ["adapt", "adopt"]
    assert [c["revision"] for c in project["cycles"]] == [1, 2]
    assert [c["measurement_count"] for c in project["cycles"]] == [
        len(values) for values in values_by_cycle]
    summary = {"summary": "Number talks raised persistence; 10 minutes works better than 15"}
    shared = post(f"/v1/prototypes/{prototype}/sharing", summary)
    assert [(p["id"], p["shared"]) for p in shared["prototypes"]] == [(prototype, True)]
    # Once per revision: the prototype as it stands is shared already.
    status, _, refused = client.request("POST", f"/v1/prototypes/{prototype}/sharing",
                                        summary, token=who)
    assert status == 409 and "shared already" in refused["detail"], refused
    return prototype, indicator


def test_two_members_adopt_problems_complete_two_cycles_and_the_hub_sees_it(platform):
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": HUB, "name": "Cycles County Office", "state": "CA",
                                   "facilitator_org": "Partner nonprofit"})
    facilitator = token("facilitator", [HUB])
    camino = ready_member(client, facilitator, "Camino Union", 503)
    gold = ready_member(client, facilitator, "Gold Oak Union", 580)
    math = problem(client, facilitator, "Math persistence",
                   "Too few upper-elementary students persist with multi-step math problems")
    reading = problem(client, facilitator, "Early literacy",
                      "Too few second graders read at grade level by spring")
    status, _, refused = client.request("POST", f"/v1/members/{camino['id']}/projects",
                                        {"problem_id": math["id"]}, token=facilitator)
    assert status == 409 and "not ratified" in refused["detail"]
    for p in (math, reading):
        ratified = client.ok("POST", f"/v1/problems/{p['id']}/ratification",
                             {"on": "2017-09-14", "votes_for": 11, "votes_against": 1},
                             token=facilitator, headers={"If-Match": f'"{p["version"]}"'})
        assert ratified["status"] == "ratified"

    # Camino works with a member token (its own project), Gold Oak with the facilitator.
    camino_token = token("member", [HUB], member=camino["id"])
    project_a = client.ok("POST", f"/v1/members/{camino['id']}/projects",
                          {"problem_id": math["id"]}, token=camino_token)
    project_b = client.ok("POST", f"/v1/members/{gold['id']}/projects",
                          {"problem_id": reading["id"]}, token=facilitator)
    assert client.request("POST", f"/v1/members/{gold['id']}/projects",
                          {"problem_id": math["id"]}, token=camino_token)[0] == 403
    assert client.request("POST", f"/v1/members/{camino['id']}/projects",
                          {"problem_id": math["id"]}, token=camino_token)[0] == 409

    # Goals: refused with the reason unless SMART.
    status, _, refused = client.request("POST", f"/v1/projects/{project_a['id']}/goals", {
        "kind": "impact", "statement": "Students get better at math", "measure": "",
        "baseline": 31}, token=camino_token)
    assert status == 422
    assert "not time-bound" in refused["errors"]["due"][0]
    assert "measurable" in refused["errors"]["target"][0]
    for project, who in ((project_a, camino_token), (project_b, facilitator)):
        for goal in GOALS:
            client.ok("POST", f"/v1/projects/{project['id']}/goals", goal, token=who)

    # Not ready: onboarding is not complete, so the design process cannot start.
    status, _, refused = client.request("POST", f"/v1/projects/{project_a['id']}/phase",
                                        {"phase": "discover"}, token=camino_token)
    assert status == 409 and "pre-work" in refused["detail"]
    for member in (camino, gold):
        client.ok("POST", f"/v1/members/{member['id']}/onboarding", token=facilitator)
    for project in (project_a, project_b):
        wait_until(lambda p=project: client.ok("GET", f"/v1/projects/{p['id']}")
                   ["exit_criteria_missing"] == [], timeout=20,
                   what="cycles to hear that the member is ready")
    # Membership hears back: the problem is adopted and the goals are set.
    wait_until(lambda: client.ok("GET", f"/v1/members/{camino['id']}/readiness")["ready"],
               timeout=20, what="membership to hear of the adoption and the goals")

    client.ok("POST", f"/v1/projects/{project_a['id']}/phase", {"phase": "discover"},
              token=camino_token)
    client.ok("POST", f"/v1/projects/{project_b['id']}/phase", {"phase": "discover"},
              token=facilitator)
    _, indicator_a = work_through_cycles(
        client, camino_token, project_a["id"],
        [[38, 41, 40, 43, 45, 44], [52, 55, 54, 58, 57, 60]])
    work_through_cycles(client, facilitator, project_b["id"],
                        [[40, 42, 41, 44, 43], [47, 49, 48, 50, 52]])

    progress = client.ok("GET", f"/v1/hubs/{HUB}/progress", token=facilitator)
    assert progress["next"] is None
    by_member = {m["member_id"]: m for m in progress["items"]}
    for member, project in ((camino, project_a), (gold, project_b)):
        [row] = by_member[member["id"]]["projects"]
        assert (row["project_id"], row["phase"], row["cycles_completed"],
                row["last_decision"]) == (project["id"], "evolve", 2, "adopt")
        assert len(row["signals"]) == 1 and row["signals"][0]["points"] >= 10
    assert "shift" in by_member[camino["id"]]["projects"][0]["signals"][0]["signals"]
    # Paged, a member at a time: the same members, in id order.
    first = client.ok("GET", f"/v1/hubs/{HUB}/progress?limit=1", token=facilitator)
    second = client.ok("GET", f"/v1/hubs/{HUB}/progress?limit=1&after={first['next']}",
                       token=facilitator)
    assert first["items"] + second["items"] == progress["items"] and second["next"] is None
    assert [m["member_id"] for m in progress["items"]] == sorted([camino["id"], gold["id"]])
    # The prototypes shared with the network: each once, a page at a time.
    shares = client.ok("GET", f"/v1/hubs/{HUB}/shares", token=facilitator)
    assert [(s["member_id"], s["revision"]) for s in shares["items"]] == [
        (camino["id"], 2), (gold["id"], 2)] and shares["next"] is None
    assert [r["number"] for r in shares["items"][0]["results"]] == [1, 2]
    first = client.ok("GET", f"/v1/hubs/{HUB}/shares?limit=1", token=facilitator)
    second = client.ok("GET", f"/v1/hubs/{HUB}/shares?limit=1&after={first['next']}",
                       token=facilitator)
    assert first["items"] + second["items"] == shares["items"] and second["next"] is None

    chart = client.ok("GET", f"/v1/indicators/{indicator_a}/run-chart", token=camino_token)
    assert [p["value"] for p in chart["points"]] == [38, 41, 40, 43, 45, 44,
                                                     52, 55, 54, 58, 57, 60]
    assert chart["median"] == 48.5
    assert [s["points"] for s in chart["signals"] if s["rule"] == "shift"] == [
        [0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert chart["runs"] == {"count": 2, "useful_points": 12, "limits": [4, 10]}
    assert "too_few_runs" in {s["rule"] for s in chart["signals"]}
    status, headers, picture = client.request(
        "GET", f"/v1/indicators/{indicator_a}/run-chart", token=camino_token,
        headers={"Accept": "image/svg+xml"})
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert picture.startswith("<svg") and "Students persisting" in picture
    assert "median 48.5" in picture and picture.count("<circle") == 12

    # Another county sees none of it.
    other = token("facilitator", ["another-hub"])
    for path in (f"/v1/projects/{project_a['id']}", f"/v1/problems/{math['id']}",
                 f"/v1/indicators/{indicator_a}/run-chart", f"/v1/hubs/{HUB}/progress",
                 f"/v1/hubs/{HUB}/shares", f"/v1/hubs/{HUB}/problems"):
        assert client.request("GET", path, token=other)[0] == 404, path
    for path, body in ((f"/v1/projects/{project_a['id']}/data",
                        {"method": "survey", "summary": "x"}),
                       (f"/v1/members/{camino['id']}/projects", {"problem_id": math["id"]}),
                       (f"/v1/problems/{math['id']}/ratification", {})):
        assert client.request("POST", path, body, token=other)[0] == 404, path
    # A member writes only its own project.
    assert client.request("POST", f"/v1/projects/{project_b['id']}/data",
                          {"method": "survey", "summary": "x"}, token=camino_token)[0] == 403

    # The service checks the caller again: direct RPC with another county's identity.
    from eventstore.identity import Identity
    from eventstore.rpc import signed_rpc
    outsider = Identity(sub="b", role="facilitator", hubs=("another-hub",))
    with signed_rpc(platform["amqp"], outsider, "tests", timeout=10) as rpc:
        for call in (lambda: rpc.cycles.get_project(project_a["id"]),
                     lambda: rpc.cycles.run_chart(indicator_a),
                     lambda: rpc.cycles.hub_progress(HUB),
                     lambda: rpc.cycles.hub_shares(HUB),
                     lambda: rpc.cycles.collect_data(project_a["id"], {
                         "method": "survey", "summary": "forged"}),
                     lambda: rpc.cycles.draft_problem(HUB, {
                         "title": "t", "statement": "s",
                         "supporting_data": [{"source": "a", "finding": "b"}],
                         "selection_criteria": ["c"]})):
            with pytest.raises(Exception) as refused:
                call()
            assert getattr(refused.value, "exc_type", type(refused.value).__name__) == "NotFound"
    assert len(client.ok("GET", f"/v1/projects/{project_a['id']}")["data"]) == 1

    # Row-level security: reading for another hub, no cycles read model shows a row of this one.
    cycles_db = platform["databases"]["cycles"]
    conn = connect(cycles_db)
    try:
        with conn.cursor() as cur:
            for table in ("problems_view", "projects_view", "parts_view", "indicators_view",
                          "measurements_view", "shares_view", "directory_members",
                          "directory_hubs", "directory_roles"):
                counts = {}
                for scope in ("another-hub", HUB):
                    cur.execute("BEGIN")
                    cur.execute("SELECT set_config('consortium.hubs', %s, true)", (scope,))
                    cur.execute(f"SELECT count(*) FROM {table}")
                    counts[scope] = cur.fetchone()[0]
                    cur.execute("ROLLBACK")
                assert counts["another-hub"] == 0 and counts[HUB] > 0, (table, counts)
    finally:
        conn.close()

    # Every read model rebuilt from the log is the one the commands kept live.
    tables = ("problems_view", "projects_view", "parts_view", "indicators_view",
              "measurements_view", "shares_view")

    def read_models():
        return {t: query(cycles_db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}
    live = read_models()
    assert len(live["measurements_view"]) == 22 and len(live["shares_view"]) == 2
    query(cycles_db, "UPDATE projects_view SET phase = 'discover', cycles_completed = 0")
    cli("projections", "rebuild", "--service", "cycles", "--database-url", cycles_db)
    assert read_models() == live


def test_measurements_are_aggregates_never_a_student(platform):
    client = platform["client"]
    status, _, refused = client.request("POST", "/v1/cycles/no-such-cycle/measurements", {
        "indicator_id": "ind-1", "value": 1, "n": 1, "on": "2017-10-01"}, token=ADMIN)
    assert status == 422 and "no student-level data" in refused["errors"]["n"][0]
    status, _, refused = client.request("POST", "/v1/cycles/no-such-cycle/measurements", {
        "indicator_id": "ind-1", "value": 1, "n": 30, "on": "2017-10-01",
        "student_id": "S101"}, token=ADMIN)
    assert status == 422 and "student_id" in refused["errors"]
    # Nor a person's contact data, in any free text.
    status, _, refused = client.request("POST", "/v1/cycles/no-such-cycle/measurements", {
        "indicator_id": "ind-1", "value": 1, "n": 30, "on": "2017-10-01",
        "note": "ask Ms Ortiz, (530) 555-0123"}, token=ADMIN)
    assert status == 422 and list(refused["errors"]) == ["note"]
    assert refused["errors"]["note"][0].startswith(
        "free text may not hold an email address or phone number: this holds a phone number")


@pytest.mark.parametrize("path", ["/v1/projects/nope", "/v1/indicators/nope/run-chart",
                                  "/v1/problems/nope", "/v1/hubs/nope/progress",
                                  "/v1/hubs/nope/shares"])
def test_unknown_objects_are_404(platform, path):
    assert platform["client"].request("GET", path)[0] == 404


def test_racing_adoptions_of_one_problem_give_one_project_and_clean_conflicts(platform):
    import threading
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": "race-hub", "name": "Race County", "state": "CA",
                                   "facilitator_org": "Partner nonprofit"})
    member = client.ok("POST", "/v1/hubs/race-hub/members", {
        "name": "Pollock Pines", "kind": "district", "grade_span": "K-8", "enrollment": 741})
    known_to_cycles(client, "race-hub", member["id"])
    drafted = client.ok("POST", "/v1/hubs/race-hub/problems", {
        "title": "Attendance", "statement": "Chronic absence is rising",
        "supporting_data": [{"source": "DataQuest", "finding": "above 12%"}],
        "selection_criteria": ["shared"]})
    client.ok("POST", f"/v1/problems/{drafted['id']}/ratification", {})
    statuses = []

    def adopt():
        statuses.append(client.request("POST", f"/v1/members/{member['id']}/projects",
                                       {"problem_id": drafted["id"]})[0])

    threads = [threading.Thread(target=adopt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [201] + [409] * 5, statuses
    progress = client.ok("GET", "/v1/hubs/race-hub/progress")
    assert [len(m["projects"]) for m in progress["items"]] == [1]
    # An off-boarded member adopts nothing more, once cycles has heard of it.
    second = client.ok("POST", "/v1/hubs/race-hub/problems", {
        "title": "Math", "statement": "Too few persist in math",
        "supporting_data": [{"source": "CAASPP", "finding": "below county"}],
        "selection_criteria": ["shared"]})
    client.ok("POST", f"/v1/problems/{second['id']}/ratification", {})
    client.ok("POST", f"/v1/members/{member['id']}/offboarding", {"reason": "merged"})
    wait_until(lambda: client.ok("GET", "/v1/hubs/race-hub/progress")["items"] == [],
               what="cycles to hear of the off-boarding")
    status, _, refused = client.request("POST", f"/v1/members/{member['id']}/projects",
                                        {"problem_id": second["id"]})
    assert status == 409 and "off-boarded" in refused["detail"]


def a_project_in_test(client, facilitator, hub):
    """A hub's member whose project is in the test phase with a test cycle running:
    <hub>.proto with the leading indicator <hub>.persistence and the cycle <hub>.cycle."""
    member = ready_member(client, facilitator, "Indian Diggings", 21, hub=hub)
    client.ok("POST", f"/v1/members/{member['id']}/onboarding", {}, token=facilitator)
    drafted = problem(client, facilitator, "Math", "Too few students persist in math",
                      hub=hub)
    client.ok("POST", f"/v1/problems/{drafted['id']}/ratification", {}, token=facilitator)
    project = client.ok("POST", f"/v1/members/{member['id']}/projects",
                        {"problem_id": drafted["id"]}, token=facilitator)
    pid = project["id"]
    for goal in GOALS:
        client.ok("POST", f"/v1/projects/{pid}/goals", goal, token=facilitator)
    wait_until(lambda: client.ok("GET", f"/v1/projects/{pid}", token=facilitator)[
        "exit_criteria_missing"] == [], what="cycles to hear the member's pre-work")
    steps = [("phase", {"phase": "discover"}),
             ("data", {"method": "survey", "summary": "Math survey", "n": 21}),
             ("phase", {"phase": "interpret"}), ("insights", {"text": "They give up"}),
             ("phase", {"phase": "ideate"}),
             ("ideas", {"id": f"{hub}.idea", "description": "Number talks", "source": "peer"}),
             ("phase", {"phase": "prototype"}),
             ("prototypes", {"id": f"{hub}.proto", "name": "Number talks",
                             "description": "daily", "idea_ids": [f"{hub}.idea"]})]
    for path, body in steps:
        client.ok("POST", f"/v1/projects/{pid}/{path}", body, token=facilitator)
    client.ok("POST", f"/v1/prototypes/{hub}.proto/selection",
              {"criteria": [{"criterion": "doable", "met": True}]}, token=facilitator)
    client.ok("POST", f"/v1/prototypes/{hub}.proto/indicators", {
        "id": f"{hub}.persistence", "name": "Persistence", "kind": "leading", "unit": "%",
        "direction": "up"}, token=facilitator)
    client.ok("POST", f"/v1/projects/{pid}/phase", {"phase": "test"}, token=facilitator)
    client.ok("POST", f"/v1/prototypes/{hub}.proto/cycles", {
        "id": f"{hub}.cycle", "prediction": "rises",
        "plan": {"who": "grade 4", "starts": "2017-10-01", "ends": "2017-10-28", "how": "tickets"}},
        token=facilitator)
    return pid


def test_staff_entering_measurements_at_once_are_all_recorded_without_if_match(platform):
    """Eight staff record measurements of one test cycle at the same moment, none sending
    If-Match: a concurrent write is decided again on the new state, never bounced back."""
    import threading
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": "busy-hub", "name": "Busy County", "state": "CA",
                                   "facilitator_org": "Partner nonprofit"})
    facilitator = token("facilitator", ["busy-hub"])
    pid = a_project_in_test(client, facilitator, "busy-hub")
    barrier = threading.Barrier(8)
    answers = []

    def measure(n):
        barrier.wait()
        answers.append(client.request("POST", "/v1/cycles/busy-hub.cycle/measurements", {
            "indicator_id": "busy-hub.persistence", "value": 40 + n, "n": 12,
            "on": f"2017-10-{n + 1:02d}"}, token=facilitator))

    threads = [threading.Thread(target=measure, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a[0] for a in answers] == [201] * 8, [a[2] for a in answers if a[0] != 201]
    chart = client.ok("GET", "/v1/indicators/busy-hub.persistence/run-chart", token=facilitator)
    assert sorted(p["value"] for p in chart["points"]) == [40.0 + n for n in range(8)]
    # With If-Match, a stale version is still refused: 412, nothing written.
    status, _, stale = client.request("POST", f"/v1/projects/{pid}/goals", GOALS[0],
                                      token=facilitator, headers={"If-Match": '"3"'})
    assert status == 412 and stale["current_version"] > 3


def test_a_projects_answers_stay_as_small_as_its_commands(platform):
    """Every command answers what it changed, not the whole project: the fiftieth measurement
    of a cycle answers that measurement (and the count), and every answer kept for the keys
    is kept whole and small; the whole project is a read away. Past a limit, a part is refused
    naming it."""
    client, cycles_db = platform["client"], platform["databases"]["cycles"]
    client.ok("POST", "/v1/hubs", {"id": "big-hub", "name": "Big County", "state": "CA",
                                   "facilitator_org": "Partner nonprofit"})
    sub = f"answers-{uuid.uuid4().hex[:8]}"
    facilitator = token("facilitator", ["big-hub"], sub=sub)
    pid = a_project_in_test(client, facilitator, "big-hub")
    for day in range(50):
        status, _, answer = client.request("POST", "/v1/cycles/big-hub.cycle/measurements", {
            "indicator_id": "big-hub.persistence", "value": 40 + day % 7, "n": 24,
            "on": f"2017-10-{day % 28 + 1:02d}", "note": "exit tickets, all grade 4 classes"},
            token=facilitator, headers={"Idempotency-Key": f"measure-{day}"})
        assert status == 201, answer
    [cycle] = answer["cycles"]
    assert (cycle["id"], cycle["measurement_count"], len(cycle["measurements"])) == (
        "big-hub.cycle", 50, 1)
    assert answer["goals"] == answer["data"] == answer["indicators"] == []
    assert len(json.dumps(answer)) < 2048, len(json.dumps(answer))
    again = client.ok("POST", "/v1/cycles/big-hub.cycle/measurements", {
        "indicator_id": "big-hub.persistence", "value": 40 + 49 % 7, "n": 24,
        "on": "2017-10-22", "note": "exit tickets, all grade 4 classes"}, token=facilitator,
        headers={"Idempotency-Key": "measure-49"})
    assert again == answer
    whole = client.ok("GET", f"/v1/projects/{pid}", token=facilitator)
    assert [(c["measurement_count"], len(c["measurements"])) for c in whole["cycles"]] == [
        (50, 50)]
    [(largest, references)] = query(cycles_db, """
        SELECT max(length(result::text)), count(*) FILTER (WHERE result ? '$ref')
        FROM idempotency_keys WHERE key LIKE %s""", (f'["{sub}",%',))
    assert largest < 2048 and references == 0, (largest, references)
    assert query(cycles_db, "SELECT max(length(result::text)) FROM idempotency_keys")[0][0] \
        <= 8192

    # A project holds at most 20 goals (it has two): the 21st is refused, naming the limit.
    for k in range(18):
        client.ok("POST", f"/v1/projects/{pid}/goals", GOALS[k % 2], token=facilitator)
    status, _, refused = client.request("POST", f"/v1/projects/{pid}/goals", GOALS[0],
                                        token=facilitator)
    assert status == 422 and refused["errors"] == {"goals": [
        "a project holds at most 20 goals: revise a goal rather than set another"]}
