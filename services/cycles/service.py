"""The cycles service's entrypoints: each translates a request into a command on the domain or
a query of the read model, and answers. Decisions live in domain.py and runchart.py, SQL in
projections.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.entrypoints import KernelEntrypoints, rpc
from eventstore.errors import Conflict
from eventstore.identity import member_work
from eventstore.ids import id_for
from eventstore.kernel import Kernel
from eventstore.validation import dump, dump_page, load
from services.membership import contracts as membership

from . import runchart, schemas
from .domain import Problem, Project
from .projections import PROJECTIONS, CyclesReadModel, KnownHub, KnownMember


def today() -> date:
    return datetime.now(UTC).date()


def problem_view(problem: Problem, session: Session) -> dict:
    return dump(schemas.ProblemOfPractice, session.read_model.problem(problem.id))


def project_view(project: Project, session: Session) -> dict:
    """A command's answer: the project's own fields and the parts this command changed (the
    same when an Idempotency-Key's answer is rendered again from the log)."""
    return dump(schemas.Project, project.answer(session.changes(project)))


def known_hub(session: Session, hub_id: str) -> KnownHub:
    return session.read_model.hub(hub_id)


def known_member(session: Session, member_id: str) -> KnownMember:
    return session.read_model.member(member_id)


def project_of(kind: str) -> Callable[[Session, str], Project]:
    """Routes name a goal, prototype, indicator or test cycle alone: the project it is in."""
    def find(session: Session, part_id: str) -> Project:
        return session.load(Project, session.read_model.project_of(part_id, kind))
    return find


def part_id(project: Project, data: dict[str, Any], prefix: str) -> str:
    """The id of a new goal, data set, idea, prototype, indicator or test cycle: the client's
    in the hub's namespace, or a new one."""
    return id_for(project.hub_id, data.get("id"), prefix)


def iso(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


class Cycles(KernelEntrypoints):
    name = "cycles"
    kernel = Kernel(projections=PROJECTIONS, read_model=CyclesReadModel)
    read_model: CyclesReadModel

    # -- what cycles knows of hubs and members, from membership's events -----------------------

    @consumes(membership.HubRegistered)
    def on_hub_registered(self, session: Session, event: membership.HubRegistered) -> None:
        session.read_model.hub_registered(event.recorded.stream_id, event.name)

    @consumes(membership.MemberEnrolled)
    def on_member_enrolled(self, session: Session, event: membership.MemberEnrolled) -> None:
        session.read_model.member_enrolled(event.recorded.stream_id, event.hub_id, event.name)

    @consumes(membership.MemberPreworkChanged)
    def on_member_prework_changed(self, session: Session,
                                  event: membership.MemberPreworkChanged) -> None:
        session.read_model.prework_changed(event.recorded.stream_id, event.recorded.hub_id,
                                           event.ready, event.missing, event.recorded.version)

    @consumes(membership.MemberOffboarded)
    def on_member_offboarded(self, session: Session,
                             event: membership.MemberOffboarded) -> None:
        session.read_model.member_offboarded(event.recorded.stream_id, event.recorded.hub_id)

    # -- problems of practice ------------------------------------------------------------------

    @rpc
    def draft_problem(self, hub_id: str, payload: dict) -> dict:
        data = load(schemas.ProblemCreate, payload)

        def draft(hub: KnownHub, session: Session) -> Problem:
            problem = session.create(Problem, id_for(hub.id, data.get("id"), "pop"))
            problem.draft(hub.id, data["title"], data["statement"], data["supporting_data"],
                          data["selection_criteria"])
            return problem
        return self.commands.on(known_hub, hub_id, draft, problem_view)

    @rpc
    def ratify_problem(self, problem_id: str, payload: dict) -> dict:
        data = load(schemas.Ratification, payload)
        return self.commands.on(Problem, problem_id, lambda problem, _: problem.ratify(
            (data.get("on") or today()).isoformat(), data.get("votes_for"),
            data.get("votes_against")), problem_view)

    @rpc
    def get_problem(self, problem_id: str) -> dict:
        return dump(schemas.ProblemOfPractice, self.read_model.problem(problem_id))

    @rpc
    def list_problems(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        return dump_page(schemas.ProblemOfPractice,
                         self.read_model.problems(hub_id, limit, after))

    # -- projects ------------------------------------------------------------------------------

    @rpc
    def open_project(self, member_id: str, payload: dict) -> dict:
        """A member adopts a ratified problem of practice: its improvement project opens."""
        data = load(schemas.ProjectCreate, payload)

        def adopt(member: KnownMember, session: Session) -> Project:
            problem = session.load_named(Problem, data["problem_id"], member.hub_id)
            if session.read_model.adopted(member.id, problem.id):
                raise Conflict(f"member {member.id} has adopted problem {problem.id} already")
            project = session.create(Project, id_for(member.hub_id, data.get("id"), "prj"))
            project.open(member.hub_id, member.id, problem, member.active)
            return project
        return self.commands.on(known_member, member_id, adopt, project_view,
                                access=member_work, changes_target=False)

    @rpc
    def get_project(self, project_id: str) -> dict:
        project = self.read_model.aggregate(Project, project_id)
        ready = self.read_model.prework_ready(project.member_id)
        missing = project.exit_criteria_missing(ready)
        return dump(schemas.Project, {**project.shown(), "exit_criteria_on_read": missing})

    @rpc
    def set_goal(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.GoalCreate, payload)
        return self.commands.on(Project, project_id, lambda project, _: project.set_goal(
            part_id(project, data, "goal"), iso(data), today()), project_view,
            access=member_work)

    @rpc
    def revise_goal(self, goal_id: str, payload: dict) -> dict:
        data = load(schemas.GoalRevision, payload)
        changes = {k: v for k, v in iso(data).items() if k != "reason"}
        return self.commands.on(project_of("goal"), goal_id, lambda project, _: (
            project.revise_goal(goal_id, changes, data["reason"], today())), project_view,
            access=member_work)

    @rpc
    def collect_data(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.DataCreate, payload)
        return self.commands.on(Project, project_id, lambda project, _: project.collect_data(
            part_id(project, data, "dat"), data["method"], data["summary"],
            data.get("source"), data.get("n")), project_view, access=member_work)

    @rpc
    def add_insight(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.InsightCreate, payload)
        return self.commands.on(Project, project_id, lambda project, _: project.add_insight(
            part_id(project, data, "ins"), data["text"], data["data_ids"]), project_view,
            access=member_work)

    @rpc
    def add_idea(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.IdeaCreate, payload)
        return self.commands.on(Project, project_id, lambda project, _: project.add_idea(
            part_id(project, data, "idea"), data["description"], data["source"],
            data.get("source_ref")), project_view, access=member_work)

    @rpc
    def propose_prototype(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.PrototypeCreate, payload)
        return self.commands.on(Project, project_id, lambda project, _: (
            project.propose_prototype(part_id(project, data, "pro"), data["name"],
                                      data["description"], data["idea_ids"])),
            project_view, access=member_work)

    @rpc
    def change_phase(self, project_id: str, payload: dict) -> dict:
        data = load(schemas.PhaseChange, payload)
        return self.commands.on(Project, project_id, lambda project, session: project.advance(
            data["phase"], session.read_model.prework_ready(project.member_id),
            data.get("reason")), project_view, access=member_work)

    @rpc
    def select_prototype(self, prototype_id: str, payload: dict) -> dict:
        data = load(schemas.Selection, payload)
        return self.commands.on(project_of("prototype"), prototype_id, lambda project, _: (
            project.select_prototype(prototype_id, data["criteria"])), project_view,
            access=member_work)

    @rpc
    def define_indicator(self, prototype_id: str, payload: dict) -> dict:
        data = load(schemas.IndicatorCreate, payload)
        return self.commands.on(project_of("prototype"), prototype_id, lambda project, _: (
            project.define_indicator(part_id(project, data, "ind"), prototype_id, data)),
            project_view, access=member_work)

    @rpc
    def start_cycle(self, prototype_id: str, payload: dict) -> dict:
        data = load(schemas.CycleCreate, payload)
        return self.commands.on(project_of("prototype"), prototype_id, lambda project, _: (
            project.start_cycle(part_id(project, data, "cyc"), prototype_id,
                                iso(data["plan"]), data["prediction"])),
            project_view, access=member_work)

    @rpc
    def share_prototype(self, prototype_id: str, payload: dict) -> dict:
        data = load(schemas.Sharing, payload)
        return self.commands.on(project_of("prototype"), prototype_id, lambda project, _: (
            project.share_prototype(prototype_id, data["summary"])), project_view,
            access=member_work)

    @rpc
    def record_measurement(self, cycle_id: str, payload: dict) -> dict:
        data = load(schemas.MeasurementCreate, payload)
        return self.commands.on(project_of("cycle"), cycle_id, lambda project, _: (
            project.record_measurement(cycle_id, data["indicator_id"], data["value"],
                                       data["n"], data["on"].isoformat(), data.get("note"))),
            project_view, access=member_work)

    @rpc
    def complete_cycle(self, cycle_id: str, payload: dict) -> dict:
        data = load(schemas.Completion, payload)
        return self.commands.on(project_of("cycle"), cycle_id, lambda project, _: (
            project.complete_cycle(cycle_id, data["findings"], data["decision"])),
            project_view, access=member_work)

    # -- run charts and progress ---------------------------------------------------------------

    @rpc
    def run_chart(self, indicator_id: str, format: str = "json") -> Any:  # noqa: A002
        chart = self.read_model.run_chart(indicator_id)
        if format == "svg":
            indicator = chart["indicator"]
            return runchart.svg(chart, f"{indicator['name']} ({indicator['kind']} indicator)",
                                indicator["unit"], indicator["target"])
        return dump(schemas.RunChart, chart)

    @rpc
    def hub_progress(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        return dump_page(schemas.MemberProgress,
                         self.read_model.hub_progress(hub_id, limit, after))

    @rpc
    def hub_shares(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        return dump_page(schemas.SharedPrototype, self.read_model.shares(hub_id, limit, after))
