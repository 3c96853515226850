"""Cycles rules and transitions, given / when / then."""

from __future__ import annotations

from datetime import date

import pytest

from eventstore.errors import Conflict, NotFound, ValidationError
from eventstore.testing import given
from services.cycles.domain import Problem, Project

TODAY = date(2017, 9, 1)
DRAFTED = ("ProblemDrafted", {
    "hub_id": "el-dorado", "title": "Math persistence", "statement": "Too few persist",
    "supporting_data": [{"source": "CAASPP", "finding": "below county"}],
    "selection_criteria": ["shared by most members"]})
RATIFIED = ("ProblemRatified", {"on": "2017-09-14", "votes_for": 11, "votes_against": 1})
OPENED = ("ProjectOpened", {"hub_id": "el-dorado", "member_id": "mem-camino",
                            "problem_id": "pop-math"})
IMPACT = {"kind": "impact", "statement": "Grade 3-5 math proficiency rises",
          "measure": "CAASPP met or exceeded", "unit": "%", "baseline": 31, "target": 40,
          "due": "2018-06-30"}
IMPLEMENTATION = {**IMPACT, "kind": "implementation",
                  "statement": "Teachers run number talks weekly", "measure": "observed %"}


def goal_set(goal_id, goal):
    return ("GoalSet", {"goal_id": goal_id, "kind": goal["kind"],
                        "statement": goal["statement"], "measure": goal["measure"],
                        "unit": goal["unit"], "baseline": goal["baseline"],
                        "target": goal["target"], "due": goal["due"]})


GOALS = [goal_set("g-1", IMPACT), goal_set("g-2", IMPLEMENTATION),
         ("SmartGoalsSet", {"member_id": "mem-camino"})]


def phase(to, previous, reason=None):
    return ("PhaseChanged", {"phase": to, "previous": previous, "reason": reason})


DISCOVERING = [OPENED, *GOALS, phase("discover", None)]
DATA = ("DataCollected", {"data_id": "d-1", "method": "survey", "summary": "mindset survey",
                          "source": None, "n": 212})
INSIGHT = ("InsightRecorded", {"insight_id": "i-1", "text": "they give up",
                               "data_ids": ["d-1"]})
IDEA = ("ChangeIdeaRecorded", {"idea_id": "x-1", "description": "number talks",
                               "source": "expert", "source_ref": "coach"})
PROTOTYPING = [*DISCOVERING, DATA, phase("interpret", "discover"), INSIGHT,
               phase("ideate", "interpret"), IDEA, phase("prototype", "ideate")]
PROPOSED = ("PrototypeProposed", {"prototype_id": "pro-1", "name": "Number talks",
                                  "description": "daily", "idea_ids": ["x-1"]})
SELECTED = ("PrototypeSelected", {"prototype_id": "pro-1",
                                  "criteria": [{"criterion": "doable", "met": True}]})
LEADING = ("IndicatorDefined", {"indicator_id": "ind-1", "prototype_id": "pro-1",
                                "name": "persistence", "kind": "leading", "unit": "%",
                                "direction": "up", "baseline": 40, "target": 60})
TESTING = [*PROTOTYPING, PROPOSED, SELECTED, LEADING, phase("test", "prototype")]
PLAN = {"who": "grade 4", "starts": "2017-10-01", "ends": "2017-10-28", "how": "exit tickets"}
STARTED = ("CycleStarted", {"cycle_id": "c-1", "prototype_id": "pro-1", "revision": 1,
                            "plan": PLAN, "prediction": "above 50%", "number": 1})
MEASURED = ("MeasurementRecorded", {"cycle_id": "c-1", "indicator_id": "ind-1", "value": 44.0,
                                    "n": 24, "on": "2017-10-03", "note": None})
COMPLETED = ("CycleCompleted", {"cycle_id": "c-1", "findings": "rose", "decision": "adapt",
                                "prototype_id": "pro-1"})


def ratified_problem():
    return given(Problem, "pop-math", [DRAFTED, RATIFIED]).instance


# -- problems of practice ----------------------------------------------------------------------

