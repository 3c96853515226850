"""The cycles rules a county office relies on, each on both sides of its boundary (issue 11):
what a test that only tried the refused side, or one lucky id, would let break."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from eventstore.errors import Conflict, NotFound, ValidationError
from eventstore.testing import given
from services.cycles.domain import MIN_GROUP_SIZE, Problem, Project, check_smart
from tests.unit.test_cycles_domain import (
    COMPLETED,
    DATA,
    DISCOVERING,
    DRAFTED,
    GOALS,
    IMPACT,
    INSIGHT,
    LEADING,
    MEASURED,
    OPENED,
    PLAN,
    PROPOSED,
    PROTOTYPING,
    RATIFIED,
    SELECTED,
    STARTED,
    TESTING,
    TODAY,
    phase,
)


@pytest.mark.parametrize("problem_hub", ["a-hub", "z-hub"])   # sorting before and after
def test_a_member_adopts_no_problem_of_another_hub_whichever_way_its_id_sorts(problem_hub):
    problem = given(Problem, "pop-x", [("ProblemDrafted", {**DRAFTED[1], "hub_id": problem_hub}),
                                       RATIFIED]).instance
    given(Project, "prj-1").when(lambda p: p.open("m-hub", "mem-1", problem)) \
        .then_raises(NotFound, "no problem")
    given(Project, "prj-1").when(lambda p: p.open(problem_hub, "mem-1", problem)).then([
        ("ProjectOpened", {"hub_id": problem_hub, "member_id": "mem-1",
                           "problem_id": "pop-x"})])


@pytest.mark.parametrize("votes_for, votes_against, ratified", [
    (5, 5, False), (5, 6, False), (6, 5, True), (None, None, True), (7, None, True)])
def test_a_problem_is_ratified_by_a_majority_and_a_tie_is_none(votes_for, votes_against,
                                                               ratified):
    scenario = given(Problem, "pop-math", [DRAFTED]).when(
        lambda p: p.ratify("2017-09-14", votes_for, votes_against))
    if ratified:
        scenario.then([("ProblemRatified", {"on": "2017-09-14", "votes_for": votes_for,
                                            "votes_against": votes_against})])
    else:
        scenario.then_raises(Conflict, "majority")


def smart(**changes):
    return {**IMPACT, **changes}


@pytest.mark.parametrize("goal", [
    smart(statement="three words here"),
    smart(baseline=31, target=40),                       # raise something
    smart(baseline=40, target=12),                       # reduce something (absences)
    smart(due=(TODAY + timedelta(days=1)).isoformat()),  # due tomorrow
])
def test_a_smart_goal_is_taken(goal):
    check_smart(goal, TODAY)


@pytest.mark.parametrize("goal, field", [
    (smart(statement="two words"), "statement"),
    (smart(baseline=31, target=31), "target"),
    (smart(due=TODAY.isoformat()), "due"),
    (smart(due=None), "due"),
    (smart(measure=""), "measure"),
    (smart(baseline="31"), "baseline"),
    (smart(target=True), "target"),
])
def test_a_goal_that_is_not_smart_is_refused_naming_the_field(goal, field):
    with pytest.raises(ValidationError) as refused:
        check_smart(goal, TODAY)
    assert field in refused.value.errors


@pytest.mark.parametrize("n, taken", [(MIN_GROUP_SIZE - 1, False), (MIN_GROUP_SIZE, True),
                                      (MIN_GROUP_SIZE + 1, True)])
def test_the_smallest_group_a_measurement_describes(n, taken):
    scenario = given(Project, "prj-1", [*TESTING, STARTED]).when(
        lambda p: p.record_measurement("c-1", "ind-1", 44.0, n, "2017-10-03"))
    if taken:
        scenario.then([("MeasurementRecorded", {"cycle_id": "c-1", "indicator_id": "ind-1",
                                                "value": 44.0, "n": n, "on": "2017-10-03",
                                                "note": None})])
    else:
        scenario.then_raises(ValidationError, "at least 5")


def test_data_insights_and_change_ideas_are_recorded():
    given(Project, "prj-1", DISCOVERING).when(lambda p: p.collect_data(
        "d-1", "survey", "mindset survey", None, 212)).then([DATA])
    given(Project, "prj-1", [*DISCOVERING, DATA, phase("interpret", "discover")]).when(
        lambda p: p.add_insight("i-1", "they give up", ["d-1"])).then([INSIGHT])
    given(Project, "prj-1", [*DISCOVERING, DATA, phase("interpret", "discover"), INSIGHT,
                             phase("ideate", "interpret")]).when(
        lambda p: p.add_idea("x-1", "number talks", "expert", "coach")).then([
            ("ChangeIdeaRecorded", {"idea_id": "x-1", "description": "number talks",
                                    "source": "expert", "source_ref": "coach"})])


def test_a_selected_prototype_with_a_leading_indicator_moves_on_to_test():
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED, SELECTED, LEADING]).when(
        lambda p: p.advance("test", True)).then([phase("test", "prototype")])
    project = given(Project, "prj-1", [*PROTOTYPING, PROPOSED, SELECTED, LEADING]).instance
    assert project.exit_criteria_missing() == []


def test_a_completed_test_cycle_does_not_stop_the_next_one():
    project = given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]).when(
        lambda p: p.start_cycle("c-2", "pro-1", PLAN, "above 55%")).then([
            ("CycleStarted", {"cycle_id": "c-2", "prototype_id": "pro-1", "revision": 1,
                              "plan": PLAN, "prediction": "above 55%", "number": 2})])
    assert project.cycles["c-2"]["status"] == "running"
    given(Project, "prj-1", [*TESTING, STARTED]).when(
        lambda p: p.start_cycle("c-2", "pro-1", PLAN, "x")).then_raises(Conflict, "running")


def test_a_cycle_ending_before_it_starts_is_refused_and_one_day_is_taken():
    one_day = {**PLAN, "ends": PLAN["starts"]}
    given(Project, "prj-1", TESTING).when(lambda p: p.start_cycle(
        "c-1", "pro-1", one_day, "x")).then([
            ("CycleStarted", {"cycle_id": "c-1", "prototype_id": "pro-1", "revision": 1,
                              "plan": one_day, "prediction": "x", "number": 1})])
    backwards = {**PLAN, "ends": (date.fromisoformat(PLAN["starts"])
                                  - timedelta(days=1)).isoformat()}
    given(Project, "prj-1", TESTING).when(lambda p: p.start_cycle(
        "c-1", "pro-1", backwards, "x")).then_raises(ValidationError, "ends")


def test_goals_of_both_kinds_are_what_starting_needs():
    missing = given(Project, "prj-1", [OPENED, *GOALS]).instance.exit_criteria_missing(True)
    assert missing == []


# -- the test → prototype loop: a revised prototype is tested again -------------------------------

REVISED = [*TESTING, STARTED, MEASURED, COMPLETED, phase("prototype", "test", "shorter"),
           ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2, "reason": "shorter"}),
           phase("test", "prototype")]


def cycle_of_revision(cycle_id, revision, number):
    return [("CycleStarted", {**STARTED[1], "cycle_id": cycle_id, "revision": revision,
                              "number": number}),
            ("MeasurementRecorded", {**MEASURED[1], "cycle_id": cycle_id}),
            ("CycleCompleted", {**COMPLETED[1], "cycle_id": cycle_id, "decision": "adopt"})]


def test_a_prototype_is_revised_only_once_its_running_cycle_is_completed():
    error = given(Project, "prj-1", [*TESTING, STARTED, MEASURED]) \
        .when(lambda p: p.advance("prototype", True, "shorter")) \
        .then_raises(Conflict, "test cycle c-1 is running")
    assert "complete it" in str(error)
    given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]) \
        .when(lambda p: p.advance("prototype", True, "shorter")) \
        .then([phase("prototype", "test", "shorter"),
               ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2,
                                     "reason": "shorter"})])


def test_a_revised_prototype_finishes_the_test_only_with_a_cycle_of_its_own():
    # The cycle that led to the revision tested the prototype as it was.
    error = given(Project, "prj-1", REVISED).when(lambda p: p.advance("evolve", True)) \
        .then_raises(Conflict, "test is not finished")
    assert error.extra["missing"] == [
        "a completed test cycle of the selected prototype as revised (revision 2)"]
    given(Project, "prj-1", [*REVISED, *cycle_of_revision("c-2", 2, 2)]) \
        .when(lambda p: p.advance("evolve", True)).then([phase("evolve", "test")])


def test_a_project_leaves_the_test_phase_with_no_cycle_running():
    running = [*TESTING, STARTED, MEASURED, COMPLETED,
               ("CycleStarted", {**STARTED[1], "cycle_id": "c-2", "number": 2})]
    error = given(Project, "prj-1", running).when(lambda p: p.advance("evolve", True)) \
        .then_raises(Conflict, "test is not finished")
    assert error.extra["missing"] == ["test cycle c-2 completed (it is running)"]
    project = given(Project, "prj-1", running).instance
    assert project.exit_criteria_missing(True) == ["test cycle c-2 completed (it is running)"]


@pytest.mark.parametrize("kind", ["lagging", "process", "balancing"])
def test_only_a_leading_indicator_opens_the_test(kind):
    history = [*PROTOTYPING, PROPOSED, SELECTED, ("IndicatorDefined", {**LEADING[1],
                                                                        "kind": kind})]
    given(Project, "prj-1", history).when(lambda p: p.advance("test", True)) \
        .then_raises(Conflict, "a leading indicator for the selected prototype")


def test_each_revision_of_a_prototype_counts_on_from_the_last():
    twice = [*REVISED, *cycle_of_revision("c-2", 2, 2)]
    project = given(Project, "prj-1", twice) \
        .when(lambda p: p.advance("prototype", True, "add visuals")) \
        .then([phase("prototype", "test", "add visuals"),
               ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 3,
                                     "reason": "add visuals"})])
    assert project.prototypes["pro-1"]["revision"] == 3


def test_a_much_revised_prototype_is_finished_by_a_cycle_of_its_latest_revision():
    # Revision numbers as the store gives them back: beyond the small numbers Python shares.
    late = [*REVISED, ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 300,
                                            "reason": "again"}),
            *cycle_of_revision("c-300", 300, 2)]
    given(Project, "prj-1", late).when(lambda p: p.advance("evolve", True)) \
        .then([phase("evolve", "test")])
    given(Project, "prj-1", [*late[:-3], *cycle_of_revision("c-299", 299, 2)]) \
        .when(lambda p: p.advance("evolve", True)).then_raises(Conflict, "revision 300")


def test_a_project_from_its_snapshot_knows_its_completed_cycles():
    # A snapshot's state comes back from the database as JSON, strings and all.
    import json
    done = given(Project, "prj-1", [*TESTING, STARTED, MEASURED, COMPLETED]).instance
    project = Project("prj-1")
    project.restore_state(json.loads(json.dumps(done.snapshot_state())))
    project.version = done.version
    assert project.exit_criteria_missing(True) == []
    project.share_prototype("pro-1", "number talks raise persistence")
    assert [e.type for e in project.pending] == ["PrototypeShared"]
    assert project.pending[0].data["results"] == [
        {"cycle_id": "c-1", "number": 1, "decision": "adapt", "findings": "rose"}]


@pytest.mark.parametrize("other", ["pro-0", "pro-2"])   # sorting before and after pro-1
def test_test_cycles_are_numbered_per_prototype(other):
    from tests.unit.test_cycles_boundaries import indicator, proposed, selected
    tried_other = [*PROTOTYPING, PROPOSED, proposed(other), selected(other),
                   indicator("ind-9", other), phase("test", "prototype"),
                   ("CycleStarted", {**STARTED[1], "cycle_id": "c-9", "prototype_id": other}),
                   ("MeasurementRecorded", {**MEASURED[1], "cycle_id": "c-9",
                                            "indicator_id": "ind-9"}),
                   ("CycleCompleted", {**COMPLETED[1], "cycle_id": "c-9",
                                       "prototype_id": other}),
                   phase("prototype", "test", "try the other"),
                   ("PrototypeRevised", {"prototype_id": other, "revision": 2,
                                         "reason": "try the other"}),
                   SELECTED, LEADING, phase("test", "prototype")]
    project = given(Project, "prj-1", tried_other) \
        .when(lambda p: p.start_cycle("c-1", "pro-1", PLAN, "above 50%")).instance
    assert project.pending[0].data["number"] == 1
    assert project.pending[0].data["revision"] == 1
