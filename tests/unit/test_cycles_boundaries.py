"""The cycles rules pinned on both sides of each boundary (issue 11): the allowed side as well
as the refused one, ids that sort before and after the one that counts, command arguments as
a request delivers them (``received``) and as the domain's own callers pass them (literals),
and a project as its snapshot gives it back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from eventstore.errors import Conflict, ValidationError
from eventstore.events import RecordedEvent
from eventstore.repository import Repository
from eventstore.store import Snapshot
from eventstore.testing import given, received
from services.cycles.domain import Project, check_smart
from tests.unit.test_cycles_domain import (
    COMPLETED,
    DATA,
    DISCOVERING,
    GOALS,
    IDEA,
    IMPACT,
    IMPLEMENTATION,
    INSIGHT,
    LEADING,
    MEASURED,
    OPENED,
    PLAN,
    PROPOSED,
    PROTOTYPING,
    SELECTED,
    STARTED,
    TESTING,
    TODAY,
    goal_set,
    phase,
)
from tests.unit.test_repository_unit import Store

INTERPRETING = [*DISCOVERING, DATA, phase("interpret", "discover")]
IDEATING = [*INTERPRETING, INSIGHT, phase("ideate", "interpret")]
READY_TO_TEST = [*PROTOTYPING, PROPOSED, SELECTED, LEADING]
DONE = [*TESTING, STARTED, MEASURED, COMPLETED]
EVOLVING = [*DONE, phase("evolve", "test")]
PRE_WORK_MISSING = ("membership pre-work: sponsor, driver, representative design team and "
                    "onboarding (see the member's readiness)")
SMART_MISSING = "SMART goals: at least one impact and one implementation goal"


def proposed(prototype_id):
    return ("PrototypeProposed", {**PROPOSED[1], "prototype_id": prototype_id,
                                  "name": f"prototype {prototype_id}"})


def selected(prototype_id):
    return ("PrototypeSelected", {**SELECTED[1], "prototype_id": prototype_id})


def indicator(indicator_id, prototype_id="pro-1", kind="leading"):
    return ("IndicatorDefined", {**LEADING[1], "indicator_id": indicator_id,
                                 "prototype_id": prototype_id, "kind": kind})


def measurement(cycle_id, indicator_id, k=0):
    return ("MeasurementRecorded", {
        "cycle_id": cycle_id, "indicator_id": indicator_id, "value": float(k % 50), "n": 24,
        "on": (date(2017, 10, 2) + timedelta(days=k)).isoformat(), "note": None})


def measured_event(cycle_id, indicator_id, value=44.0, n=24, on="2019-06-03"):
    return ("MeasurementRecorded", {"cycle_id": cycle_id, "indicator_id": indicator_id,
                                    "value": value, "n": n, "on": on, "note": None})


# -- phases: one at a time, forward, and what the refusal says -----------------------------------

def test_from_pre_work_a_project_can_move_to_discover_only_and_is_told_so():
    error = given(Project, "prj-1", [OPENED, *GOALS]) \
        .when(lambda p: p.advance(received("interpret"), True)).then_raises(Conflict)
    assert str(error) == "the project is in pre-work; it can move to discover"


@pytest.mark.parametrize("history, to, told", [
    (INTERPRETING, "discover", "the project is in interpret; it can move to ideate"),
    (READY_TO_TEST, "evolve", "the project is in prototype; it can move to test"),
    (EVOLVING, "prototype", "the project is in evolve; it can move to no later phase"),
])
def test_only_the_test_phase_offers_the_way_back_to_prototype(history, to, told):
    error = given(Project, "prj-1", history).when(lambda p: p.advance(received(to), True)) \
        .then_raises(Conflict)
    assert str(error) == told


@pytest.mark.parametrize("to", ["discover", "ideate", "test"])
def test_in_test_a_project_can_move_on_to_evolve_or_back_to_prototype_and_nowhere_else(to):
    error = given(Project, "prj-1", DONE).when(lambda p: p.advance(received(to), True, "why")) \
        .then_raises(Conflict)
    assert str(error) == ("the project is in test; it can move to evolve or back to "
                          "prototype")


def test_back_from_test_to_prototype_as_a_request_asks_it():
    given(Project, "prj-1", DONE) \
        .when(lambda p: p.advance(*received("prototype", True, "shorter sessions"))) \
        .then([phase("prototype", "test", "shorter sessions"),
               ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2,
                                     "reason": "shorter sessions"})])


@pytest.mark.parametrize("history, to, previous", [
    (DISCOVERING + [DATA], "interpret", "discover"),
    (INTERPRETING + [INSIGHT], "ideate", "interpret"),
    (IDEATING + [IDEA], "prototype", "ideate"),
    (READY_TO_TEST, "test", "prototype"),
    (DONE, "evolve", "test"),
])
def test_each_phase_is_left_once_its_exit_criteria_are_met(history, to, previous):
    project = given(Project, "prj-1", history).when(lambda p: p.advance(received(to), True)) \
        .then([phase(to, previous)])
    assert project.phase == to


def test_a_project_that_moves_to_test_needs_a_completed_cycle_at_once():
    # The phase as the domain's own callers pass it (bench/rebuild.py): a literal.
    project = given(Project, "prj-1", READY_TO_TEST).when(lambda p: p.advance("test", True)) \
        .then([phase("test", "prototype")])
    assert project.exit_criteria_missing(True) == [
        "a completed test cycle of the selected prototype"]


def test_an_evolving_project_needs_nothing_more():
    assert given(Project, "prj-1", EVOLVING).instance.exit_criteria_missing(True) == []


# -- pre-work -----------------------------------------------------------------------------------

def test_the_start_lists_both_membership_pre_work_and_smart_goals_when_both_are_missing():
    error = given(Project, "prj-1", [OPENED]).when(lambda p: p.advance("discover", False)) \
        .then_raises(Conflict, "pre-work is not finished")
    assert error.extra["missing"] == [PRE_WORK_MISSING, SMART_MISSING]


def test_read_without_membership_s_word_the_start_names_only_the_project_s_own_part():
    project = given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]).instance
    assert project.exit_criteria_missing() == [SMART_MISSING]
    assert project.exit_criteria_missing(False) == [PRE_WORK_MISSING, SMART_MISSING]


# -- the prototype → test criterion: the selected prototype's own leading indicator ------------

@pytest.mark.parametrize("other", ["pro-0", "pro-2"])   # sorting before and after pro-1
def test_a_leading_indicator_of_another_prototype_does_not_open_the_test(other):
    history = [*PROTOTYPING, PROPOSED, proposed(other), SELECTED,
               indicator("ind-9", other), indicator("ind-1", "pro-1", "lagging")]
    error = given(Project, "prj-1", history).when(lambda p: p.advance("test", True)) \
        .then_raises(Conflict, "a leading indicator for the selected prototype")
    assert error.extra["missing"] == ["a leading indicator for the selected prototype"]
    given(Project, "prj-1", [*history, indicator("ind-2", "pro-1")]) \
        .when(lambda p: p.advance("test", True)).then([phase("test", "prototype")])


@pytest.mark.parametrize("other", ["pro-0", "pro-2"])
def test_a_completed_cycle_of_another_prototype_does_not_finish_the_test(other):
    history = [*PROTOTYPING, PROPOSED, proposed(other), selected(other),
               indicator("ind-9", other), phase("test", "prototype"),
               ("CycleStarted", {**STARTED[1], "prototype_id": other}),
               measurement("c-1", "ind-9"), ("CycleCompleted", {**COMPLETED[1],
                                                                "prototype_id": other}),
               phase("prototype", "test", "try the other one"),
               ("PrototypeRevised", {"prototype_id": other, "revision": 2,
                                     "reason": "try the other one"}),
               SELECTED, LEADING, phase("test", "prototype")]
    given(Project, "prj-1", history).when(lambda p: p.advance("evolve", True)) \
        .then_raises(Conflict, "a completed test cycle of the selected prototype")
    given(Project, "prj-1", [*history, ("CycleStarted", {**STARTED[1], "cycle_id": "c-2"}),
                             measurement("c-2", "ind-1"),
                             ("CycleCompleted", {**COMPLETED[1], "cycle_id": "c-2"})]) \
        .when(lambda p: p.advance("evolve", True)).then([phase("evolve", "test")])


# -- work belongs to its phase --------------------------------------------------------------

@pytest.mark.parametrize("history", [DISCOVERING, INTERPRETING, EVOLVING])
def test_data_is_collected_in_every_phase_of_the_design_process(history):
    given(Project, "prj-1", history).when(lambda p: p.collect_data(
        *received("d-7", "interview", "focus group"), None, 9)).then([
            ("DataCollected", {"data_id": "d-7", "method": "interview",
                               "summary": "focus group", "source": None, "n": 9})])


@pytest.mark.parametrize("history, taken", [
    (DISCOVERING, False), (INTERPRETING, True), (IDEATING, True), (EVOLVING, True)])
def test_an_insight_is_recorded_from_interpret_on(history, taken):
    scenario = given(Project, "prj-1", history).when(
        lambda p: p.add_insight("i-7", "they skip homework", ["d-1"]))
    if taken:
        scenario.then([("InsightRecorded", {"insight_id": "i-7", "text": "they skip homework",
                                            "data_ids": ["d-1"]})])
    else:
        scenario.then_raises(Conflict, "this belongs to interpret or ideate")


@pytest.mark.parametrize("history, taken", [
    (INTERPRETING, False), (IDEATING, True), (PROTOTYPING, True), (EVOLVING, True)])
def test_a_change_idea_is_recorded_from_ideate_on(history, taken):
    scenario = given(Project, "prj-1", history).when(
        lambda p: p.add_idea("x-7", "peer tutoring", received("peer"), "Camino"))
    if taken:
        scenario.then([("ChangeIdeaRecorded", {"idea_id": "x-7",
                                               "description": "peer tutoring",
                                               "source": "peer", "source_ref": "Camino"})])
    else:
        scenario.then_raises(Conflict, "this belongs to ideate or prototype")


@pytest.mark.parametrize("history, taken", [
    (IDEATING + [IDEA], False), (PROTOTYPING, True), (TESTING, True), (EVOLVING, True)])
def test_a_prototype_is_proposed_from_the_prototype_phase_on(history, taken):
    scenario = given(Project, "prj-1", history).when(lambda p: p.propose_prototype(
        "pro-7", "Math circles", "weekly", received(["x-1"])))
    if taken:
        scenario.then([("PrototypeProposed", {"prototype_id": "pro-7", "name": "Math circles",
                                              "description": "weekly",
                                              "idea_ids": ["x-1"]})])
    else:
        scenario.then_raises(Conflict, "this belongs to prototype or test or evolve")


def test_a_prototype_tests_at_least_one_change_idea():
    given(Project, "prj-1", PROTOTYPING).when(lambda p: p.propose_prototype(
        "pro-7", "Math circles", "weekly", [])).then_raises(ValidationError, "change idea")


def test_a_prototype_is_selected_in_the_prototype_phase_only():
    given(Project, "prj-1", [*TESTING, proposed("pro-2")]).when(lambda p: p.select_prototype(
        "pro-2", [{"criterion": "doable", "met": True}])) \
        .then_raises(Conflict, "this belongs to prototype")


# -- the state a project keeps (what its snapshot holds) ------------------------------------

def test_a_goal_is_kept_as_its_fields_its_id_and_its_revisions():
    project = given(Project, "prj-1", [OPENED, goal_set("g-1", IMPACT)]).instance
    assert project.goals == {"g-1": {**IMPACT, "id": "g-1", "revisions": []}}


def test_a_proposed_prototype_is_neither_selected_nor_shared_until_it_is():
    project = given(Project, "prj-1", [*PROTOTYPING, PROPOSED]).instance
    assert project.prototypes["pro-1"] == {
        "id": "pro-1", "name": "Number talks", "description": "daily", "idea_ids": ["x-1"],
        "revision": 1, "selected": False, "criteria": [], "revisions": [], "shared": False}
    project = given(Project, "prj-1", [*PROTOTYPING, PROPOSED, proposed("pro-2"), SELECTED]) \
        .instance
    assert project.prototypes["pro-1"]["selected"] is True
    assert project.prototypes["pro-1"]["criteria"] == [{"criterion": "doable", "met": True}]
    assert project.prototypes["pro-2"]["selected"] is False
    project = given(Project, "prj-1", [*PROTOTYPING, PROPOSED, proposed("pro-2"), SELECTED]) \
        .when(lambda p: p.select_prototype("pro-2", [{"criterion": "cheap", "met": True}])) \
        .then([("PrototypeSelected", {"prototype_id": "pro-2",
                                      "criteria": [{"criterion": "cheap", "met": True}]})])
    assert project.selected_prototype == "pro-2"
    assert (project.prototypes["pro-1"]["selected"], project.prototypes["pro-2"]["selected"]) \
        == (False, True)


# -- goals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("same", [40.5, 1000])
def test_a_target_equal_to_the_baseline_is_refused_as_a_request_sends_it(same):
    with pytest.raises(ValidationError) as refused:
        check_smart(received({**IMPACT, "baseline": same, "target": same}), TODAY)
    assert refused.value.errors == {
        "target": ["not measurable: the target must differ from the baseline"]}
    check_smart(received({**IMPACT, "baseline": same, "target": same + 1}), TODAY)


@pytest.mark.parametrize("goal, other_kind", [(IMPACT, "implementation"),
                                              (IMPLEMENTATION, "impact")])
def test_a_revised_goal_keeps_its_kind_whichever_it_is(goal, other_kind):
    history = [OPENED, goal_set("g-1", goal)]
    given(Project, "prj-1", history) \
        .when(lambda p: p.revise_goal("g-1", received({"kind": other_kind}), "x", TODAY)) \
        .then_raises(ValidationError, "keeps its kind")
    given(Project, "prj-1", history).when(lambda p: p.revise_goal(
        "g-1", received({"kind": goal["kind"], "target": 45}), "stretch", TODAY)).then([
            ("GoalRevised", {**goal_set("g-1", {**goal, "target": 45})[1],
                             "reason": "stretch"})])


# -- indicators: the target on the side the indicator should go -------------------------------

SPEC = {"name": "absences", "kind": "leading", "unit": "days", "baseline": 40, "target": 60}


def indicator_defined(spec):
    return [("IndicatorDefined", {"indicator_id": "ind-7", "prototype_id": "pro-1",
                                  "name": spec["name"], "kind": spec["kind"],
                                  "unit": spec["unit"], "direction": spec["direction"],
                                  "baseline": spec.get("baseline"),
                                  "target": spec.get("target")})]


@pytest.mark.parametrize("direction, baseline, target, refused", [
    ("up", 40, 60, None), ("up", 40, 40, "above"), ("up", 40, 30, "above"),
    ("down", 40, 30, None), ("down", 40, 40, "below"), ("down", 40, 60, "below"),
    ("down", 40.5, 12.25, None),
])
def test_an_indicator_s_target_lies_on_the_side_it_should_go(direction, baseline, target,
                                                             refused):
    spec = received({**SPEC, "direction": direction, "baseline": baseline, "target": target})
    scenario = given(Project, "prj-1", [*PROTOTYPING, PROPOSED]) \
        .when(lambda p: p.define_indicator("ind-7", "pro-1", spec))
    if refused is None:
        scenario.then(indicator_defined(spec))
    else:
        error = scenario.then_raises(ValidationError)
        assert error.errors == {"target": [f"the target must be {refused} the baseline for an "
                                           f"indicator that should go {direction}"]}


@pytest.mark.parametrize("missing", ["baseline", "target"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_an_indicator_with_only_a_baseline_or_only_a_target_is_defined(missing, direction):
    spec = received({**SPEC, "direction": direction, missing: None})
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]) \
        .when(lambda p: p.define_indicator("ind-7", "pro-1", spec)) \
        .then(indicator_defined(spec))


def test_an_indicator_has_a_direction_up_or_down():
    given(Project, "prj-1", [*PROTOTYPING, PROPOSED]).when(lambda p: p.define_indicator(
        "ind-7", "pro-1", {**SPEC, "direction": "sideways"})).then_raises(ValidationError,
                                                                          "up, down")


# -- test cycles ------------------------------------------------------------------------------

@pytest.mark.parametrize("other", ["pro-0", "pro-2"])   # sorting before and after pro-1
def test_a_cycle_runs_only_the_selected_prototype_whichever_way_the_other_id_sorts(other):
    history = [*TESTING, proposed(other)]
    given(Project, "prj-1", history).when(lambda p: p.start_cycle(
        *received("c-1", other), PLAN, "x")) \
        .then_raises(Conflict, f"prototype {other} is not the selected prototype")
    given(Project, "prj-1", history).when(lambda p: p.start_cycle(
        *received("c-1", "pro-1"), PLAN, "above 50%")).then([STARTED])


@pytest.mark.parametrize("other", ["pro-0", "pro-2"])
def test_a_measurement_is_of_an_indicator_of_the_cycle_s_prototype(other):
    history = [*TESTING, proposed(other), indicator("ind-9", other), STARTED]
    given(Project, "prj-1", history).when(lambda p: p.record_measurement(
        *received("c-1", "ind-9"), 44.0, 24, "2017-10-03")) \
        .then_raises(ValidationError, "another prototype")
    given(Project, "prj-1", history).when(lambda p: p.record_measurement(
        *received("c-1", "ind-1"), 44.0, 24, "2017-10-03")).then([MEASURED])


def test_a_measurement_of_a_group_of_five_is_recorded_of_four_refused():
    given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.record_measurement(
        "c-1", "ind-1", 40.0, 5, "2017-10-03")).then([
            measured_event("c-1", "ind-1", 40.0, 5, "2017-10-03")])
    error = given(Project, "prj-1", [*TESTING, STARTED]).when(lambda p: p.record_measurement(
        "c-1", "ind-1", 50.0, 4, "2017-10-03")).then_raises(ValidationError, "at least 5")
    assert list(error.errors) == ["n"]


def test_a_cycle_with_a_measurement_findings_and_a_decision_is_completed():
    for decision in ("adopt", "adapt", "abandon"):
        project = given(Project, "prj-1", [*TESTING, STARTED, MEASURED]).when(
            lambda p, d=decision: p.complete_cycle(*received("c-1", "fell", d))).then([
                ("CycleCompleted", {"cycle_id": "c-1", "findings": "fell",
                                    "decision": decision, "prototype_id": "pro-1"})])
        assert project.cycles["c-1"]["status"] == "completed"


# -- points per indicator: a run chart holds at most 1,000 --------------------------------------

STARTED_2 = ("CycleStarted", {**STARTED[1], "cycle_id": "c-2", "number": 2})


def points(on_ind_1):
    """ind-1's points spread over a completed cycle and a running one, with a point each of
    ind-0 and ind-2 (ids sorting before and after) of the same prototype."""
    first = min(on_ind_1, 600)
    return [*TESTING, indicator("ind-0"), indicator("ind-2"), STARTED,
            *[measurement("c-1", "ind-1", k) for k in range(first)], COMPLETED, STARTED_2,
            measurement("c-2", "ind-0"), measurement("c-2", "ind-2"),
            *[measurement("c-2", "ind-1", k) for k in range(first, on_ind_1)]]


HOLDING_999, HOLDING_1000, HOLDING_1001 = points(999), points(1000), points(1001)


def test_an_indicator_s_thousandth_point_is_recorded_and_its_thousand_and_first_refused():
    # 1000 written out, not MAX_POINTS_PER_INDICATOR: the figure is the rule.
    given(Project, "prj-1", HOLDING_999).when(lambda p: p.record_measurement(
        *received("c-2", "ind-1"), 44.0, 24, "2019-06-03")).then([
            measured_event("c-2", "ind-1")])
    given(Project, "prj-1", HOLDING_1000).when(lambda p: p.record_measurement(
        *received("c-2", "ind-1"), 44.0, 24, "2019-06-03")).then_raises(
        Conflict, "indicator ind-1 has 1000 measurements, as many as a run chart holds")


@pytest.mark.parametrize("other", ["ind-0", "ind-2"])
def test_a_full_indicator_leaves_room_for_the_others(other):
    given(Project, "prj-1", HOLDING_1000).when(lambda p: p.record_measurement(
        *received("c-2", other), 44.0, 24, "2019-06-03")).then([measured_event("c-2", other)])


def test_an_indicator_that_held_more_points_before_the_limit_takes_no_more():
    # Streams recorded before the limit (it came after the service) may hold more.
    given(Project, "prj-1", HOLDING_1001).when(lambda p: p.record_measurement(
        *received("c-2", "ind-1"), 44.0, 24, "2019-06-03")).then_raises(Conflict, "has 1000")


# -- sharing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("other", ["pro-0", "pro-2"])
def test_a_prototype_is_shared_with_its_own_completed_cycles_only(other):
    history = [*DONE, proposed(other), indicator("ind-9", other),
               ("CycleStarted", {**STARTED[1], "cycle_id": "c-9", "prototype_id": other}),
               measurement("c-9", "ind-9"),
               ("CycleCompleted", {**COMPLETED[1], "cycle_id": "c-9", "prototype_id": other})]
    project = given(Project, "prj-1", history).when(
        lambda p: p.share_prototype(received("pro-1"), "it works")).then([("PrototypeShared", {
            "prototype_id": "pro-1", "revision": 1, "member_id": "mem-camino",
            "problem_id": "pop-math",
            "name": "Number talks", "summary": "it works",
            "results": [{"cycle_id": "c-1", "number": 1, "decision": "adapt",
                         "findings": "rose"}]})])
    assert project.prototypes["pro-1"]["shared"] is True
    assert project.prototypes[other]["shared"] is False
    assert [s["prototype_id"] for s in project.shares] == ["pro-1"]
    given(Project, "prj-1", [*TESTING, proposed(other), STARTED, MEASURED, COMPLETED]).when(
        lambda p: p.share_prototype(received(other), "x")).then_raises(Conflict, "completed")


# -- snapshots: a project is snapshotted every 100 events and goes on from one ------------------

class JsonStore(Store):
    """The store double, keeping a snapshot's state as the database gives it back (JSON)."""

    def save_snapshot(self, snapshot, cur=None):
        super().save_snapshot(Snapshot(snapshot.stream_id, snapshot.stream_type,
                                       snapshot.version, json.loads(json.dumps(snapshot.state))))