def test_a_problem_is_drafted_from_data_with_selection_criteria():
    given(Problem, "pop-math").when(lambda p: p.draft(
        "el-dorado", "Math persistence", "Too few persist",
        [{"source": "CAASPP", "finding": "below county"}], ["shared by most members"])) \
        .then([DRAFTED])
    given(Problem, "pop-math").when(lambda p: p.draft("el-dorado", "t", "s", [], ["c"])) \
        .then_raises(ValidationError, "shared data")
    given(Problem, "pop-math").when(lambda p: p.draft(
        "el-dorado", "t", "s", [{"source": "a", "finding": "b"}], [])) \
        .then_raises(ValidationError, "selection criterion")


def test_the_network_ratifies_a_problem_once_and_by_majority():
    given(Problem, "pop-math", [DRAFTED]).when(lambda p: p.ratify("2017-09-14", 11, 1)) \
        .then([RATIFIED])
    given(Problem, "pop-math", [DRAFTED]).when(lambda p: p.ratify("2017-09-14", 3, 9)) \
        .then_raises(Conflict, "majority")
    given(Problem, "pop-math", [DRAFTED, RATIFIED]) \
        .when(lambda p: p.ratify("2017-09-15", None, None)).then_raises(Conflict, "already")


# -- adoption and goals ------------------------------------------------------------------------

def test_a_member_adopts_only_a_ratified_problem_of_its_hub():
    given(Project, "prj-1").when(lambda p: p.open("el-dorado", "mem-camino",
                                                  ratified_problem())).then([OPENED])
    draft = given(Problem, "pop-math", [DRAFTED]).instance
    given(Project, "prj-1").when(lambda p: p.open("el-dorado", "mem-camino", draft)) \
        .then_raises(Conflict, "not ratified")
    given(Project, "prj-1").when(lambda p: p.open("alpine", "mem-x", ratified_problem())) \
        .then_raises(NotFound, "no problem")
    given(Project, "prj-1").when(lambda p: p.open("el-dorado", "mem-camino",
                                                  ratified_problem(), member_active=False)) \
        .then_raises(Conflict, "off-boarded")


def test_goals_must_be_smart_and_say_why_not():
    given(Project, "prj-1", [OPENED]).when(lambda p: p.set_goal("g-1", IMPACT, TODAY)) \
        .then([goal_set("g-1", IMPACT)])
    for change, field, reason in (
            ({"due": None}, "due", "not time-bound"),
            ({"due": "2017-08-01"}, "due", "in the future"),
            ({"measure": ""}, "measure", "not measurable"),
            ({"target": None}, "target", "not measurable"),
            ({"target": 31}, "target", "differ from the baseline"),
            ({"statement": "math"}, "statement", "not specific")):
        error = given(Project, "prj-1", [OPENED]) \
            .when(lambda p, c=change: p.set_goal("g-1", {**IMPACT, **c}, TODAY)) \
            .then_raises(ValidationError, reason)
        assert field in error.extra["errors"]


def test_both_kinds_of_goal_make_the_smart_goals_set_once():
    given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]) \
        .when(lambda p: p.set_goal("g-2", IMPLEMENTATION, TODAY)) \
        .then([goal_set("g-2", IMPLEMENTATION), ("SmartGoalsSet", {"member_id": "mem-camino"})])
    given(Project, "prj-1", [OPENED, *GOALS]) \
        .when(lambda p: p.set_goal("g-3", IMPACT, TODAY)).then([goal_set("g-3", IMPACT)])


def test_a_revised_goal_keeps_its_history_and_its_kind():
    project = given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]) \
        .when(lambda p: p.revise_goal("g-1", {"target": 36}, "baseline was optimistic",
                                      TODAY)) \
        .then([("GoalRevised", {**goal_set("g-1", {**IMPACT, "target": 36})[1],
                                "reason": "baseline was optimistic"})])
    goal = project.goals["g-1"]
    assert goal["target"] == 36 and goal["revisions"][0]["previous"]["target"] == 40
    given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]) \
        .when(lambda p: p.revise_goal("g-1", {"kind": "implementation"}, "x", TODAY)) \
        .then_raises(ValidationError, "keeps its kind")
    given(Project, "prj-1", [OPENED]).when(lambda p: p.revise_goal("g-9", {}, "x", TODAY)) \
        .then_raises(NotFound, "no goal")


