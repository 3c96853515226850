"""The public HTTP API as one table: dispatch, validation and the OpenAPI document all read it,
so they cannot disagree. Each route names the service and RPC method that answers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema

from services.cycles import schemas as cycles
from services.membership import schemas as membership


@dataclass
class Call:
    params: dict[str, str]
    body: dict[str, Any]
    key: str | None
    expected_version: int | None
    limit: int
    after: str | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str                      # werkzeug rule: /v1/hubs/<hub>
    service: str
    rpc: str
    args: Callable[[Call], tuple[list[Any], dict[str, Any]]]
    summary: str
    tag: str
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    paged: bool = False
    conditional: bool = False      # honours If-Match
    roles: tuple[str, ...] = field(default=("admin", "facilitator", "member"))
    # Also answers Accept: image/svg+xml, by calling the RPC with format="svg".
    svg: bool = False
    # Also takes a multipart/form-data upload: each file's text under its field name.
    uploads: bool = False
    # Bytes a body may have; 0 is the gateway's default (1 MB).
    max_body: int = 0

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}")


def _key(c: Call) -> dict[str, Any]:
    return {"key": c.key}


def _cond(c: Call) -> dict[str, Any]:
    return {"key": c.key, "expected_version": c.expected_version}


ROUTES: list[Route] = [
    Route("POST", "/v1/hubs", "membership", "register_hub",
          lambda c: ([c.body], _key(c)), "Register a county hub", "hubs",
          body=membership.HubCreate, response=membership.Hub, status=201, roles=("admin",)),
    Route("GET", "/v1/hubs", "membership", "list_hubs",
          lambda c: ([], {"limit": c.limit, "after": c.after}), "Hubs the caller may see",
          "hubs", response=membership.Hub, paged=True),
    Route("GET", "/v1/hubs/<hub>", "membership", "get_hub",
          lambda c: ([c.params["hub"]], {}), "One hub", "hubs", response=membership.Hub),
    Route("POST", "/v1/hubs/<hub>/facilitation", "membership", "hand_over_facilitation",
          lambda c: ([c.params["hub"], c.body], _cond(c)),
          "Hand facilitation over (external → co_facilitation → county_office)", "hubs",
          body=membership.FacilitationHandOver, response=membership.Hub, conditional=True,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/hubs/<hub>/members", "membership", "enroll_member",
          lambda c: ([c.params["hub"], c.body], _key(c)), "Enroll a member organization",
          "members", body=membership.MemberCreate, response=membership.Member, status=201,
          roles=("admin", "facilitator")),
    Route("GET", "/v1/hubs/<hub>/members", "membership", "list_members",
          lambda c: ([c.params["hub"]], {"limit": c.limit, "after": c.after}),
          "Members of a hub", "members", response=membership.Member, paged=True),
    Route("GET", "/v1/members/<member>", "membership", "get_member",
          lambda c: ([c.params["member"]], {}), "One member with its roles", "members",
          response=membership.Member),
    Route("POST", "/v1/members/<member>/offboarding", "membership", "offboard_member",
          lambda c: ([c.params["member"], c.body], _cond(c)), "Off-board a member", "members",
          body=membership.Offboarding, response=membership.Member, conditional=True,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/roles", "membership", "assign_role",
          lambda c: ([c.params["member"], c.body], _cond(c)),
          "Give a person a role: sponsor, driver, design_team (representing a group), "
          "facilitator", "members", body=membership.RoleAssignment,
          response=membership.Member, conditional=True, roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/onboarding", "membership", "complete_onboarding",
          lambda c: ([c.params["member"]], _cond(c)), "Record that onboarding is complete",
          "members", body=membership.Onboarding, response=membership.Member,
          conditional=True, roles=("admin", "facilitator")),
    Route("GET", "/v1/members/<member>/readiness", "membership", "readiness",
          lambda c: ([c.params["member"]], {}), "Pre-work checklist and what is missing",
          "members", response=membership.Readiness),
    Route("POST", "/v1/hubs/<hub>/people", "membership", "add_person",
          lambda c: ([c.params["hub"], c.body], _key(c)), "Add a person to a hub", "people",
          body=membership.PersonCreate, response=membership.Person, status=201,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/staff-imports", "membership", "import_staff",
          lambda c: ([c.params["member"], c.body], _key(c)),
          "Import a member's staff from a OneRoster 1.1 export (orgs.csv, users.csv; JSON "
          "or multipart upload): good rows are added, bad rows reported by file and line, "
          "students and families never imported", "people", body=membership.StaffImport,
          response=membership.StaffImportReport, roles=("admin", "facilitator"),
          uploads=True, max_body=membership.ROSTER_MAX_BYTES + 100_000),
    Route("GET", "/v1/members/<member>/people", "membership", "list_staff",
          lambda c: ([c.params["member"]], {"limit": c.limit, "after": c.after}),
          "A member's staff (people imported or added for the member)", "people",
          response=membership.Person, paged=True),
    Route("GET", "/v1/people/<person>", "membership", "get_person",
          lambda c: ([c.params["person"]], {}), "One person", "people",
          response=membership.Person),
    Route("DELETE", "/v1/people/<person>", "membership", "erase_person",
          lambda c: ([c.params["person"]], _key(c)),
          "Erase a person's personal data everywhere (the log keeps only the id)", "people",
          response=membership.Person, roles=("admin", "facilitator")),

    # -- cycles: problems of practice, projects, the design process, test cycles ------------
    Route("POST", "/v1/hubs/<hub>/problems", "cycles", "draft_problem",
          lambda c: ([c.params["hub"], c.body], _key(c)),
          "Draft a problem of practice from shared data", "problems",
          body=cycles.ProblemCreate, response=cycles.ProblemOfPractice, status=201,
          roles=("admin", "facilitator")),
    Route("GET", "/v1/hubs/<hub>/problems", "cycles", "list_problems",
          lambda c: ([c.params["hub"]], {"limit": c.limit, "after": c.after}),
          "Problems of practice of a hub", "problems", response=cycles.ProblemOfPractice,
          paged=True),
    Route("GET", "/v1/problems/<problem>", "cycles", "get_problem",
          lambda c: ([c.params["problem"]], {}), "One problem of practice", "problems",
          response=cycles.ProblemOfPractice),
    Route("POST", "/v1/problems/<problem>/ratification", "cycles", "ratify_problem",
          lambda c: ([c.params["problem"], c.body], _cond(c)),
          "Record the network's ratification of a problem of practice", "problems",
          body=cycles.Ratification, response=cycles.ProblemOfPractice, conditional=True,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/projects", "cycles", "open_project",
          lambda c: ([c.params["member"], c.body], _key(c)),
          "The member adopts a ratified problem of practice: its improvement project opens",
          "projects", body=cycles.ProjectCreate, response=cycles.Project, status=201),
    Route("GET", "/v1/projects/<project>", "cycles", "get_project",
          lambda c: ([c.params["project"]], {}),
          "A project: goals, data, insights, ideas, prototypes, indicators, test cycles, and "
          "what the phase still needs", "projects", response=cycles.Project),
    Route("POST", "/v1/projects/<project>/goals", "cycles", "set_goal",
          lambda c: ([c.params["project"], c.body], _cond(c)),
          "Set a SMART goal (impact or implementation); a goal that is not measurable or "
          "not time-bound is refused with the reason", "projects", body=cycles.GoalCreate,
          response=cycles.Project, status=201, conditional=True),
    Route("POST", "/v1/goals/<goal>/revisions", "cycles", "revise_goal",
          lambda c: ([c.params["goal"], c.body], _key(c)),
          "Revise a goal as the member learns (the history is kept)", "projects",
          body=cycles.GoalRevision, response=cycles.Project, status=201),
    Route("POST", "/v1/projects/<project>/data", "cycles", "collect_data",
          lambda c: ([c.params["project"], c.body], _key(c)),
          "Record data collected (survey, interview, assessment, grades, attendance, "
          "behavior, observation)", "projects", body=cycles.DataCreate,
          response=cycles.Project, status=201),
    Route("POST", "/v1/projects/<project>/insights", "cycles", "add_insight",
          lambda c: ([c.params["project"], c.body], _key(c)), "Record an insight", "projects",
          body=cycles.InsightCreate, response=cycles.Project, status=201),
    Route("POST", "/v1/projects/<project>/ideas", "cycles", "add_idea",
          lambda c: ([c.params["project"], c.body], _key(c)),
          "Record a change idea and its source (expert, resource, peer)", "projects",
          body=cycles.IdeaCreate, response=cycles.Project, status=201),
    Route("POST", "/v1/projects/<project>/prototypes", "cycles", "propose_prototype",
          lambda c: ([c.params["project"], c.body], _key(c)),
          "Propose a prototype built from change ideas", "projects",
          body=cycles.PrototypeCreate, response=cycles.Project, status=201),
    Route("POST", "/v1/projects/<project>/phase", "cycles", "change_phase",
          lambda c: ([c.params["project"], c.body], _cond(c)),
          "Move to the next phase (exit criteria checked) or back from test to prototype "
          "(revises the prototype)", "projects", body=cycles.PhaseChange,
          response=cycles.Project, conditional=True),
    Route("POST", "/v1/prototypes/<prototype>/selection", "cycles", "select_prototype",
          lambda c: ([c.params["prototype"], c.body], _key(c)),
          "Select the prototype to test, against criteria", "projects",
          body=cycles.Selection, response=cycles.Project),
    Route("POST", "/v1/prototypes/<prototype>/indicators", "cycles", "define_indicator",
          lambda c: ([c.params["prototype"], c.body], _key(c)),
          "Define an indicator (leading, lagging, process, balancing)", "projects",
          body=cycles.IndicatorCreate, response=cycles.Project, status=201),
    Route("POST", "/v1/prototypes/<prototype>/cycles", "cycles", "start_cycle",
          lambda c: ([c.params["prototype"], c.body], _key(c)),
          "Start a test cycle: plan (who, when, how) and prediction", "cycles",
          body=cycles.CycleCreate, response=cycles.Project, status=201),
    Route("POST", "/v1/prototypes/<prototype>/sharing", "cycles", "share_prototype",
          lambda c: ([c.params["prototype"], c.body], _key(c)),
          "Publish a prototype and its results to the network's peers", "cycles",
          body=cycles.Sharing, response=cycles.Project, status=201),
    Route("POST", "/v1/cycles/<cycle>/measurements", "cycles", "record_measurement",
          lambda c: ([c.params["cycle"], c.body], _key(c)),
          "Record a measurement: an aggregate value with its group size n (never a "
          "student's)", "cycles", body=cycles.MeasurementCreate, response=cycles.Project,
          status=201),
    Route("POST", "/v1/cycles/<cycle>/completion", "cycles", "complete_cycle",
          lambda c: ([c.params["cycle"], c.body], _key(c)),
          "Complete a test cycle with findings and a decision (adopt, adapt, abandon)",
          "cycles", body=cycles.Completion, response=cycles.Project),
    Route("GET", "/v1/indicators/<indicator>/run-chart", "cycles", "run_chart",
          lambda c: ([c.params["indicator"]], {}),
          "Run chart: points, median, runs and signals (Accept: image/svg+xml for a picture)",
          "cycles", response=cycles.RunChart, svg=True),
    Route("GET", "/v1/hubs/<hub>/progress", "cycles", "hub_progress",
          lambda c: ([c.params["hub"]], {}),
          "Every member's phase, cycles completed and latest indicator signals", "cycles",
          response=cycles.HubProgress),
]
