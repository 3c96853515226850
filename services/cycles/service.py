"""The cycles service's entrypoints: each command is a named method that calls the domain, each
query asks the read model; the kernel loads, checks the caller, saves and answers. Decisions
live in the domain package (the design process, run charts), SQL in projections.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventstore.commands import Session
from eventstore.entrypoints import KernelEntrypoints, command, query
from eventstore.identity import hub_writers, member_work
from eventstore.ids import id_for
from eventstore.kernel import Kernel
from services.membership import directory
from services.membership.directory import MembershipDirectory, known_hub, known_member

from . import schemas
from .domain import Problem, Project, runchart
from .projections import PROJECTIONS, CyclesReadModel, agency_summary


def project_of(kind: str) -> Callable[[Session, str], Project]:
    """Routes name a goal, prototype, indicator or test cycle alone: the project it is in."""
    def find(session: Session, part_id: str) -> Project:
        return session.load(Project, session.read_model.project_of(part_id, kind))
    return find


def part_id(project: Project, data: dict[str, Any], prefix: str) -> str:
    """The id of a new goal, data set, idea, prototype, indicator or test cycle: the client's
    in the hub's namespace, or a new one."""
    return id_for(project.hub_id, data.get("id"), prefix)


def the_project(service: Any, project: Project, session: Session) -> Any:
    """A command's answer: the project's own fields and the parts this command changed (the
    same when an Idempotency-Key's answer is rendered again from the log)."""
    return project.answer(session.changes(project))


def the_problem(service: Any, problem: Problem, session: Session) -> Any:
    return session.read_model.problem(problem.id)