# -- phases and exit criteria ------------------------------------------------------------------

def test_a_member_that_is_not_ready_cannot_start():
    given(Project, "prj-1", [OPENED, *GOALS]).when(lambda p: p.advance("discover", False)) \
        .then_raises(Conflict, "pre-work")
    given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]) \
        .when(lambda p: p.advance("discover", True)).then_raises(Conflict, "SMART goals")
    given(Project, "prj-1", [OPENED, *GOALS]).when(lambda p: p.advance("discover", True)) \
        .then([phase("discover", None)])


@pytest.mark.parametrize("history, to, missing", [
    (DISCOVERING, "interpret", "data collected"),
    ([*DISCOVERING, DATA, phase("interpret", "discover")], "ideate", "insight"),
    ([*DISCOVERING, DATA, phase("interpret", "discover"), INSIGHT, phase("ideate", "interpret")],
     "prototype", "change idea"),
    (PROTOTYPING, "test", "prototype selected"),
    ([*PROTOTYPING, PROPOSED, SELECTED], "test", "leading indicator"),
    ([*PROTOTYPING, PROPOSED, SELECTED,
      ("IndicatorDefined", {**LEADING[1], "kind": "lagging"})], "test", "leading indicator"),
    (TESTING, "evolve", "completed test cycle"),
    ([*TESTING, STARTED, MEASURED], "evolve", "completed test cycle"),
])
def test_each_phase_has_exit_criteria(history, to, missing):
    given(Project, "prj-1", history).when(lambda p: p.advance(to, True)) \
        .then_raises(Conflict, missing)


def test_phases_move_one_at_a_time_and_only_forward_except_test_to_prototype():
    given(Project, "prj-1", [*DISCOVERING, DATA]).when(lambda p: p.advance("ideate", True)) \
        .then_raises(Conflict, "can move to interpret")
    given(Project, "prj-1", [*DISCOVERING, DATA, phase("interpret", "discover")]) \
        .when(lambda p: p.advance("discover", True)).then_raises(Conflict, "can move to ideate")
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]) \
        .when(lambda p: p.advance("evolve", True)).then([phase("evolve", "test")])
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED, phase("evolve", "test")]) \
        .when(lambda p: p.advance("test", True)).then_raises(Conflict, "no later phase")


def test_going_back_from_test_to_prototype_revises_the_prototype():
    project = given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]) \
        .when(lambda p: p.advance("prototype", True, "shorter sessions")) \
        .then([("PhaseChanged", {"phase": "prototype", "previous": "test",
                                 "reason": "shorter sessions"}),
               ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2,
                                     "reason": "shorter sessions"})])
    assert project.prototypes["pro-1"]["revision"] == 2
    given(Project, "prj-1", TESTING).when(lambda p: p.advance("prototype", True)) \
        .then_raises(ValidationError, "why")


def test_work_belongs_to_its_phase():
    given(Project, "prj-1", [OPENED, *GOALS]).when(
        lambda p: p.collect_data("d-1", "survey", "s", None, None)).then_raises(Conflict,
                                                                                "pre-work")
    given(Project, "prj-1", DISCOVERING).when(lambda p: p.add_insight("i-1", "t", [])) \
        .then_raises(Conflict, "interpret")
    given(Project, "prj-1", DISCOVERING).when(
        lambda p: p.collect_data("d-1", "gossip", "s", None, None)) \
        .then_raises(ValidationError, "survey")
    given(Project, "prj-1", [*DISCOVERING, DATA, phase("interpret", "discover")]) \
        .when(lambda p: p.add_insight("i-1", "t", ["d-9"])).then_raises(NotFound, "no data")
    given(Project, "prj-1", PROTOTYPING).when(
        lambda p: p.add_idea("x-2", "d", "rumour", None)).then_raises(ValidationError, "peer")