def stored(history):
    store = JsonStore()
    store.streams["prj-1"] = [
        RecordedEvent(n, 1, f"e-{n}", "prj-1", "project", n, event_type, 1, "el-dorado",
                      json.loads(json.dumps(data)), {}, datetime.now(UTC))
        for n, (event_type, data) in enumerate(history, start=1)]
    return store


def measure_and_save(store, k):
    repo = Repository(store, Project)
    project = repo.load("prj-1")
    project.record_measurement("c-1", "ind-1", 44.0, 24, f"2018-01-{k:02d}")
    repo.save(project)
    return project


def test_a_project_is_snapshotted_at_its_hundredth_event_not_its_ninety_ninth():
    history = [*TESTING, STARTED]
    store = stored(history + [measurement("c-1", "ind-1", k) for k in range(98 - len(history))])
    assert measure_and_save(store, 1).version == 99
    assert store.snapshots == {}
    assert measure_and_save(store, 2).version == 100
    assert store.snapshots["prj-1"].version == 100
    measure_and_save(store, 3)
    assert store.snapshots["prj-1"].version == 100


def test_a_project_loaded_from_its_snapshot_goes_on_with_its_running_cycle():
    history = [*TESTING, STARTED]
    store = stored(history + [measurement("c-1", "ind-1", k) for k in range(99 - len(history))])
    measure_and_save(store, 1)
    assert store.snapshots["prj-1"].version == 100
    del store.streams["prj-1"][:100]            # only the snapshot tells the project now
    project = Repository(store, Project).load("prj-1")
    assert project.version == 100 and project.cycles["c-1"]["status"] == "running"
    project.record_measurement("c-1", "ind-1", 45.0, 24, "2018-01-02")
    project.complete_cycle("c-1", "rose", "adopt")
    assert [e.type for e in project.pending] == ["MeasurementRecorded", "CycleCompleted"]
    assert project.cycles["c-1"]["measurements"][-1] == {
        "indicator_id": "ind-1", "value": 45.0, "n": 24, "on": "2018-01-02", "note": None}


def test_a_project_gone_on_from_its_snapshot_knows_its_running_cycle():
    """A snapshot's state comes back as the database gives it (JSON): the running cycle in it
    is still running, so neither a second cycle nor a revision may start."""
    project = Project("prj-1")
    project.restore_state(json.loads(json.dumps(
        given(Project, "prj-1", [*TESTING, STARTED]).instance.snapshot_state())))
    project.version = len(TESTING) + 1
    with pytest.raises(Conflict, match="a test cycle is running"):
        project.start_cycle("c-2", "pro-1", received(PLAN), "again")
    with pytest.raises(Conflict, match="test cycle c-1 is running"):
        project.advance("prototype", True, "shorter")
