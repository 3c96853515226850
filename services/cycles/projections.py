"""The cycles service's read model: the projections that keep its tables (inline: applied in
the command's transaction for read-your-writes, and written in bulk when a rebuild replays the
log), and ``CyclesReadModel``, the queries of those tables and, through membership's directory
(services/membership/directory), of what membership told about hubs and members."""

from __future__ import annotations

import re
from typing import Any

from psycopg2.extras import Json, execute_values

from eventstore.disclosure import Counts
from eventstore.errors import NotFound, ValidationError
from eventstore.events import RecordedEvent
from eventstore.projections import Projection, RowProjection, handles
from eventstore.readmodel import ReadModel, page_limit
from services.membership.directory import DirectoryReads

from .domain import runchart


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


class Shares(Projection):
    """Prototypes members publish to the network, with their results, while they are shared."""

    name = "shares"
    tables = ("shares_view",)
    inline = True

    @handles("PrototypeShared")
    def shared(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO shares_view (prototype_id, revision, position, hub_id,
                                                member_id, problem_id, name, summary, results)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (d["prototype_id"], d.get("revision"), event.position, event.hub_id,
                     d["member_id"], d["problem_id"], d["name"], d["summary"],
                     Json(d["results"])))

    @handles("PrototypeUnshared")
    def unshared(self, cur, event):
        cur.execute("DELETE FROM shares_view WHERE prototype_id = %s",
                    (event.data["prototype_id"],))


PROJECTIONS = [Problems(), Projects(), Parts(), Indicators(), Shares()]