class Cycles(MembershipDirectory, KernelEntrypoints):
    """Hubs and members, and whether a member's own pre-work is complete, come from
    membership's directory (MembershipDirectory: its consumers and tables)."""

    name = "cycles"
    kernel = Kernel(projections=PROJECTIONS, read_model=CyclesReadModel)

    def summary_of(self, cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
        return agency_summary(cur, hubs)
    read_model: CyclesReadModel
    # A project's work is its member's and its hub's facilitators'; a command answers with
    # what it changed of the project.
    command_access = member_work
    command_answer = schemas.Project
    command_shows = the_project

    # -- problems of practice ------------------------------------------------------------------

    @command(known_hub, schemas.ProblemCreate, answer=schemas.ProblemOfPractice,
             shows=the_problem, access=hub_writers, changes_target=False)
    def draft_problem(self, hub: directory.Hub, data: dict, session: Session) -> Problem:
        problem = session.create(Problem, id_for(hub.id, data.get("id"), "pop"))
        problem.draft(hub.id, data["title"], data["statement"], data["supporting_data"],
                      data["selection_criteria"])
        return problem

    @command(Problem, schemas.Ratification, answer=schemas.ProblemOfPractice,
             shows=the_problem, access=hub_writers)
    def ratify_problem(self, problem: Problem, data: dict, session: Session) -> None:
        problem.ratify(data.get("on") or session.today.isoformat(), data.get("votes_for"),
                       data.get("votes_against"))

    @query(schemas.ProblemOfPractice)
    def get_problem(self, problem_id: str) -> Any:
        return self.read_model.problem(problem_id)

    @query(schemas.ProblemOfPractice, paged=True)
    def list_problems(self, hub_id: str, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.problems(hub_id, limit, after)

    # -- projects ------------------------------------------------------------------------------

    @command(known_member, schemas.ProjectCreate, changes_target=False)
    def open_project(self, member: directory.Member, data: dict,
                     session: Session) -> Project:
        """A member adopts a ratified problem of practice: its improvement project opens."""
        problem = session.load_named(Problem, data["problem_id"], member.hub_id)
        project = session.create(Project, id_for(member.hub_id, data.get("id"), "prj"))
        project.open(member.hub_id, member.id, problem, member.active,
                     adopted_already=session.read_model.adopted(member.id, problem.id))
        return project

    @query(schemas.Project)
    def get_project(self, project_id: str) -> Any:
        project = self.read_model.aggregate(Project, project_id)
        ready = self.read_model.prework_ready(project.member_id)
        return {**project.shown(), "exit_criteria_on_read": project.exit_criteria_missing(ready)}

    @command(Project, schemas.GoalCreate)
    def set_goal(self, project: Project, data: dict, session: Session) -> None:
        project.set_goal(part_id(project, data, "goal"), data, session.today)

    @command(project_of("goal"), schemas.GoalRevision)
    def revise_goal(self, project: Project, data: dict, session: Session) -> None:
        changes = {k: v for k, v in data.items() if k != "reason"}
        project.revise_goal(session.target_id, changes, data["reason"], session.today)

    @command(Project, schemas.DataCreate)
    def collect_data(self, project: Project, data: dict, session: Session) -> None:
        project.collect_data(part_id(project, data, "dat"), data["method"], data["summary"],
                             data.get("source"), data.get("n"))

    @command(Project, schemas.InsightCreate)
    def add_insight(self, project: Project, data: dict, session: Session) -> None:
        project.add_insight(part_id(project, data, "ins"), data["text"], data["data_ids"])

    @command(Project, schemas.IdeaCreate)
    def add_idea(self, project: Project, data: dict, session: Session) -> None:
        project.add_idea(part_id(project, data, "idea"), data["description"], data["source"],
                         data.get("source_ref"))

    @command(Project, schemas.PrototypeCreate)
    def propose_prototype(self, project: Project, data: dict, session: Session) -> None:
        project.propose_prototype(part_id(project, data, "pro"), data["name"],
                                  data["description"], data["idea_ids"])

    @command(Project, schemas.PhaseChange)
    def change_phase(self, project: Project, data: dict, session: Session) -> None:
        project.advance(data["phase"], session.read_model.prework_ready(project.member_id),
                        data.get("reason"))

    @command(project_of("prototype"), schemas.Selection)
    def select_prototype(self, project: Project, data: dict, session: Session) -> None:
        project.select_prototype(session.target_id, data["criteria"])

    @command(project_of("prototype"), schemas.IndicatorCreate)
    def define_indicator(self, project: Project, data: dict, session: Session) -> None:
        project.define_indicator(part_id(project, data, "ind"), session.target_id, data)

    @command(project_of("prototype"), schemas.CycleCreate)
    def start_cycle(self, project: Project, data: dict, session: Session) -> None:
        project.start_cycle(part_id(project, data, "cyc"), session.target_id, data["plan"],
                            data["prediction"])

    @command(project_of("prototype"), schemas.Sharing)
    def share_prototype(self, project: Project, data: dict, session: Session) -> None:
        project.share_prototype(session.target_id, data["summary"])

    @command(project_of("prototype"), None)
    def unshare_prototype(self, project: Project, data: dict, session: Session) -> None:
        project.unshare_prototype(session.target_id)

    @command(project_of("cycle"), schemas.MeasurementCreate)
    def record_measurement(self, project: Project, data: dict, session: Session) -> None:
        project.record_measurement(session.target_id, data["indicator_id"], data["value"],
                                   data["n"], data["on"], data.get("note"))

    @command(project_of("cycle"), schemas.Completion)
    def complete_cycle(self, project: Project, data: dict, session: Session) -> None:
        project.complete_cycle(session.target_id, data["findings"], data["decision"])

    # -- run charts and progress ---------------------------------------------------------------

    @query(schemas.RunChart)
    def run_chart(self, indicator_id: str, format: str = "json") -> Any:  # noqa: A002
        chart = self.read_model.run_chart(indicator_id)
        if format == "svg":
            indicator = chart["indicator"]
            return runchart.svg(chart, f"{indicator['name']} ({indicator['kind']} indicator)",
                                indicator["unit"], indicator["target"])
        return chart

    @query(schemas.MemberProgress, paged=True)
    def hub_progress(self, hub_id: str, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.hub_progress(hub_id, limit, after)

    @query(schemas.SharedPrototype, paged=True)
    def hub_shares(self, hub_id: str, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.shares(hub_id, limit, after)