def test_a_prototype_is_selected_against_criteria_all_met():
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]).when(lambda p: p.select_prototype(
        "pro-1", [{"criterion": "doable", "met": True}])).then([SELECTED])
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]).when(lambda p: p.select_prototype(
        "pro-1", [{"criterion": "doable", "met": True}, {"criterion": "cheap", "met": False}])) \
        .then_raises(Conflict, "cheap")
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]).when(
        lambda p: p.select_prototype("pro-1", [])).then_raises(ValidationError, "criteria")
    given(Project, "prj-1", PROTOTYPING).when(lambda p: p.propose_prototype(
        "pro-1", "n", "d", ["x-9"])).then_raises(NotFound, "no change idea")


def test_indicators_have_a_kind_a_direction_and_a_target_on_the_right_side():
    spec = {"name": "persistence", "kind": "leading", "unit": "%", "direction": "up",
            "baseline": 40, "target": 60}
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]) \
        .when(lambda p: p.define_indicator("ind-1", "pro-1", spec)).then([LEADING])
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]) \
        .when(lambda p: p.define_indicator("ind-1", "pro-1", {**spec, "target": 30})) \
        .then_raises(ValidationError, "above the baseline")
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]) \
        .when(lambda p: p.define_indicator("ind-1", "pro-1", {**spec, "kind": "vibes"})) \
        .then_raises(ValidationError, "leading")


# -- test cycles -------------------------------------------------------------------------------

def test_a_test_cycle_runs_the_selected_prototype_one_at_a_time():
    given(Project, "prj-1", TESTING).when(lambda p: p.start_cycle(
        "c-1", "pro-1", PLAN, "above 50%")).then([STARTED])
    given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.start_cycle(
        "c-2", "pro-1", PLAN, "p")).then_raises(Conflict, "running")
    given(Project, "prj-1", PROTOTYPING + [PROPOSED, SELECTED, LEADING]).when(
        lambda p: p.start_cycle("c-1", "pro-1", PLAN, "p")).then_raises(Conflict, "test")
    given(Project, "prj-1", TESTING).when(lambda p: p.start_cycle(
        "c-1", "pro-1", {**PLAN, "ends": "2017-09-01"}, "p")).then_raises(ValidationError,
                                                                          "ends")


def test_measurements_are_aggregates_of_a_group_in_a_running_cycle():
    given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.record_measurement(
        "c-1", "ind-1", 44.0, 24, "2017-10-03")).then([MEASURED])
    given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.record_measurement(
        "c-1", "ind-1", 1.0, 1, "2017-10-03")).then_raises(ValidationError, "student-level")
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]).when(
        lambda p: p.record_measurement("c-1", "ind-1", 1.0, 20, "2017-10-30")) \
        .then_raises(Conflict, "closed")
    given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.record_measurement(
        "c-1", "ind-9", 1.0, 20, "2017-10-03")).then_raises(NotFound, "no indicator")


def test_a_cycle_completes_once_with_data_findings_and_a_decision():
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED]).when(
        lambda p: p.complete_cycle("c-1", "rose", "adapt")).then([COMPLETED])
    given(Project, "prj-1", [*TESTING, STARTED]).when(
        lambda p: p.complete_cycle("c-1", "rose", "adapt")).then_raises(Conflict, "measurement")
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED]).when(
        lambda p: p.complete_cycle("c-1", "rose", "maybe")).then_raises(ValidationError, "adopt")
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]).when(
        lambda p: p.complete_cycle("c-1", "rose", "adopt")).then_raises(Conflict, "already")


def test_a_prototype_is_shared_with_its_results_once_a_cycle_is_done():
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]).when(
        lambda p: p.share_prototype("pro-1", "it works")).then([("PrototypeShared", {
            "prototype_id": "pro-1", "revision": 1, "member_id": "mem-camino",
            "problem_id": "pop-math",
            "name": "Number talks", "summary": "it works",
            "results": [{"cycle_id": "c-1", "number": 1, "decision": "adapt",
                         "findings": "rose"}]})])
    given(Project, "prj-1", [*TESTING, STARTED]).when(
        lambda p: p.share_prototype("pro-1", "x")).then_raises(Conflict, "completed")
