"""Demo consortium for `make up`: the El Dorado network (13 real members) and a smaller second
county, with people and roles. Loaded through the public HTTP API as a county office's client
would, every write with an Idempotency-Key, so a second run changes nothing. Prints tokens for
trying the API."""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gateway.auth import issue

DATA = Path(__file__).resolve().parent / "data" / "el-dorado-members.csv"
# The shared library: real research and toolkits for El Dorado's two problems of practice, and
# meeting materials and member shares (their links stand for the members' own files).
LIBRARY = Path(__file__).resolve().parent / "data" / "library.json"

class Api:
    """The gateway, as an admin of the consortium."""

    def __init__(self, port: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token = issue("demo-loader", "admin", ["*"], ttl_seconds=3600)

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json",
                     **({"Idempotency-Key": key} if key else {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise SystemExit(f"demo: {method} {path} answered {err.code}: "
                             f"{err.read().decode(errors='replace')}") from None

    def known(self, method: str, path: str, body: Any, key: str) -> bool:
        """The request answered, or False while the service has not heard of what it names
        (404); any other refusal stops the loader."""
        try:
            self.call(method, path, body, key)
        except SystemExit as refused:
            if " answered 404:" in str(refused):
                return False
            raise
        return True

    def post(self, path: str, body: Any, key: str) -> Any:
        # Keys of this edition of the demo: an older edition's keys, kept in a developer's
        # database, named other requests.
        return self.call("POST", path, body, f"demo-2:{key}")
GROUPS = ("central_office", "principals", "teachers", "support_staff")
SECOND_HUB = [("Alpine Unified", "district", "K-12", 89), ("Bear Valley Elementary",
              "district", "K-8", 46), ("Markleeville Charter", "charter", "K-8", 23)]


def load(api: Api) -> dict[str, str]:
    api.post("/v1/hubs", {"id": "el-dorado", "name": "El Dorado County Office of Education",
                          "state": "CA", "county_code": "09",
                          "facilitator_org": "Rural Schools Improvement Partners"},
             "hub-el-dorado")
    api.post("/v1/hubs/el-dorado/facilitation", {"stage": "co_facilitation"}, "handover-1")
    api.post("/v1/hubs", {"id": "alpine", "name": "Alpine County Office of Education",
                          "state": "CA", "county_code": "02",
                          "facilitator_org": "Rural Schools Improvement Partners"},
             "hub-alpine")
    with open(DATA) as f:
        rows = [(r["name"], r["kind"], r["grade_span"], int(r["enrollment"]))
                for r in csv.DictReader(f)]
    first_member = ""
    for hub, members in (("el-dorado", rows), ("alpine", SECOND_HUB)):
        for n, (name, kind, span, enrollment) in enumerate(members):
            member_id = f"{hub}.{n + 1:02d}"
            first_member = first_member or member_id
            api.post(f"/v1/hubs/{hub}/members",
                     {"id": member_id, "name": name, "kind": kind, "grade_span": span,
                      "enrollment": enrollment}, f"enroll-{member_id}")
            roles = [("sponsor", None), ("driver", None)]
            if enrollment >= 100:   # the smallest districts cannot staff every group
                roles += [("design_team", g) for g in GROUPS]
            for role, group in roles:
                person_id = f"{member_id}-{group or role}".replace("_", "-")
                api.post(f"/v1/hubs/{hub}/people",
                         {"id": person_id,
                          "name": f"{(group or role).replace('_', ' ').title()} of {name}",
                          "email": f"{person_id}@example.org"}, f"person-{person_id}")
                api.post(f"/v1/members/{member_id}/roles",
                         {"person_id": person_id, "role": role, "represents": group},
                         f"role-{person_id}")
            if n % 3 != 2:
                api.post(f"/v1/members/{member_id}/onboarding", {}, f"onboard-{member_id}")
    return {"first_member": first_member}


MATH_WEEKS = [38, 41, 40, 43, 45, 44, 52, 55, 54, 58, 57, 60]


def load_cycles(api: Api) -> None:
    """Two problems of practice in El Dorado; Buckeye Union works math through two test cycles
    of number talks (so its run chart has a story), Camino Union has adopted attendance."""
    for pid, title, statement, source, finding in (
            ("el-dorado.math", "Persistence in upper-elementary math",
             "Too few grade 3-5 students persist with multi-step math problems",
             "CAASPP 2016-17", "math proficiency below the county in grades 3-5"),
            ("el-dorado.attendance", "Chronic absence in small schools",
             "Chronic absence is rising in the network's smallest schools",
             "DataQuest 2016-17", "chronic absence above 12% in five members")):
        api.post("/v1/hubs/el-dorado/problems", {
            "id": pid, "title": title, "statement": statement,
            "supporting_data": [{"source": source, "finding": finding}],
            "selection_criteria": ["shared by most members", "within the schools' control"]},
            f"problem-{pid}")
        api.post(f"/v1/problems/{pid}/ratification",
                 {"on": "2017-09-14", "votes_for": 12, "votes_against": 1}, f"ratify-{pid}")
    goals = [{"id": "{}-impact", "kind": "impact",
              "statement": "Grade 3-5 students meeting the math standard rises",
              "measure": "CAASPP math met or exceeded", "unit": "%", "baseline": 31,
              "target": 40, "due": "2027-06-30"},
             {"id": "{}-implementation", "kind": "implementation",
              "statement": "Teachers lead number talks three times a week",
              "measure": "classrooms observed using number talks", "unit": "%",
              "baseline": 10, "target": 80, "due": "2027-03-31"}]
    for member, problem in (("el-dorado.01", "el-dorado.math"),
                            ("el-dorado.02", "el-dorado.attendance")):
        project = f"{member}-project"
        api.post(f"/v1/members/{member}/projects", {"id": project, "problem_id": problem},
                 f"adopt-{member}")
        for goal in goals:
            api.post(f"/v1/projects/{project}/goals", {**goal, "id": goal["id"].format(project)},
                     f"goal-{goal['id'].format(project)}")
    project = "el-dorado.01-project"
    # Cycles hears of Buckeye's completed pre-work from membership's events.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = api.call("GET", f"/v1/projects/{project}")
        if state["phase"] is not None or not state["exit_criteria_missing"]:
            break
        time.sleep(0.2)
    steps = [
        ("phase", project, {"phase": "discover"}),
        ("data", project, {"id": "el-dorado.buckeye-survey", "method": "survey", "n": 212,
                           "summary": "Math mindset survey, grades 3-5"}),
        ("phase", project, {"phase": "interpret"}),
        ("insight", project, {"id": "el-dorado.buckeye-insight",
                              "data_ids": ["el-dorado.buckeye-survey"],
                              "text": "Students give up on multi-step problems"}),
        ("phase", project, {"phase": "ideate"}),
        ("idea", project, {"id": "el-dorado.buckeye-number-talks",
                           "description": "Daily number talks",
                           "source": "expert", "source_ref": "network math expert"}),
        ("phase", project, {"phase": "prototype"}),
        ("prototype", project, {"id": "el-dorado.buckeye-prototype", "name": "Number talks",
                                "description": "15 minutes daily in grades 3-5",
                                "idea_ids": ["el-dorado.buckeye-number-talks"]}),
        ("select", "el-dorado.buckeye-prototype", {"criteria": [
            {"criterion": "doable with current staff", "met": True}]}),
        ("indicator", "el-dorado.buckeye-prototype", {
            "id": "el-dorado.buckeye-persistence",
            "name": "Students persisting on multi-step problems",
            "kind": "leading", "unit": "%", "direction": "up", "baseline": 40,
            "target": 60}),
        ("phase", project, {"phase": "test"}),
    ]
    paths = {"phase": "/v1/projects/{}/phase", "data": "/v1/projects/{}/data",
             "insight": "/v1/projects/{}/insights", "idea": "/v1/projects/{}/ideas",
             "prototype": "/v1/projects/{}/prototypes",
             "select": "/v1/prototypes/{}/selection",
             "indicator": "/v1/prototypes/{}/indicators"}
    for n, (what, target, body) in enumerate(steps):
        api.post(paths[what].format(target), body, f"buckeye-step-{n}")
    for number, weeks in ((1, MATH_WEEKS[:6]), (2, MATH_WEEKS[6:])):
        cycle = f"el-dorado.buckeye-cycle-{number}"
        api.post("/v1/prototypes/el-dorado.buckeye-prototype/cycles", {
            "id": cycle, "prediction": "persistence rises above 50%",
            "plan": {"who": "grade 4 teachers", "starts": f"2017-1{number - 1}-02",
                     "ends": f"2017-1{number - 1}-28", "how": "exit tickets twice a week"}},
            f"start-{cycle}")
        for day, value in enumerate(weeks, start=1):
            api.post(f"/v1/cycles/{cycle}/measurements",
                     {"indicator_id": "el-dorado.buckeye-persistence", "value": value, "n": 24,
                      "on": f"2017-1{number - 1}-{day * 4:02d}"}, f"measure-{cycle}-{day}")
        api.post(f"/v1/cycles/{cycle}/completion",
                 {"findings": "persistence rose where the routine held",
                  "decision": "adapt" if number == 1 else "adopt"}, f"complete-{cycle}")
        if number == 1:
            api.post(f"/v1/projects/{project}/phase",
                     {"phase": "prototype", "reason": "shorter sessions with visuals"},
                     "buckeye-revise")
            api.post(f"/v1/projects/{project}/phase", {"phase": "test"}, "buckeye-retest")
    # What worked: Buckeye Union shares its number talks with the network (other hubs find it).
    api.post("/v1/prototypes/el-dorado.buckeye-prototype/sharing", {
        "summary": "Number talks three times a week with visual models: students persisting "
                   "on multi-step problems rose from 40% to 60% over two test cycles"},
        "buckeye-share")


# The pool: five experts shared between El Dorado and Alpine (people invented for the demo).
EXPERTS = [
    ("el-dorado", {"id": "el-dorado.quintero", "name": "Dr. Rosa Quintero",
                   "email": "rosa.quintero@example.org", "phone": "+1 530 555 0101",
                   "organisation": "Sierra Math Coaching",
                   "bio": "Former grade 4 teacher; coaches upper-elementary teachers on number "
                          "talks and multi-step problem solving.",
                   "expertise": ["math", "number talks", "persistence", "problem solving"],
                   "rate_cents": 150_000, "languages": ["English", "Spanish"],
                   "travels": True, "travel_cost_cents": 42_050, "sharing": "consortium"}),
    ("el-dorado", {"id": "el-dorado.bell", "name": "Marcus Bell",
                   "email": "marcus.bell@example.org", "phone": "+1 530 555 0102",
                   "organisation": "Foothill Attendance Partners",
                   "bio": "Helps small districts build early warning lists and family outreach "
                          "for chronic absence.",
                   "expertise": ["attendance", "chronic absence", "family engagement"],
                   "rate_cents": 120_000, "languages": ["English"], "travels": True,
                   "travel_cost_cents": 30_000, "sharing": "consortium"}),
    ("el-dorado", {"id": "el-dorado.zhao", "name": "Dr. Lin Zhao",
                   "email": "lin.zhao@example.org", "phone": None,
                   "organisation": "Improvement Science Collaborative",
                   "bio": "Teaches design teams PDSA cycles, run charts and driver diagrams.",
                   "expertise": ["improvement science", "pdsa", "run chart", "measurement"],
                   "rate_cents": 180_000, "languages": ["English", "Mandarin"],
                   "travels": False, "travel_cost_cents": 0, "sharing": "consortium"}),
    ("el-dorado", {"id": "el-dorado.wolfe", "name": "Teresa Wolfe",
                   "email": "teresa.wolfe@example.org", "phone": "+1 530 555 0104",
                   "organisation": "Gold Country SEL Institute",
                   "bio": "Social-emotional learning in rural classrooms: persistence, "
                          "self-management, belonging.",
                   "expertise": ["social-emotional learning", "persistence", "motivation"],
                   "rate_cents": 90_000, "languages": ["English"], "travels": True,
                   "travel_cost_cents": 15_000, "sharing": "hubs", "hubs": ["alpine"]}),
    ("alpine", {"id": "alpine.okafor", "name": "James Okafor",
                "email": "james.okafor@example.org", "phone": "+1 530 555 0105",
                "organisation": "Rural Data Fellows",
                "bio": "Data use for small districts: dashboards without a data team.",
                "expertise": ["data use", "early warning", "attendance"],
                "rate_cents": 110_000, "languages": ["English"], "travels": False,
                "travel_cost_cents": 0, "sharing": "hubs", "hubs": ["el-dorado"]}),
]


def load_resources(api: Api) -> None:
    """The library, the pool of experts, and an engagement of Dr. Quintero by four El Dorado
    members, split by enrollment."""
    entries = json.loads(LIBRARY.read_text())
    # Resources hears of the hubs and members from membership's events, a moment after.
    deadline = time.monotonic() + 30
    while not api.known("POST", "/v1/resources", {**entries[0], "hub_id": "el-dorado"},
                        f"demo-2:library-{entries[0]['id']}"):
        if time.monotonic() > deadline:
            raise SystemExit("demo: the resources service did not hear of el-dorado")
        time.sleep(0.5)
    for entry in entries:
        api.post("/v1/resources", {**entry, "hub_id": entry["id"].split(".")[0]},
                 f"library-{entry['id']}")
    for hub, expert in EXPERTS:
        api.post("/v1/experts", {**expert, "hub_id": hub}, f"expert-{expert['id']}")
    engagement = "el-dorado.quintero-2017"
    api.post("/v1/engagements", {
        "id": engagement, "hub_id": "el-dorado", "expert_id": "el-dorado.quintero",
        "members": ["el-dorado.01", "el-dorado.02", "el-dorado.03", "el-dorado.04"],
        "sessions": 6, "split": "enrollment"}, f"propose-{engagement}")
    if api.call("GET", f"/v1/engagements/{engagement}")["status"] == "proposed":
        api.post(f"/v1/engagements/{engagement}/confirmation", None, f"confirm-{engagement}")


# El Dorado's school year 2026-27 (and a session Alpine books with the same expert).
MEETINGS = [
    ("el-dorado", {"id": "el-dorado.network-2026-27", "kind": "network_meeting",
                   "title": "El Dorado network meeting", "starts_at": "2026-09-10T09:00",
                   "minutes": 150, "rrule": "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TH;COUNT=5",
                   "location": "El Dorado County Office of Education, Placerville"}),
    ("el-dorado", {"id": "el-dorado.visit-buckeye", "kind": "site_visit",
                   "title": "Site visit: number talks at Buckeye Union",
                   "starts_at": "2026-10-14T10:00", "minutes": 180,
                   "host_member_id": "el-dorado.01",
                   "members": ["el-dorado.02", "el-dorado.03"]}),
    ("el-dorado", {"id": "el-dorado.visit-pollock", "kind": "site_visit",
                   "title": "Site visit: attendance teams at Pollock Pines",
                   "starts_at": "2027-02-17T10:00", "minutes": 180,
                   "host_member_id": "el-dorado.05", "members": ["el-dorado.06"]}),
    ("el-dorado", {"id": "el-dorado.checkins-04", "kind": "check_in",
                   "title": "Monthly check-in", "starts_at": "2026-09-01T15:30",
                   "minutes": 30, "rrule": "FREQ=MONTHLY;BYDAY=1TU;COUNT=9",
                   "members": ["el-dorado.04"]}),
    ("el-dorado", {"id": "el-dorado.checkin-07", "kind": "check_in",
                   "title": "Check-in before the spring cycle", "starts_at": "2027-01-26T15:30",
                   "minutes": 30, "members": ["el-dorado.07"]}),
    ("el-dorado", {"id": "el-dorado.webinar-number-talks", "kind": "webinar",
                   "title": "Webinar: number talks in small schools",
                   "starts_at": "2026-10-21T15:30", "minutes": 60}),
    ("el-dorado", {"id": "el-dorado.quintero-session-1", "kind": "expert_session",
                   "title": "Dr. Quintero: multi-step problems", "starts_at": "2027-01-20T09:00",
                   "minutes": 180, "expert_id": "el-dorado.quintero",
                   "engagement_id": "el-dorado.quintero-2017",
                   "members": ["el-dorado.01", "el-dorado.02", "el-dorado.03",
                               "el-dorado.04"]}),
    ("alpine", {"id": "alpine.quintero-session-1", "kind": "expert_session",
                "title": "Dr. Quintero: number talks", "starts_at": "2027-01-21T09:00",
                "minutes": 180, "expert_id": "el-dorado.quintero",
                "engagement_id": "alpine.quintero-2027"}),
]
# The spring testing window (CAASPP) of the members that test in it.
TESTING_WINDOW = ("2027-04-19", "2027-05-14", "state testing window (CAASPP)")


def load_scheduling(api: Api) -> None:
    """A school year of meetings, the spring testing window, and Dr. Quintero booked by El
    Dorado and by Alpine at different times."""
    alpine = "alpine.quintero-2027"
    api.post("/v1/engagements", {"id": alpine, "hub_id": "alpine",
                                 "expert_id": "el-dorado.quintero", "members": ["alpine.01"],
                                 "sessions": 2, "split": "equal"}, f"propose-{alpine}")
    if api.call("GET", f"/v1/engagements/{alpine}")["status"] == "proposed":
        api.post(f"/v1/engagements/{alpine}/confirmation", None, f"confirm-{alpine}")
    hub, first = MEETINGS[0]
    deadline = time.monotonic() + 30
    while not api.known("POST", f"/v1/hubs/{hub}/meetings", first,
                        f"demo-2:meeting-{first['id']}"):
        if time.monotonic() > deadline:
            raise SystemExit("demo: the scheduling service did not hear of el-dorado")
        time.sleep(0.5)
    for hub, meeting in MEETINGS[1:]:
        api.post(f"/v1/hubs/{hub}/meetings", meeting, f"meeting-{meeting['id']}")
    webinar = "/v1/meetings/el-dorado.webinar-number-talks"
    if api.call("GET", webinar)["recording_link"] is None:
        api.post(f"{webinar}/recording",
                 {"link": "https://example.org/el-dorado/webinars/number-talks"},
                 "webinar-recording")
    record_held_meetings(api)
    first_day, last_day, reason = TESTING_WINDOW
    for n in range(1, 6):
        member = f"el-dorado.{n:02d}"
        api.post(f"/v1/members/{member}/blackouts", {
            "id": f"el-dorado.caaspp-2027-{n:02d}", "starts_on": first_day,
            "ends_on": last_day, "reason": reason}, f"blackout-{member}")


def record_held_meetings(api: Api) -> None:
    """The September network meeting and the October webinar have been held: who came (all but
    every fifth invitee of the meeting; twelve people at the webinar, so the agencies' summary
    shows both a count and, for the webinar's feedback, one it suppresses) and what they
    thought."""
    held = (("el-dorado.network-2026-27", "2026-09-10T16:00:00Z", 5),
            ("el-dorado.webinar-number-talks", None, 12))   # one occurrence: no key
    for meeting, occurrence, many in held:
        invitees = sorted({i["person_id"] for i in api.call(
            "GET", f"/v1/meetings/{meeting}")["invitees"]})
        present = ([p for n, p in enumerate(invitees) if n % many != many - 1]
                   if many == 5 else invitees[:many])
        api.post(f"/v1/meetings/{meeting}/attendance",
                 {"occurrence": occurrence, "present": present}, f"attendance-{meeting}")
        raters = present if many == 5 else present[:8]
        for n, person in enumerate(raters):
            api.post(f"/v1/meetings/{meeting}/feedback", {
                "occurrence": occurrence, "person_id": person, "stars": 3 + n % 3},
                f"feedback-{meeting}-{person}")


def main() -> int:
    api = Api(os.environ.get("CONSORTIUM_HTTP_PORT", "8000"))
    facts = load(api)
    load_cycles(api)
    load_resources(api)
    load_scheduling(api)
    tokens = {
        "admin": issue("demo-admin", "admin", ["*"]),
        "facilitator (El Dorado)": issue("demo-facilitator-eldorado", "facilitator",
                                         ["el-dorado"]),
        "facilitator (Alpine)": issue("demo-facilitator-alpine", "facilitator", ["alpine"]),
        f"member ({facts['first_member']})": issue("demo-member", "member", ["el-dorado"],
                                                   member=facts["first_member"]),
        "agency (CA)": issue("demo-agency", "agency", [], state="CA"),
        "operator": issue("demo-operator", "operator", []),
    }
    print("demo consortium loaded: hubs el-dorado (13 members) and alpine (3 members)")
    print("tokens (valid 30 days; use as Authorization: Bearer <token>):")
    for who, value in tokens.items():
        print(f"  {who:28} {value}")
    print("try: curl -H 'Authorization: Bearer <facilitator token>' "
          "http://127.0.0.1:8000/v1/hubs/el-dorado/progress")
    print("     and /v1/indicators/el-dorado.buckeye-persistence/run-chart "
          "(with -H 'Accept: image/svg+xml' for the picture)")
    print("     and '/v1/resources?q=\"chronic absence\"&kind=research', "
          "/v1/engagements/el-dorado.quintero-2017")
    print("     and '/v1/hubs/el-dorado/meetings?from=2026-09-01&to=2027-06-30', "
          "/v1/hubs/el-dorado/calendar.ics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
