"""Cycles read models, applied inline (in the command's transaction) for read-your-writes, and
written in bulk when a batch of events is replayed (a rebuild reads the whole log)."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import Json, execute_values

from eventstore.events import RecordedEvent
from eventstore.projections import Projection, RowProjection, handles


class Problems(Projection):
    name = "problems"
    tables = ("problems_view",)
    inline = True

    @handles("ProblemDrafted")
    def drafted(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO problems_view (id, hub_id, title, statement, supporting_data,
                                                  selection_criteria, status, version)
                       VALUES (%s, %s, %s, %s, %s, %s, 'draft', %s)""",
                    (event.stream_id, d["hub_id"], d["title"], d["statement"],
                     Json(d["supporting_data"]), Json(d["selection_criteria"]), event.version))

    @handles("ProblemRatified")
    def ratified(self, cur, event):
        cur.execute("""UPDATE problems_view SET status = 'ratified', ratified_on = %s,
                       version = %s WHERE id = %s""",
                    (event.data["on"], event.version, event.stream_id))


_KEEP = object()


class Projects(Projection):
    """Each project's phase and counts, for hub progress. Every project event moves its
    version, so a batch folds its events per project in memory and writes each project once."""

    name = "projects"
    tables = ("projects_view",)
    inline = True

    def apply(self, cur: Any, event: RecordedEvent) -> bool:
        return self.apply_batch(cur, [event]) > 0

    def apply_batch(self, cur: Any, events: list[RecordedEvent]) -> int:
        opened: dict[str, list[Any]] = {}
        changes: dict[str, dict[str, Any]] = {}
        applied = 0
        for event in events:
            if event.stream_type != "project":
                continue
            applied += 1
            if event.type == "ProjectOpened":
                d = event.data
                opened[event.stream_id] = [event.stream_id, d["hub_id"], d["member_id"],
                                           d["problem_id"], event.version]
                continue
            change = changes.setdefault(event.stream_id, {
                "phase": _KEEP, "goals": 0, "started": 0, "completed": 0, "decision": _KEEP})
            change["version"] = event.version
            if event.type == "GoalSet":
                change["goals"] += 1
            elif event.type == "PhaseChanged":
                change["phase"] = event.data["phase"]
            elif event.type == "CycleStarted":
                change["started"] += 1
            elif event.type == "CycleCompleted":
                change["completed"] += 1
                change["decision"] = event.data["decision"]
        if opened:
            execute_values(cur, """INSERT INTO projects_view (id, hub_id, member_id, problem_id,
                                                              version) VALUES %s""",
                           list(opened.values()))
        if changes:
            execute_values(cur, """
                UPDATE projects_view p SET
                    phase = CASE WHEN v.set_phase THEN v.phase ELSE p.phase END,
                    goals = p.goals + v.goals,
                    cycles_started = p.cycles_started + v.started,
                    cycles_completed = p.cycles_completed + v.completed,
                    last_decision = CASE WHEN v.set_decision THEN v.decision
                                         ELSE p.last_decision END,
                    version = v.version
                FROM (VALUES %s) AS v(id, set_phase, phase, goals, started, completed,
                                      set_decision, decision, version)
                WHERE p.id = v.id""",
                [(pid, c["phase"] is not _KEEP, None if c["phase"] is _KEEP else c["phase"],
                  c["goals"], c["started"], c["completed"], c["decision"] is not _KEEP,
                  None if c["decision"] is _KEEP else c["decision"], c["version"])
                 for pid, c in changes.items()],
                template="(%s, %s, %s::text, %s, %s, %s, %s, %s::text, %s)", page_size=1000)
        return applied


class Parts(RowProjection):
    """Routes name a goal, prototype, indicator or test cycle alone: which project is it in?"""

    name = "parts"
    tables = ("parts_view",)
    inline = True

    @handles("GoalSet", "PrototypeProposed", "IndicatorDefined", "CycleStarted")
    def part(self, event):
        kind, key = {"GoalSet": ("goal", "goal_id"),
                     "PrototypeProposed": ("prototype", "prototype_id"),
                     "IndicatorDefined": ("indicator", "indicator_id"),
                     "CycleStarted": ("cycle", "cycle_id")}[event.type]
        yield "parts_view", {"id": event.data[key], "kind": kind,
                             "project_id": event.stream_id, "hub_id": event.hub_id}


class Indicators(RowProjection):
    name = "indicators"
    tables = ("indicators_view", "measurements_view")
    inline = True

    @handles("IndicatorDefined")
    def defined(self, event):
        d = event.data
        yield "indicators_view", {
            "id": d["indicator_id"], "project_id": event.stream_id,
            "prototype_id": d["prototype_id"], "hub_id": event.hub_id, "name": d["name"],
            "kind": d["kind"], "unit": d["unit"], "direction": d["direction"],
            "baseline": d["baseline"], "target": d["target"]}

    @handles("MeasurementRecorded")
    def measured(self, event):
        d = event.data
        yield "measurements_view", {
            "position": event.position, "indicator_id": d["indicator_id"],
            "cycle_id": d["cycle_id"], "project_id": event.stream_id, "on_date": d["on"],
            "value": d["value"], "n": d["n"]}


class Shares(RowProjection):
    """Prototypes members published to the network, with their results."""

    name = "shares"
    tables = ("shares_view",)
    inline = True

    @handles("PrototypeShared")
    def shared(self, event):
        d = event.data
        yield "shares_view", {
            "prototype_id": d["prototype_id"], "position": event.position,
            "hub_id": event.hub_id, "member_id": d["member_id"], "problem_id": d["problem_id"],
            "name": d["name"], "summary": d["summary"], "results": Json(d["results"])}


PROJECTIONS = [Problems(), Projects(), Parts(), Indicators(), Shares()]