class CyclesReadModel(DirectoryReads, ReadModel):
    """Cycles' queries, and membership's directory's (``hub``, ``member``, ``prework_ready``,
    ...)."""

    # -- problems of practice and projects -----------------------------------------------------

    def problem(self, problem_id: str) -> dict[str, Any]:
        problem = self.row("""SELECT id, hub_id, title, statement, supporting_data,
                                     selection_criteria, status, ratified_on, version
                              FROM problems_view WHERE id = %s""", problem_id)
        if problem is None or not self.caller.may_read_hub(problem["hub_id"]):
            raise NotFound(f"no problem of practice {problem_id}")
        return problem

    def problems(self, hub_id: str, limit: int, after: str | None) -> dict[str, Any]:
        self.caller.require_read(hub_id, "hub")
        self.hub(hub_id)
        return self.page("""SELECT id, hub_id, title, statement, supporting_data,
                                   selection_criteria, status, ratified_on, version
                            FROM problems_view WHERE hub_id = %s AND id > %s
                            ORDER BY id LIMIT %s""", hub_id, after=after, limit=limit)

    def adopted(self, member_id: str, problem_id: str) -> bool:
        return self.row("SELECT 1 AS one FROM projects_view WHERE member_id = %s "
                        "AND problem_id = %s", member_id, problem_id) is not None

    def project_of(self, part_id: str, kind: str) -> str:
        """The project a goal, prototype, indicator or test cycle belongs to."""
        row = self.row("SELECT project_id, hub_id FROM parts_view WHERE id = %s AND kind = %s",
                       part_id, kind)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            raise NotFound(f"no {'test cycle' if kind == 'cycle' else kind} {part_id}")
        return row["project_id"]

    # -- run charts and progress ---------------------------------------------------------------

    def run_chart(self, indicator_id: str) -> dict[str, Any]:
        indicator = self.row("""SELECT id, project_id, prototype_id, hub_id, name, kind, unit,
                                       direction, baseline, target
                                FROM indicators_view WHERE id = %s""", indicator_id)
        if indicator is None or not self.caller.may_read_hub(indicator["hub_id"]):
            raise NotFound(f"no indicator {indicator_id}")
        points = self._points([indicator_id]).get(indicator_id, [])
        return {"indicator": indicator, **runchart.analyse(points)}

    def hub_progress(self, hub_id: str, limit: int, after: str | None) -> dict[str, Any]:
        """A page of the hub's active members, each with its projects: phase, cycles completed,
        last decision, and the latest signals of its leading indicators."""
        self.caller.require_read(hub_id, "hub")
        self.hub(hub_id)
        page = self.members_page(hub_id, limit, after, active_only=True)
        projects = self.rows("""SELECT id AS project_id, member_id, problem_id, phase,
                                       cycles_completed, last_decision
                                FROM projects_view WHERE hub_id = %s AND member_id = ANY(%s)
                                ORDER BY member_id, id""",
                             hub_id, [m.id for m in page["items"]])
        indicators = self.rows("""SELECT id, project_id, name FROM indicators_view
                                  WHERE project_id = ANY(%s) AND kind = 'leading' ORDER BY id""",
                               [p["project_id"] for p in projects])
        points = self._points([i["id"] for i in indicators])
        signals: dict[str, list[dict[str, Any]]] = {}
        for indicator in indicators:
            chart = runchart.analyse(points.get(indicator["id"], []))
            signals.setdefault(indicator["project_id"], []).append({
                "indicator_id": indicator["id"], "indicator": indicator["name"],
                "points": len(chart["points"]), "median": chart["median"],
                "signals": sorted({s["rule"] for s in chart["signals"]})})
        by_member: dict[str, list[dict[str, Any]]] = {}
        for project in projects:
            by_member.setdefault(project.pop("member_id"), []).append(
                {**project, "signals": signals.get(project["project_id"], [])})
        return {"items": [{"member_id": m.id, "name": m.name,
                           "projects": by_member.get(m.id, [])} for m in page["items"]],
                "next": page["next"]}

    def shares(self, hub_id: str, limit: int, after: str | None) -> dict[str, Any]:
        """A page of the prototypes the hub's members shared with the network, in the order
        they were shared (each prototype once per revision). The cursor is a share's place in
        the log."""
        self.caller.require_read(hub_id, "hub")
        self.hub(hub_id)
        if after is not None and not re.fullmatch(r"[0-9]{1,18}", after):
            raise ValidationError("after must be the `next` of the page before",
                                  {"after": ["the `next` of the page before"]})
        limit = page_limit(limit)
        rows = self.rows("""SELECT position, member_id, prototype_id, revision, problem_id,
                                   name, summary, results
                            FROM shares_view WHERE hub_id = %s AND position > %s
                            ORDER BY position LIMIT %s""",
                         hub_id, int(after or 0), limit + 1)
        items, more = rows[:limit], len(rows) > limit
        # Two digits at least: the gateway takes a cursor shaped as an id (eventstore/ids.py).
        return {"items": items, "next": f"{items[-1]['position']:02d}" if more else None}

    def _points(self, indicator_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        points: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows("""SELECT indicator_id, on_date, value, n, cycle_id
                                FROM measurements_view WHERE indicator_id = ANY(%s)
                                ORDER BY indicator_id, on_date, position""", indicator_ids):
            points.setdefault(row["indicator_id"], []).append(
                {"on": row["on_date"].isoformat(), "value": row["value"], "n": row["n"],
                 "cycle_id": row["cycle_id"]})
        return points


def agency_summary(cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
    """Cycles' part of the agencies' summary: each hub's projects by phase, and its test
    cycles completed by the decision taken (from the log: one decision per cycle)."""
    found: dict[str, dict[str, Any]] = {
        hub: {"projects_by_phase": Counts(), "test_cycles_completed": Counts()}
        for hub in hubs}
    cur.execute("""SELECT hub_id, coalesce(phase, 'not started'), count(*) FROM projects_view
                   WHERE hub_id = ANY(%s) GROUP BY 1, 2""", (hubs,))
    for hub, phase, count in cur.fetchall():
        found[hub]["projects_by_phase"].setdefault("projects", {})[phase] = count
    cur.execute("""SELECT p.hub_id, e.data->>'decision', count(*) FROM events e
                   JOIN projects_view p ON p.id = e.stream_id
                   WHERE e.type = 'CycleCompleted' AND p.hub_id = ANY(%s)
                   GROUP BY 1, 2""", (hubs,))
    for hub, decision, count in cur.fetchall():
        found[hub]["test_cycles_completed"].setdefault("cycles", {})[decision] = count
    return found
