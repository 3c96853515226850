"""What a command on a project answers (issue 15): the project's own fields and only the parts
the command changed, whatever the project holds; a read shows it all."""

from __future__ import annotations

import json

import pytest

from eventstore.testing import given
from services.cycles.domain import Project, changed_parts
from tests.unit.test_cycles_boundaries import DONE, measured_event, measurement
from tests.unit.test_cycles_domain import (
    COMPLETED,
    DATA,
    GOALS,
    IDEA,
    IMPACT,
    INSIGHT,
    LEADING,
    OPENED,
    PROPOSED,
    SELECTED,
    STARTED,
    TESTING,
    TODAY,
    goal_set,
    phase,
)

NOTHING = {"goals": [], "data": [], "insights": [], "ideas": [], "prototypes": [],
           "indicators": [], "cycles": []}
REVISED_GOAL = ("GoalRevised", {"goal_id": "g-1", "reason": "later", **IMPACT,
                                "due": "2019-06-30"})
REVISED = ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2, "reason": "shorter"})
SHARED = ("PrototypeShared", {"prototype_id": "pro-1", "revision": 1, "member_id": "m",
                              "problem_id": "p", "name": "n", "summary": "s", "results": []})


@pytest.mark.parametrize("event, part_list, part_id", [
    (goal_set("g-1", IMPACT), "goals", "g-1"), (REVISED_GOAL, "goals", "g-1"),
    (DATA, "data", "d-1"), (INSIGHT, "insights", "i-1"), (IDEA, "ideas", "x-1"),
    (PROPOSED, "prototypes", "pro-1"), (SELECTED, "prototypes", "pro-1"),
    (REVISED, "prototypes", "pro-1"), (SHARED, "prototypes", "pro-1"),
    (LEADING, "indicators", "ind-1"), (STARTED, "cycles", "c-1"),
    (measured_event("c-1", "ind-1"), "cycles", "c-1"), (COMPLETED, "cycles", "c-1"),
])
def test_each_event_that_changes_a_part_names_it_in_its_list(event, part_list, part_id):
    assert changed_parts([event]) == {**NOTHING, part_list: [part_id]}


@pytest.mark.parametrize("event", [OPENED, phase("discover", None), GOALS[2]])
def test_events_of_the_project_itself_change_no_part(event):
    assert changed_parts([event]) == NOTHING


def test_a_part_changed_twice_is_named_once_in_the_order_parts_were_first_changed():
    assert changed_parts([measured_event("c-2", "ind-1"), measured_event("c-1", "ind-1"),
                          measured_event("c-2", "ind-1"), goal_set("g-9", IMPACT)]) == {
        **NOTHING, "cycles": ["c-2", "c-1"], "goals": ["g-9"]}


def header(project):
    return {"id": "prj-1", "hub_id": project.hub_id, "member_id": "mem-camino",
            "problem_id": "pop-math", "phase": project.phase, "version": project.version}


def test_a_new_goal_is_answered_alone():
    project = given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)], hub_id="el-dorado") \
        .instance
    project.set_goal("g-2", {**IMPACT, "kind": "implementation"}, TODAY)
    answer = project.answer([(e.type, e.data) for e in project.pending])
    assert answer == {**header(project), "hub_id": "el-dorado", **NOTHING,
                      "goals": [project.goals["g-2"]]}
    assert answer["phase"] is None and answer["version"] == 2


def test_the_way_back_answers_the_revised_prototype():
    project = given(Project, "prj-1", DONE).instance
    project.advance("prototype", True, "shorter")
    answer = project.answer([(e.type, e.data) for e in project.pending])
    assert answer == {**header(project), **NOTHING, "prototypes": [project.prototypes["pro-1"]]}
    assert answer["phase"] == "prototype"
    assert answer["prototypes"][0]["revisions"] == [{"revision": 2, "reason": "shorter"}]


def test_a_measurement_answers_its_cycle_with_that_measurement_only_and_the_count():
    history = [*TESTING, STARTED, *(measurement("c-1", "ind-1", k) for k in range(49))]
    project = given(Project, "prj-1", history).instance
    project.record_measurement("c-1", "ind-1", 61.0, 24, "2018-03-01", "after break")
    answer = project.answer([(e.type, e.data) for e in project.pending])
    cycle = answer["cycles"][0]
    assert [c["id"] for c in answer["cycles"]] == ["c-1"]
    assert cycle["measurements"] == [{"indicator_id": "ind-1", "value": 61.0, "n": 24,
                                      "on": "2018-03-01", "note": "after break"}]
    assert cycle["measurement_count"] == 50
    assert {k: v for k, v in cycle.items() if k not in ("measurements", "measurement_count")} \
        == {k: v for k, v in project.cycles["c-1"].items() if k != "measurements"}
    assert answer == {**header(project), **NOTHING, "cycles": [cycle]}


def test_each_cycle_answers_the_measurements_recorded_in_it():
    second = ("CycleStarted", {**STARTED[1], "cycle_id": "c-2", "number": 2})
    project = given(Project, "prj-1", [*TESTING, STARTED, second]).instance
    events = [measured_event("c-2", "ind-1", 41.0), measured_event("c-1", "ind-1", 40.0)]
    assert [(c["id"], [m["value"] for m in c["measurements"]])
            for c in project.answer(events)["cycles"]] == [("c-2", [41.0]), ("c-1", [40.0])]


def test_an_answer_rendered_again_from_the_log_is_the_first():
    # An Idempotency-Key's answer kept as a reference is rendered from events read back from
    # the database: their types are equal to the domain's, not the same objects.
    project = given(Project, "prj-1", [*TESTING, STARTED]).instance
    project.record_measurement("c-1", "ind-1", 61.0, 24, "2018-03-01")
    first = project.answer([(e.type, e.data) for e in project.pending])
    from_the_log = json.loads(json.dumps([(e.type, e.data) for e in project.pending]))
    assert project.answer([tuple(event) for event in from_the_log]) == first
    assert len(first["cycles"][0]["measurements"]) == 1


def test_a_completion_answers_its_cycle_without_the_measurements_it_did_not_record():
    project = given(Project, "prj-1", [*TESTING, STARTED, measurement("c-1", "ind-1")]) \
        .instance
    project.complete_cycle("c-1", "rose", "adopt")
    cycle = project.answer([(e.type, e.data) for e in project.pending])["cycles"][0]
    assert (cycle["status"], cycle["measurements"], cycle["measurement_count"]) == (
        "completed", [], 1)


def test_a_read_shows_every_part_and_every_measurement():
    history = [*DONE, measurement("c-1", "ind-1", 1)]
    project = given(Project, "prj-1", history).instance
    shown = project.shown()
    assert shown == {
        **header(project), "goals": list(project.goals.values()),
        "data": [{**DATA[1], "id": "d-1"}],
        "insights": list(project.insights.values()), "ideas": list(project.ideas.values()),
        "prototypes": list(project.prototypes.values()),
        "indicators": list(project.indicators.values()),
        "cycles": [{**project.cycles["c-1"], "measurement_count": 2}]}
    assert len(shown["cycles"][0]["measurements"]) == 2
    assert shown["version"] == len(history)
