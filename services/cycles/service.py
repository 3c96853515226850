"""The cycles service's entrypoints: translate, call the domain, answer. Thin on purpose."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import eventlet
from nameko.rpc import rpc

from eventstore import dependencies
from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.dependencies import new_id, page, page_limit
from eventstore.errors import Conflict, NotFound
from eventstore.validation import load

from . import runchart, schemas
from .domain import Problem, Project
from .projections import PROJECTIONS

# How long a request waits for membership's news of a hub or member just created (the two services
# share no database: cycles knows members from membership's events).
NEWS_WAIT_SECONDS = 3.0


def today() -> date:
    return datetime.now(UTC).date()


class Cycles(dependencies.KernelEntrypoints):
    name = "cycles"
    kernel = dependencies.Kernel(projections=PROJECTIONS)
    caller = dependencies.Caller()

    # -- what cycles knows of members, from membership's events -------------------------------

    @consumes("membership", "HubRegistered")
    def on_hub_registered(self, tx, event):
        tx.execute("INSERT INTO hubs (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                   (event.stream_id, event.data["name"]))

    # Each handler is an upsert that holds whatever order the events arrive in: a catch-up
    # and live delivery may interleave. Pre-work news is applied only if newer (stream version).

    @consumes("membership", "MemberEnrolled")
    def on_member_enrolled(self, tx, event):
        tx.execute("""INSERT INTO members (id, hub_id, name) VALUES (%s, %s, %s)
                      ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name""",
                   (event.stream_id, event.data["hub_id"], event.data["name"]))

    @consumes("membership", "MemberPreworkChanged")
    def on_member_prework_changed(self, tx, event):
        tx.execute("""INSERT INTO members (id, hub_id, name, prework_ready, missing,
                                           prework_version)
                      VALUES (%s, %s, '', %s, %s, %s)
                      ON CONFLICT (id) DO UPDATE SET prework_ready = EXCLUDED.prework_ready,
                          missing = EXCLUDED.missing, prework_version = EXCLUDED.prework_version
                      WHERE members.prework_version < EXCLUDED.prework_version""",
                   (event.stream_id, event.hub_id, event.data["ready"],
                    json.dumps(event.data["missing"]), event.version))

    @consumes("membership", "MemberOffboarded")
    def on_member_offboarded(self, tx, event):
        tx.execute("""INSERT INTO members (id, hub_id, name, active) VALUES (%s, %s, '', false)
                      ON CONFLICT (id) DO UPDATE SET active = false""",
                   (event.stream_id, event.hub_id))

    # -- problems of practice ------------------------------------------------------------------

    @rpc
    def draft_problem(self, hub_id: str, payload: dict, key: str | None = None) -> dict:
        caller = self.caller()
        caller.require_write(hub_id, "hub")
        data = load(schemas.ProblemCreate, payload)
        self._known("SELECT id FROM hubs WHERE id = %s", hub_id, f"no hub {hub_id}")

        def run(session: Session) -> dict:
            problem = session.create(Problem, data.get("id") or new_id("pop"))
            problem.draft(hub_id, data["title"], data["statement"], data["supporting_data"],
                          data["selection_criteria"])
            session.save(problem)
            return self._problem_view(session.cur, problem.id)
        return self.kernel.command(caller, run, key, ["draft_problem", hub_id, payload])

    @rpc
    def ratify_problem(self, problem_id: str, payload: dict, key: str | None = None,
                       expected_version: int | None = None) -> dict:
        caller = self.caller()
        data = load(schemas.Ratification, payload)

        def run(session: Session) -> dict:
            problem = self.load(session, Problem, problem_id, "problem of practice")
            caller.require_write(problem.hub_id, "problem of practice")
            problem.ratify((data.get("on") or today()).isoformat(), data.get("votes_for"),
                           data.get("votes_against"))
            session.save(problem, expected_version)
            return self._problem_view(session.cur, problem.id)
        return self.kernel.command(caller, run, key, ["ratify", problem_id, payload])

    @rpc
    def get_problem(self, problem_id: str) -> dict:
        with self.kernel.reading(self.caller()) as cur:
            view = self._problem_view(cur, problem_id)
        self.caller().require_read(view["hub_id"], "problem of practice")
        return view

    @rpc
    def list_problems(self, hub_id: str, limit: int = 50, after: str | None = None) -> dict:
        limit = page_limit(limit)
        self.caller().require_read(hub_id, "hub")
        self._known("SELECT id FROM hubs WHERE id = %s", hub_id, f"no hub {hub_id}", wait=False)
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT id FROM problems_view WHERE hub_id = %s AND id > %s
                           ORDER BY id LIMIT %s""", (hub_id, after or "", limit + 1))
            ids = [r[0] for r in cur.fetchall()]
            items = [self._problem_view(cur, i) for i in ids[:limit]]
        return page(items, len(ids) > limit)

    # -- projects ------------------------------------------------------------------------------

    @rpc
    def open_project(self, member_id: str, payload: dict, key: str | None = None) -> dict:
        """A member adopts a ratified problem of practice: its improvement project opens."""
        caller = self.caller()
        data = load(schemas.ProjectCreate, payload)
        member = self._member(member_id)
        caller.require_project_write(member["hub_id"], member_id, "member")

        def run(session: Session) -> dict:
            problem = self.load(session, Problem, data["problem_id"], "problem of practice")
            session.cur.execute("""SELECT id FROM projects_view WHERE member_id = %s
                                   AND problem_id = %s""", (member_id, problem.id))
            if session.cur.fetchone():
                raise Conflict(f"member {member_id} has adopted problem {problem.id} already")
            project = session.create(Project, data.get("id") or new_id("prj"))
            project.open(member["hub_id"], member_id, problem, member["active"])
            session.save(project)
            return _project_view(project)
        return self.kernel.command(caller, run, key, ["open_project", member_id, payload])

    @rpc
    def get_project(self, project_id: str) -> dict:
        with self.kernel.reading(self.caller()) as cur:
            project = self.read(Project, project_id, "project", cur)
            ready = self._prework_ready(cur, project.member_id)
        return _project_view(project, ready)

    @rpc
    def set_goal(self, project_id: str, payload: dict, key: str | None = None,
                 expected_version: int | None = None) -> dict:
        data = load(schemas.GoalCreate, payload)
        goal = {**data, "due": data["due"].isoformat() if data.get("due") else None}
        return self._on_project(project_id, key, expected_version, ["goal", payload],
                                lambda p, _: p.set_goal(data.get("id") or new_id("goal"), goal,
                                                     today()))

    @rpc
    def revise_goal(self, goal_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.GoalRevision, payload)
        changes = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()
                   if k != "reason"}
        return self._on_part(goal_id, "goal", key, ["revise_goal", goal_id, payload],
                             lambda p, _: p.revise_goal(goal_id, changes, data["reason"], today()))

    @rpc
    def collect_data(self, project_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.DataCreate, payload)
        return self._on_project(project_id, key, None, ["data", payload],
                                lambda p, _: p.collect_data(data.get("id") or new_id("dat"),
                                                         data["method"], data["summary"],
                                                         data.get("source"), data.get("n")))

    @rpc
    def add_insight(self, project_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.InsightCreate, payload)
        return self._on_project(project_id, key, None, ["insight", payload],
                                lambda p, _: p.add_insight(data.get("id") or new_id("ins"),
                                                        data["text"], data["data_ids"]))

    @rpc
    def add_idea(self, project_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.IdeaCreate, payload)
        return self._on_project(project_id, key, None, ["idea", payload],
                                lambda p, _: p.add_idea(data.get("id") or new_id("idea"),
                                                     data["description"], data["source"],
                                                     data.get("source_ref")))

    @rpc
    def propose_prototype(self, project_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.PrototypeCreate, payload)
        return self._on_project(project_id, key, None, ["prototype", payload],
                                lambda p, _: p.propose_prototype(data.get("id") or new_id("pro"),
                                                              data["name"], data["description"],
                                                              data["idea_ids"]))

    @rpc
    def change_phase(self, project_id: str, payload: dict, key: str | None = None,
                     expected_version: int | None = None) -> dict:
        data = load(schemas.PhaseChange, payload)

        def change(project: Project, session: Session) -> None:
            ready = self._prework_ready(session.cur, project.member_id)
            project.advance(data["phase"], ready, data.get("reason"))
        return self._on_project(project_id, key, expected_version, ["phase", payload],
                                change)

    @rpc
    def select_prototype(self, prototype_id: str, payload: dict,
                         key: str | None = None) -> dict:
        data = load(schemas.Selection, payload)
        return self._on_part(prototype_id, "prototype", key, ["select", prototype_id, payload],
                             lambda p, _: p.select_prototype(prototype_id, data["criteria"]))

    @rpc
    def define_indicator(self, prototype_id: str, payload: dict,
                         key: str | None = None) -> dict:
        data = load(schemas.IndicatorCreate, payload)
        return self._on_part(prototype_id, "prototype", key,
                             ["indicator", prototype_id, payload],
                             lambda p, _: p.define_indicator(data.get("id") or new_id("ind"),
                                                          prototype_id, data))

    @rpc
    def start_cycle(self, prototype_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.CycleCreate, payload)
        plan = {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in data["plan"].items()}
        return self._on_part(prototype_id, "prototype", key, ["cycle", prototype_id, payload],
                             lambda p, _: p.start_cycle(data.get("id") or new_id("cyc"),
                                                     prototype_id, plan, data["prediction"]))

    @rpc
    def share_prototype(self, prototype_id: str, payload: dict,
                        key: str | None = None) -> dict:
        data = load(schemas.Sharing, payload)
        return self._on_part(prototype_id, "prototype", key, ["share", prototype_id, payload],
                             lambda p, _: p.share_prototype(prototype_id, data["summary"]))

    @rpc
    def record_measurement(self, cycle_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.MeasurementCreate, payload)
        return self._on_part(cycle_id, "cycle", key, ["measure", cycle_id, payload],
                             lambda p, _: p.record_measurement(
                                 cycle_id, data["indicator_id"], data["value"], data["n"],
                                 data["on"].isoformat(), data.get("note")))

    @rpc
    def complete_cycle(self, cycle_id: str, payload: dict, key: str | None = None) -> dict:
        data = load(schemas.Completion, payload)
        return self._on_part(cycle_id, "cycle", key, ["complete", cycle_id, payload],
                             lambda p, _: p.complete_cycle(cycle_id, data["findings"],
                                                        data["decision"]))

    # -- run charts and progress ---------------------------------------------------------------

    @rpc
    def run_chart(self, indicator_id: str, format: str = "json") -> Any:  # noqa: A002
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT id, project_id, prototype_id, hub_id, name, kind, unit,
                                  direction, baseline, target
                           FROM indicators_view WHERE id = %s""", (indicator_id,))
            row = cur.fetchone()
            if row is None:
                raise NotFound(f"no indicator {indicator_id}")
            indicator = dict(zip([c.name for c in cur.description], row, strict=True))
            self.caller().require_read(indicator["hub_id"], "indicator")
            points = _points(cur, [indicator_id]).get(indicator_id, [])
        chart = {"indicator": indicator, **runchart.analyse(points)}
        if format == "svg":
            return runchart.svg(chart, f"{indicator['name']} ({indicator['kind']} indicator)",
                                indicator["unit"], indicator["target"])
        return chart

    @rpc
    def hub_progress(self, hub_id: str) -> dict:
        """Every member's phase, cycles completed, and the latest signals of its leading
        indicators; and what members shared with the network."""
        self.caller().require_read(hub_id, "hub")
        self._known("SELECT id FROM hubs WHERE id = %s", hub_id, f"no hub {hub_id}", wait=False)
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("""SELECT m.id, m.name, p.id, p.problem_id, p.phase,
                                  coalesce(p.cycles_completed, 0), p.last_decision
                           FROM members m LEFT JOIN projects_view p ON p.member_id = m.id
                           WHERE m.hub_id = %s AND m.active ORDER BY m.id, p.id""", (hub_id,))
            rows = cur.fetchall()
            cur.execute("""SELECT id, project_id, name FROM indicators_view
                           WHERE hub_id = %s AND kind = 'leading' ORDER BY id""", (hub_id,))
            indicators = cur.fetchall()
            points = _points(cur, [i[0] for i in indicators])
            cur.execute("""SELECT member_id, prototype_id, problem_id, name, summary, results
                           FROM shares_view WHERE hub_id = %s ORDER BY position""", (hub_id,))
            shares = [dict(zip([c.name for c in cur.description], r, strict=True))
                      for r in cur.fetchall()]
        signals: dict[str, list[dict]] = {}
        for indicator_id, project_id, name in indicators:
            chart = runchart.analyse(points.get(indicator_id, []))
            signals.setdefault(project_id, []).append({
                "indicator_id": indicator_id, "indicator": name,
                "points": len(chart["points"]), "median": chart["median"],
                "signals": sorted({s["rule"] for s in chart["signals"]})})
        members = [{"member_id": r[0], "name": r[1], "project_id": r[2], "problem_id": r[3],
                    "phase": r[4], "cycles_completed": r[5], "last_decision": r[6],
                    "signals": signals.get(r[2], [])} for r in rows]
        return {"hub_id": hub_id, "members": members, "shares": shares}

    # -- helpers -------------------------------------------------------------------------------

    def _on_project(self, project_id: str, key: str | None, expected_version: int | None,
                    request: list, change: Callable[[Project, Session], Any]) -> dict:
        """Load the project for the caller, ``change(project, session)``, save: every command
        on a project, whether it names the project or one of its parts."""
        caller = self.caller()

        def run(session: Session) -> dict:
            project = self.load(session, Project, project_id, "project")
            caller.require_project_write(project.hub_id, project.member_id, "project")
            change(project, session)
            session.save(project, expected_version)
            return _project_view(project)
        return self.kernel.command(caller, run, key, [project_id, *request])

    def _on_part(self, part_id: str, kind: str, key: str | None, request: list,
                 change: Callable[[Project, Session], Any]) -> dict:
        with self.kernel.reading(self.caller()) as cur:
            cur.execute("SELECT project_id FROM parts_view WHERE id = %s AND kind = %s",
                        (part_id, kind))
            row = cur.fetchone()
        what = {"cycle": "test cycle"}.get(kind, kind)
        if row is None:
            raise NotFound(f"no {what} {part_id}")
        return self._on_project(row[0], key, None, request, change)

    def _member(self, member_id: str) -> dict:
        hub_id, active = self._known("SELECT hub_id, active FROM members WHERE id = %s",
                                     member_id, f"no member {member_id}")
        return {"hub_id": hub_id, "active": active}

    def _known(self, sql: str, id_: str, unknown: str, wait: bool = True) -> tuple:
        """The row of a hub or member membership told us about. A command waits briefly for
        news of one just created (the services share no database); a read does not."""
        deadline = time.monotonic() + (NEWS_WAIT_SECONDS if wait else 0)
        while True:
            with self.kernel.db.transaction() as cur:
                cur.execute(sql, (id_,))
                row = cur.fetchone()
            if row is not None:
                return row
            if time.monotonic() > deadline:
                raise NotFound(unknown)
            eventlet.sleep(0.05)

    @staticmethod
    def _prework_ready(cur: Any, member_id: str) -> bool:
        cur.execute("SELECT prework_ready AND active FROM members WHERE id = %s", (member_id,))
        row = cur.fetchone()
        return bool(row and row[0])

    def _problem_view(self, cur: Any, problem_id: str) -> dict:
        cur.execute("""SELECT id, hub_id, title, statement, supporting_data,
                              selection_criteria, status, ratified_on, version
                       FROM problems_view WHERE id = %s""", (problem_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no problem of practice {problem_id}")
        view = dict(zip([c.name for c in cur.description], row, strict=True))
        view["ratified_on"] = view["ratified_on"] and view["ratified_on"].isoformat()
        return view


def _points(cur: Any, indicator_ids: list[str]) -> dict[str, list[dict]]:
    cur.execute("""SELECT indicator_id, on_date, value, n, cycle_id FROM measurements_view
                   WHERE indicator_id = ANY(%s) ORDER BY indicator_id, on_date, position""",
                (indicator_ids,))
    points: dict[str, list[dict]] = {}
    for indicator_id, on, value, n, cycle_id in cur.fetchall():
        points.setdefault(indicator_id, []).append(
            {"on": on.isoformat(), "value": value, "n": n, "cycle_id": cycle_id})
    return points


def _project_view(project: Project, prework_ready: bool | None = None) -> dict:
    view = {"id": project.id, "hub_id": project.hub_id, "member_id": project.member_id,
            "problem_id": project.problem_id, "phase": project.phase,
            "goals": list(project.goals.values()), "data": list(project.data.values()),
            "insights": list(project.insights.values()), "ideas": list(project.ideas.values()),
            "prototypes": list(project.prototypes.values()),
            "indicators": list(project.indicators.values()),
            "cycles": list(project.cycles.values()), "version": project.version}
    if prework_ready is not None:
        view["exit_criteria_missing"] = project.exit_criteria_missing(prework_ready)
    return view
