"""Cycles: problems of practice, and each member's improvement project on the one it adopted —
SMART goals, the design process (discover → interpret → ideate → prototype → test → evolve)
with its exit criteria, prototypes and their indicators, test cycles and their measurements
(DESIGN.md §7).

Plain Python: aggregates decide and record events; no I/O, no clock (the service passes
``today``). Measurements are aggregates with a group size; a student never appears here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import Conflict, NotFound, ValidationError

PHASES = ("discover", "interpret", "ideate", "prototype", "test", "evolve")
DATA_METHODS = ("survey", "interview", "assessment", "grades", "attendance", "behavior",
                "observation")
IDEA_SOURCES = ("expert", "resource", "peer")
GOAL_KINDS = ("impact", "implementation")
INDICATOR_KINDS = ("leading", "lagging", "process", "balancing")
DIRECTIONS = ("up", "down")
DECISIONS = ("adopt", "adapt", "abandon")
# The smallest group a measurement may describe: below it, a value is close to one student's.
MIN_GROUP_SIZE = 5
# Points one indicator's run chart may hold: years of weekly measurement, and a bound on what
# one client can make every read of the chart (and the hub's progress) compute.
MAX_POINTS_PER_INDICATOR = 1000
# How much one project may hold (decision 005): far more than a district's multi-year project
# records (a few goals, tens of data sets and ideas, a handful of prototypes, a few dozen test
# cycles), and a bound on what every load of the project and every read of it carries. Past
# one, the command is refused (422) naming the limit.
MAX_GOALS = 20
MAX_REVISIONS_PER_GOAL = 20
MAX_DATA_SETS = 200
MAX_INSIGHTS = 200
MAX_IDEAS = 200
MAX_PROTOTYPES = 30
MAX_REVISIONS_PER_PROTOTYPE = 20
MAX_INDICATORS = 30
MAX_CYCLES = 100
# A project's part lists, as its answers show them.
PART_LISTS = ("goals", "data", "insights", "ideas", "prototypes", "indicators", "cycles")
# The events that change a part: its list, and the field of the event that names it.
PART_CHANGED_BY = {
    "GoalSet": ("goals", "goal_id"), "GoalRevised": ("goals", "goal_id"),
    "DataCollected": ("data", "data_id"), "InsightRecorded": ("insights", "insight_id"),
    "ChangeIdeaRecorded": ("ideas", "idea_id"),
    "PrototypeProposed": ("prototypes", "prototype_id"),
    "PrototypeSelected": ("prototypes", "prototype_id"),
    "PrototypeRevised": ("prototypes", "prototype_id"),
    "PrototypeShared": ("prototypes", "prototype_id"),
    "PrototypeUnshared": ("prototypes", "prototype_id"),
    "IndicatorDefined": ("indicators", "indicator_id"),
    "CycleStarted": ("cycles", "cycle_id"), "MeasurementRecorded": ("cycles", "cycle_id"),
    "CycleCompleted": ("cycles", "cycle_id")}
MEASUREMENT_FIELDS = ("indicator_id", "value", "n", "on", "note")


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, {field: [message]})


def _within(held: int, most: int, field: str, message: str) -> None:
    """Refuse one more part when ``held`` is at ``most`` already (or past it: a stream recorded
    before the limit may hold more)."""
    if held >= most:
        raise _refuse(field, message)


def changed_parts(events: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """The parts of a project these events (what one command wrote) changed: the ids in each
    part list, in the order they were first changed."""
    changed: dict[str, list[str]] = {name: [] for name in PART_LISTS}
    for event_type, data in events:
        part = PART_CHANGED_BY.get(event_type)
        if part is not None and data[part[1]] not in changed[part[0]]:
            changed[part[0]].append(data[part[1]])
    return changed


class Problem(Aggregate):
    """A problem of practice a hub drafts from shared data and the network ratifies."""

    stream_type = "problem"
    noun = "problem of practice"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.title = ""
        self.status = ""

    def draft(self, hub_id: str, title: str, statement: str, supporting_data: list[dict],
              selection_criteria: list[str]) -> None:
        if self.exists:
            raise Conflict(f"problem {self.id} exists already")
        if not supporting_data:
            raise _refuse("supporting_data", "a problem of practice is drafted from shared "
                          "data: name at least one source and what it shows")
        if not selection_criteria:
            raise _refuse("selection_criteria", "say why the network chose this problem: at "
                          "least one selection criterion")
        self.record("ProblemDrafted", hub_id=hub_id, title=title, statement=statement,
                    supporting_data=supporting_data, selection_criteria=selection_criteria)

    def ratify(self, on: str, votes_for: int | None, votes_against: int | None) -> None:
        if self.status == "ratified":
            raise Conflict(f"problem {self.id} is ratified already")
        if votes_for is not None and votes_against is not None and votes_for <= votes_against:
            raise Conflict("the network did not ratify it: a majority must vote for it")
        self.record("ProblemRatified", on=on, votes_for=votes_for, votes_against=votes_against)

    @applies("ProblemDrafted")
    def _drafted(self, data: dict[str, Any]) -> None:
        self.hub_id, self.title, self.status = data["hub_id"], data["title"], "draft"

    @applies("ProblemRatified")
    def _ratified(self, data: dict[str, Any]) -> None:
        self.status = "ratified"


def check_smart(goal: dict[str, Any], today: date) -> None:
    """Specific, measurable (a measure, a baseline and a different target), time-bound (a due
    date after today). Refuses with the reason, naming the field."""
    errors: dict[str, list[str]] = {}
    if len((goal.get("statement") or "").split()) < 3:
        errors["statement"] = ["not specific: say what will change, for whom, in a sentence"]
    if not goal.get("measure"):
        errors["measure"] = ["not measurable: name the measure"]
    for name in ("baseline", "target"):
        if not isinstance(goal.get(name), (int, float)) or isinstance(goal.get(name), bool):
            errors[name] = [f"not measurable: a {name} number is required"]
    if "baseline" not in errors and "target" not in errors \
            and goal["baseline"] == goal["target"]:
        errors["target"] = ["not measurable: the target must differ from the baseline"]
    due = goal.get("due")
    if not due:
        errors["due"] = ["not time-bound: a due date is required"]
    elif date.fromisoformat(due) <= today:
        errors["due"] = ["not time-bound: the due date must be in the future"]
    if errors:
        raise ValidationError("the goal is not SMART: " + "; ".join(
            f"{k}: {v[0]}" for k, v in errors.items()), errors)


class Project(Aggregate):
    """A member's improvement project on the problem of practice it adopted."""

    stream_type = "project"
    snapshot_every = 100

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.member_id = ""
        self.problem_id = ""
        self.phase: str | None = None
        self.goals: dict[str, dict[str, Any]] = {}
        self.smart_goals_set = False
        self.data: dict[str, dict[str, Any]] = {}
        self.insights: dict[str, dict[str, Any]] = {}
        self.ideas: dict[str, dict[str, Any]] = {}
        self.prototypes: dict[str, dict[str, Any]] = {}
        self.selected_prototype: str | None = None
        self.indicators: dict[str, dict[str, Any]] = {}
        self.cycles: dict[str, dict[str, Any]] = {}
        self.shares: list[dict[str, Any]] = []

    # -- adoption and goals --------------------------------------------------------------------

    def open(self, hub_id: str, member_id: str, problem: Problem,
             member_active: bool = True, adopted_already: bool = False) -> None:
        """The member adopts the problem; ``adopted_already``: the member has a project on
        it (one project per member and problem)."""
        if self.exists:
            raise Conflict(f"project {self.id} exists already")
        if not member_active:
            raise Conflict(f"member {member_id} has been off-boarded")
        if adopted_already:
            raise Conflict(f"member {member_id} has adopted problem {problem.id} already")
        if problem.hub_id != hub_id:
            # The words of a missing problem: another county's tell nothing of it.
            raise NotFound(f"no {Problem.noun} {problem.id}")
        if problem.status != "ratified":
            raise Conflict(f"problem {problem.id} is not ratified yet: the network ratifies a "
                           f"problem before members adopt it")
        self.record("ProjectOpened", hub_id=hub_id, member_id=member_id, problem_id=problem.id)

    def set_goal(self, goal_id: str, goal: dict[str, Any], today: date) -> None:
        self._new(self.goals, goal_id, "goal")
        _within(len(self.goals), MAX_GOALS, "goals", f"a project holds at most {MAX_GOALS} "
                "goals: revise a goal rather than set another")
        if goal.get("kind") not in GOAL_KINDS:
            raise _refuse("kind", f"one of {', '.join(GOAL_KINDS)}")
        check_smart(goal, today)
        self.record("GoalSet", goal_id=goal_id, **_goal_fields(goal))
        if not self.smart_goals_set and {g["kind"] for g in self.goals.values()} >= set(
                GOAL_KINDS):
            self.record("SmartGoalsSet", member_id=self.member_id)

    def revise_goal(self, goal_id: str, changes: dict[str, Any], reason: str,
                    today: date) -> None:
        goal = self._part(self.goals, goal_id, "goal")
        _within(len(goal["revisions"]), MAX_REVISIONS_PER_GOAL, "revisions",
                f"a goal is revised at most {MAX_REVISIONS_PER_GOAL} times: set a new goal to "
                "go on")
        revised = {**goal, **{k: v for k, v in changes.items() if v is not None}}
        if revised["kind"] != goal["kind"]:
            raise _refuse("kind", "a goal keeps its kind; set a new goal instead")
        check_smart(revised, today)
        self.record("GoalRevised", goal_id=goal_id, reason=reason, **_goal_fields(revised))

    # -- the design process --------------------------------------------------------------------

    def advance(self, to: str, prework_ready: bool, reason: str | None = None) -> None:
        """Move to the next phase when the current one's exit criteria are met, or back from
        test to prototype to revise the prototype."""
        if to not in PHASES:
            raise _refuse("phase", f"one of {', '.join(PHASES)}")
        if self.phase == "test" and to == "prototype":
            if not reason:
                raise _refuse("reason", "say why the prototype is revised")
            running = self._running_cycles()
            if running:
                raise Conflict(f"test cycle {running[0]} is running: complete it (its "
                               "findings and decision) before revising the prototype")
            assert self.selected_prototype is not None
            _within(len(self.prototypes[self.selected_prototype]["revisions"]),
                    MAX_REVISIONS_PER_PROTOTYPE, "revisions",
                    f"a prototype is revised at most {MAX_REVISIONS_PER_PROTOTYPE} times: "
                    "propose a new prototype to go on")
            self.record("PhaseChanged", phase=to, previous="test", reason=reason)
            self.record("PrototypeRevised", prototype_id=self.selected_prototype,
                        revision=self.prototypes[self.selected_prototype]["revision"] + 1,
                        reason=reason)
            return
        expected = PHASES[0] if self.phase is None else (
            PHASES[PHASES.index(self.phase) + 1] if self.phase != PHASES[-1] else None)
        if to != expected:
            raise Conflict(f"the project is in {self.phase or 'pre-work'}; it can move to "
                           f"{expected or 'no later phase'}"
                           + (" or back to prototype" if self.phase == "test" else ""))
        missing = self.exit_criteria_missing(prework_ready)
        if missing:
            raise Conflict(f"{self.phase or 'pre-work'} is not finished: "
                           + "; ".join(missing), missing=missing)
        self.record("PhaseChanged", phase=to, previous=self.phase, reason=reason)

    def exit_criteria_missing(self, prework_ready: bool = True) -> list[str]:
        """What the current phase still needs before the project moves on."""
        phase = self.phase
        if phase is None:
            return ([] if prework_ready else
                    ["membership pre-work: sponsor, driver, representative design team and "
                     "onboarding (see the member's readiness)"]) + (
                [] if self.smart_goals_set else
                ["SMART goals: at least one impact and one implementation goal"])
        if phase == "discover":
            return [] if self.data else ["data collected (survey, interview, assessment, …)"]
        if phase == "interpret":
            return [] if self.insights else ["at least one insight from the data"]
        if phase == "ideate":
            return [] if self.ideas else ["at least one change idea with its source"]
        if phase == "prototype":
            if self.selected_prototype is None:
                return ["a prototype selected against criteria"]
            if not any(i["kind"] == "leading" and i["prototype_id"] == self.selected_prototype
                       for i in self.indicators.values()):
                return ["a leading indicator for the selected prototype"]
            return []
        if phase == "test":
            # The prototype as it stands now: a cycle of an earlier revision tested another.
            assert self.selected_prototype is not None
            revision = self.prototypes[self.selected_prototype]["revision"]
            done = [c for c in self.cycles.values()
                    if c["status"] == "completed" and c["prototype_id"] == self.selected_prototype
                    and c["revision"] == revision]
            if not done:
                return ["a completed test cycle of the selected prototype"
                        + (f" as revised (revision {revision})" if revision > 1 else "")]
            return [f"test cycle {running} completed (it is running)"
                    for running in self._running_cycles()]
        return []

    def _running_cycles(self) -> list[str]:
        return [c["id"] for c in self.cycles.values() if c["status"] == "running"]

    def _require_phase(self, *phases: str) -> None:
        if self.phase not in phases:
            raise Conflict(f"the project is in {self.phase or 'pre-work'}; this belongs to "
                           f"{' or '.join(phases)}")

    def collect_data(self, data_id: str, method: str, summary: str, source: str | None,
                     n: int | None) -> None:
        self._require_phase(*PHASES)
        self._new(self.data, data_id, "data set")
        _within(len(self.data), MAX_DATA_SETS, "data", f"a project holds at most "
                f"{MAX_DATA_SETS} data sets: summarise several in one")
        if method not in DATA_METHODS:
            raise _refuse("method", f"one of {', '.join(DATA_METHODS)}")
        self.record("DataCollected", data_id=data_id, method=method, summary=summary,
                    source=source, n=n)

    def add_insight(self, insight_id: str, text: str, data_ids: list[str]) -> None:
        self._require_phase(*PHASES[1:])
        self._new(self.insights, insight_id, "insight")
        _within(len(self.insights), MAX_INSIGHTS, "insights", f"a project holds at most "
                f"{MAX_INSIGHTS} insights: say several in one")
        for data_id in data_ids:
            self._part(self.data, data_id, "data")
        self.record("InsightRecorded", insight_id=insight_id, text=text, data_ids=data_ids)

    def add_idea(self, idea_id: str, description: str, source: str,
                 source_ref: str | None) -> None:
        self._require_phase(*PHASES[2:])
        self._new(self.ideas, idea_id, "change idea")
        _within(len(self.ideas), MAX_IDEAS, "ideas", f"a project holds at most {MAX_IDEAS} "
                "change ideas: build prototypes from those it has")
        if source not in IDEA_SOURCES:
            raise _refuse("source", f"one of {', '.join(IDEA_SOURCES)}")
        self.record("ChangeIdeaRecorded", idea_id=idea_id, description=description,
                    source=source, source_ref=source_ref)

    def propose_prototype(self, prototype_id: str, name: str, description: str,
                          idea_ids: list[str]) -> None:
        self._require_phase("prototype", "test", "evolve")
        self._new(self.prototypes, prototype_id, "prototype")
        _within(len(self.prototypes), MAX_PROTOTYPES, "prototypes", f"a project holds at most "
                f"{MAX_PROTOTYPES} prototypes: revise one rather than propose another")
        if not idea_ids:
            raise _refuse("idea_ids", "a prototype tests at least one change idea")
        for idea_id in idea_ids:
            self._part(self.ideas, idea_id, "change idea")
        self.record("PrototypeProposed", prototype_id=prototype_id, name=name,
                    description=description, idea_ids=idea_ids)

    def select_prototype(self, prototype_id: str, criteria: list[dict[str, Any]]) -> None:
        self._require_phase("prototype")
        self._part(self.prototypes, prototype_id, "prototype")
        if not criteria:
            raise _refuse("criteria", "a prototype is selected against criteria: give them")
        unmet = [c["criterion"] for c in criteria if not c["met"]]
        if unmet:
            raise Conflict(f"prototype {prototype_id} does not meet: {', '.join(unmet)}")
        self.record("PrototypeSelected", prototype_id=prototype_id, criteria=criteria)

    def define_indicator(self, indicator_id: str, prototype_id: str, spec: dict[str, Any]) -> None:
        self._part(self.prototypes, prototype_id, "prototype")
        self._new(self.indicators, indicator_id, "indicator")
        _within(len(self.indicators), MAX_INDICATORS, "indicators", f"a project holds at most "
                f"{MAX_INDICATORS} indicators: measure on with those it has")
        if spec["kind"] not in INDICATOR_KINDS:
            raise _refuse("kind", f"one of {', '.join(INDICATOR_KINDS)}")
        if spec["direction"] not in DIRECTIONS:
            raise _refuse("direction", f"one of {', '.join(DIRECTIONS)}")
        if spec.get("target") is not None and spec.get("baseline") is not None:
            better = spec["target"] > spec["baseline"] if spec["direction"] == "up" \
                else spec["target"] < spec["baseline"]
            if not better:
                side = "above" if spec["direction"] == "up" else "below"
                raise _refuse("target", f"the target must be {side} the baseline for an "
                              f"indicator that should go {spec['direction']}")
        self.record("IndicatorDefined", indicator_id=indicator_id, prototype_id=prototype_id,
                    name=spec["name"], kind=spec["kind"], unit=spec["unit"],
                    direction=spec["direction"], baseline=spec.get("baseline"),
                    target=spec.get("target"))

    # -- test cycles ---------------------------------------------------------------------------

    def start_cycle(self, cycle_id: str, prototype_id: str, plan: dict[str, Any],
                    prediction: str) -> None:
        self._require_phase("test")
        self._new(self.cycles, cycle_id, "test cycle")
        self._part(self.prototypes, prototype_id, "prototype")
        if prototype_id != self.selected_prototype:
            raise Conflict(f"prototype {prototype_id} is not the selected prototype")
        if self._running_cycles():
            raise Conflict("a test cycle is running: complete it before starting the next")
        _within(len(self.cycles), MAX_CYCLES, "cycles", f"a project holds at most "
                f"{MAX_CYCLES} test cycles: a longer effort is a new project")
        if plan["ends"] < plan["starts"]:
            raise _refuse("plan.ends", "a cycle ends on or after the day it starts")
        self.record("CycleStarted", cycle_id=cycle_id, prototype_id=prototype_id,
                    revision=self.prototypes[prototype_id]["revision"], plan=plan,
                    prediction=prediction,
                    number=sum(c["prototype_id"] == prototype_id
                               for c in self.cycles.values()) + 1)

    def record_measurement(self, cycle_id: str, indicator_id: str, value: float, n: int,
                           on: str, note: str | None = None) -> None:
        cycle = self._part(self.cycles, cycle_id, "test cycle")
        indicator = self._part(self.indicators, indicator_id, "indicator")
        if cycle["status"] != "running":
            raise Conflict(f"test cycle {cycle_id} is completed; measurements are closed")
        if indicator["prototype_id"] != cycle["prototype_id"]:
            raise _refuse("indicator_id", "the indicator belongs to another prototype")
        if n < MIN_GROUP_SIZE:
            raise _refuse("n", f"a measurement describes a group of at least "
                          f"{MIN_GROUP_SIZE}; the platform keeps no student-level data")
        points = sum(m["indicator_id"] == indicator_id
                     for c in self.cycles.values() for m in c["measurements"])
        if points >= MAX_POINTS_PER_INDICATOR:
            raise Conflict(f"indicator {indicator_id} has {MAX_POINTS_PER_INDICATOR} "
                           "measurements, as many as a run chart holds; define a new "
                           "indicator to go on")
        self.record("MeasurementRecorded", cycle_id=cycle_id, indicator_id=indicator_id,
                    value=value, n=n, on=on, note=note)

    def complete_cycle(self, cycle_id: str, findings: str, decision: str) -> None:
        cycle = self._part(self.cycles, cycle_id, "test cycle")
        if cycle["status"] != "running":
            raise Conflict(f"test cycle {cycle_id} is completed already")
        if decision not in DECISIONS:
            raise _refuse("decision", f"one of {', '.join(DECISIONS)}")
        if not cycle["measurements"]:
            raise Conflict("a test cycle is completed with at least one measurement: what "
                           "did the data say?")
        self.record("CycleCompleted", cycle_id=cycle_id, findings=findings, decision=decision,
                    prototype_id=cycle["prototype_id"])

    def share_prototype(self, prototype_id: str, summary: str) -> None:
        """Publish a prototype and its results to the network's peers."""
        prototype = self._part(self.prototypes, prototype_id, "prototype")
        done = [c for c in self.cycles.values()
                if c["prototype_id"] == prototype_id and c["status"] == "completed"]
        if not done:
            raise Conflict("share a prototype once a test cycle of it is completed")
        revision = prototype["revision"]
        # (A project snapshotted before shares named their revision holds shares without one.)
        if any(s["prototype_id"] == prototype_id and s.get("revision") == revision
               for s in self.shares):
            raise Conflict(f"prototype {prototype_id} is shared already as it stands (revision "
                           f"{revision}); a revised prototype may be shared again")
        self.record("PrototypeShared", prototype_id=prototype_id, revision=revision,
                    member_id=self.member_id, problem_id=self.problem_id,
                    name=prototype["name"], summary=summary,
                    results=[{"cycle_id": c["id"], "number": c["number"],
                              "decision": c["decision"], "findings": c["findings"]}
                             for c in done])

    def unshare_prototype(self, prototype_id: str) -> None:
        """Withdraw a shared prototype from the network: other hubs no longer find any of its
        shared revisions; it may be shared again after."""
        prototype = self._part(self.prototypes, prototype_id, "prototype")
        if not prototype["shared"]:
            raise Conflict(f"prototype {prototype_id} is not shared")
        self.record("PrototypeUnshared", prototype_id=prototype_id, member_id=self.member_id)

    # -- what it shows --------------------------------------------------------------------------

    def shown(self) -> dict[str, Any]:
        """The whole project, as a read shows it."""
        return self._shown({name: list(getattr(self, name)) for name in PART_LISTS}, None)

    def answer(self, events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """What a command on the project answers, ``events`` being what it wrote: the project's
        own fields and, in each part list, only the parts the command changed; a test cycle
        with only the measurements it recorded (``measurement_count`` says how many the cycle
        holds). An answer is as large as the command, however large the project grows."""
        recorded = [(data["cycle_id"], {k: data[k] for k in MEASUREMENT_FIELDS})
                    for event_type, data in events if event_type == "MeasurementRecorded"]
        return self._shown(changed_parts(events), recorded)

    def _shown(self, ids: dict[str, list[str]],
               recorded: list[tuple[str, dict[str, Any]]] | None) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id, "hub_id": self.hub_id, "member_id": self.member_id,
            "problem_id": self.problem_id, "phase": self.phase, "version": self.version}
        for name in PART_LISTS:
            parts = getattr(self, name)
            shown[name] = [parts[part_id] for part_id in ids[name]]
        shown["cycles"] = [
            {**cycle, "measurement_count": len(cycle["measurements"]),
             "measurements": cycle["measurements"] if recorded is None else
             [m for cycle_id, m in recorded if cycle_id == cycle["id"]]}
            for cycle in shown["cycles"]]
        return shown

    # -- state ---------------------------------------------------------------------------------

    @staticmethod
    def _new(parts: dict[str, dict[str, Any]], part_id: str, what: str) -> None:
        """A client's own id for a new part names no part of the project yet: recording it
        again would silently replace the part it names."""
        if part_id in parts:
            raise Conflict(f"{what} {part_id} exists already in this project; choose another "
                           "id")

    @staticmethod
    def _part(parts: dict[str, dict[str, Any]], part_id: str, what: str) -> dict[str, Any]:
        if part_id not in parts:
            raise NotFound(f"no {what} {part_id} in this project")
        return parts[part_id]

    @applies("ProjectOpened")
    def _opened(self, data: dict[str, Any]) -> None:
        self.hub_id, self.member_id = data["hub_id"], data["member_id"]
        self.problem_id = data["problem_id"]

    @applies("GoalSet")
    def _goal_set(self, data: dict[str, Any]) -> None:
        goal = {k: v for k, v in data.items() if k != "goal_id"}
        self.goals[data["goal_id"]] = {**goal, "id": data["goal_id"], "revisions": []}

    @applies("GoalRevised")
    def _goal_revised(self, data: dict[str, Any]) -> None:
        goal = self.goals[data["goal_id"]]
        previous = {k: goal[k] for k in ("statement", "measure", "baseline", "target", "due",
                                         "unit")}
        goal.update({k: v for k, v in data.items() if k not in ("goal_id", "reason")})
        goal["revisions"].append({"previous": previous, "reason": data["reason"]})

    @applies("SmartGoalsSet")
    def _smart(self, data: dict[str, Any]) -> None:
        self.smart_goals_set = True

    @applies("PhaseChanged")
    def _phase(self, data: dict[str, Any]) -> None:
        self.phase = data["phase"]

    @applies("DataCollected")
    def _data(self, data: dict[str, Any]) -> None:
        self.data[data["data_id"]] = {**data, "id": data["data_id"]}

    @applies("InsightRecorded")
    def _insight(self, data: dict[str, Any]) -> None:
        self.insights[data["insight_id"]] = {**data, "id": data["insight_id"]}

    @applies("ChangeIdeaRecorded")
    def _idea(self, data: dict[str, Any]) -> None:
        self.ideas[data["idea_id"]] = {**data, "id": data["idea_id"]}

    @applies("PrototypeProposed")
    def _prototype(self, data: dict[str, Any]) -> None:
        self.prototypes[data["prototype_id"]] = {
            "id": data["prototype_id"], "name": data["name"],
            "description": data["description"], "idea_ids": data["idea_ids"],
            "revision": 1, "selected": False, "criteria": [], "revisions": [], "shared": False}

    @applies("PrototypeSelected")
    def _selected(self, data: dict[str, Any]) -> None:
        if self.selected_prototype:
            self.prototypes[self.selected_prototype]["selected"] = False
        self.selected_prototype = data["prototype_id"]
        prototype = self.prototypes[data["prototype_id"]]
        prototype["selected"], prototype["criteria"] = True, data["criteria"]

    @applies("PrototypeRevised")
    def _revised(self, data: dict[str, Any]) -> None:
        prototype = self.prototypes[data["prototype_id"]]
        prototype["revision"] = data["revision"]
        prototype["revisions"].append({"revision": data["revision"], "reason": data["reason"]})

    @applies("IndicatorDefined")
    def _indicator(self, data: dict[str, Any]) -> None:
        self.indicators[data["indicator_id"]] = {**data, "id": data["indicator_id"]}

    @applies("CycleStarted")
    def _cycle(self, data: dict[str, Any]) -> None:
        self.cycles[data["cycle_id"]] = {
            "id": data["cycle_id"], "prototype_id": data["prototype_id"],
            "revision": data["revision"], "number": data["number"], "plan": data["plan"],
            "prediction": data["prediction"], "status": "running", "measurements": [],
            "findings": None, "decision": None}

    @applies("MeasurementRecorded")
    def _measured(self, data: dict[str, Any]) -> None:
        self.cycles[data["cycle_id"]]["measurements"].append(
            {k: data[k] for k in MEASUREMENT_FIELDS})

    @applies("CycleCompleted")
    def _completed(self, data: dict[str, Any]) -> None:
        cycle = self.cycles[data["cycle_id"]]
        cycle.update(status="completed", findings=data["findings"], decision=data["decision"])

    @applies("PrototypeShared")
    def _shared(self, data: dict[str, Any]) -> None:
        prototype = self.prototypes[data["prototype_id"]]
        prototype["shared"] = True
        # A share recorded before shares named their revision shared the revision of then.
        self.shares.append({**data, "revision": data.get("revision", prototype["revision"])})

    @applies("PrototypeUnshared")
    def _unshared(self, data: dict[str, Any]) -> None:
        self.prototypes[data["prototype_id"]]["shared"] = False
        self.shares = [s for s in self.shares if s["prototype_id"] != data["prototype_id"]]


def _goal_fields(goal: dict[str, Any]) -> dict[str, Any]:
    return {"kind": goal["kind"], "statement": goal["statement"], "measure": goal["measure"],
            "unit": goal.get("unit"), "baseline": goal["baseline"], "target": goal["target"],
            "due": goal["due"]}
