"""The cycles service's part of the public HTTP API (API.md): the gateway serves this table."""

from eventstore.routes import JSON, Route

from . import schemas

WRITERS = ("admin", "facilitator")
# A project's answer names the project and its parts: the routes that take them are linked.
PROJECT = {"project": "/id", "goal": "/goals/0/id", "prototype": "/prototypes/0/id",
           "indicator": "/indicators/0/id", "cycle": "/cycles/0/id"}
SVG = "image/svg+xml"
# A command on a project (or a part of it) answers the project, links its parts, and honours
# If-Match (the project's version).
ON_PROJECT: dict = {"response": schemas.Project, "links": PROJECT, "conditional": True}

ROUTES: list[Route] = [
    Route("POST", "/v1/hubs/<hub>/problems", "draft_problem",
          "Draft a problem of practice from shared data", "problems",
          body=schemas.ProblemCreate, response=schemas.ProblemOfPractice, status=201,
          roles=WRITERS, links={"problem": "/id"}),
    Route("GET", "/v1/hubs/<hub>/problems", "list_problems",
          "Problems of practice of a hub", "problems", response=schemas.ProblemOfPractice,
          paged=True),
    Route("GET", "/v1/problems/<problem>", "get_problem", "One problem of practice", "problems",
          response=schemas.ProblemOfPractice),
    Route("POST", "/v1/problems/<problem>/ratification", "ratify_problem",
          "Record the network's ratification of a problem of practice", "problems",
          body=schemas.Ratification, response=schemas.ProblemOfPractice, conditional=True,
          roles=WRITERS),
    Route("POST", "/v1/members/<member>/projects", "open_project",
          "The member adopts a ratified problem of practice: its improvement project opens",
          "projects", body=schemas.ProjectCreate, response=schemas.Project, links=PROJECT,
          status=201),
    Route("GET", "/v1/projects/<project>", "get_project",
          "A project: goals, data, insights, ideas, prototypes, indicators, test cycles, and "
          "what the phase still needs", "projects", response=schemas.Project),
    Route("POST", "/v1/projects/<project>/goals", "set_goal",
          "Set a SMART goal (impact or implementation); a goal that is not measurable or "
          "not time-bound is refused with the reason", "projects", body=schemas.GoalCreate,
          status=201, **ON_PROJECT),
    Route("POST", "/v1/goals/<goal>/revisions", "revise_goal",
          "Revise a goal as the member learns (the history is kept)", "projects",
          body=schemas.GoalRevision, status=201, **ON_PROJECT),
    Route("POST", "/v1/projects/<project>/data", "collect_data",
          "Record data collected (survey, interview, assessment, grades, attendance, "
          "behavior, observation)", "projects", body=schemas.DataCreate,
          status=201, **ON_PROJECT),
    Route("POST", "/v1/projects/<project>/insights", "add_insight", "Record an insight", "projects",
          body=schemas.InsightCreate, status=201, **ON_PROJECT),
    Route("POST", "/v1/projects/<project>/ideas", "add_idea",
          "Record a change idea and its source (expert, resource, peer)", "projects",
          body=schemas.IdeaCreate, status=201, **ON_PROJECT),
    Route("POST", "/v1/projects/<project>/prototypes", "propose_prototype",
          "Propose a prototype built from change ideas", "projects",
          body=schemas.PrototypeCreate, status=201, **ON_PROJECT),
    Route("POST", "/v1/projects/<project>/phase", "change_phase",
          "Move to the next phase (exit criteria checked) or back from test to prototype "
          "(revises the prototype)", "projects", body=schemas.PhaseChange,
          **ON_PROJECT),
    Route("POST", "/v1/prototypes/<prototype>/selection", "select_prototype",
          "Select the prototype to test, against criteria", "projects",
          body=schemas.Selection, **ON_PROJECT),
    Route("POST", "/v1/prototypes/<prototype>/indicators", "define_indicator",
          "Define an indicator (leading, lagging, process, balancing)", "projects",
          body=schemas.IndicatorCreate, status=201, **ON_PROJECT),
    Route("POST", "/v1/prototypes/<prototype>/cycles", "start_cycle",
          "Start a test cycle: plan (who, when, how) and prediction", "cycles",
          body=schemas.CycleCreate, status=201, **ON_PROJECT),
    Route("POST", "/v1/prototypes/<prototype>/sharing", "share_prototype",
          "Publish a prototype and its results to the network's peers", "cycles",
          body=schemas.Sharing, status=201, **ON_PROJECT),
    Route("DELETE", "/v1/prototypes/<prototype>/sharing", "unshare_prototype",
          "Withdraw a prototype from the network: other hubs no longer find it", "cycles",
          **ON_PROJECT),
    Route("POST", "/v1/cycles/<cycle>/measurements", "record_measurement",
          "Record a measurement: an aggregate value with its group size n (never a "
          "student's)", "cycles", body=schemas.MeasurementCreate, response=schemas.Project,
          links=PROJECT, status=201, conditional=True),
    Route("POST", "/v1/cycles/<cycle>/completion", "complete_cycle",
          "Complete a test cycle with findings and a decision (adopt, adapt, abandon)",
          "cycles", body=schemas.Completion, response=schemas.Project, conditional=True),
    Route("GET", "/v1/indicators/<indicator>/run-chart", "run_chart",
          "Run chart: points, median, runs and signals (Accept: image/svg+xml for a picture)",
          "cycles", response=schemas.RunChart,
          content={JSON: "json", SVG: "svg"}),
    Route("GET", "/v1/hubs/<hub>/progress", "hub_progress",
          "The hub's members, each with its projects' phase, cycles completed and latest "
          "indicator signals", "cycles", response=schemas.MemberProgress, paged=True),
    Route("GET", "/v1/hubs/<hub>/shares", "hub_shares",
          "Prototypes the hub's members shared with the network, with their results, in the "
          "order they were shared", "cycles", response=schemas.SharedPrototype, paged=True),
]
