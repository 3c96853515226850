"""What one project may hold (issue 15): each part bounded, refused one past its limit naming
it, and allowed one before (the limits as literals: a test that read the constants would move
with a mutated one). A prototype revision is shared once."""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict, ValidationError
from eventstore.testing import given, received
from services.cycles.domain import (
    MAX_CYCLES,
    MAX_DATA_SETS,
    MAX_GOALS,
    MAX_IDEAS,
    MAX_INDICATORS,
    MAX_INSIGHTS,
    MAX_PROTOTYPES,
    MAX_REVISIONS_PER_GOAL,
    MAX_REVISIONS_PER_PROTOTYPE,
    Project,
    changed_parts,
)
from tests.unit.test_cycles_boundaries import (
    DONE,
    IDEATING,
    INTERPRETING,
    READY_TO_TEST,
    indicator,
    measurement,
    proposed,
)
from tests.unit.test_cycles_domain import (
    COMPLETED,
    DISCOVERING,
    IMPACT,
    OPENED,
    PLAN,
    PROTOTYPING,
    STARTED,
    TESTING,
    TODAY,
    goal_set,
    phase,
)


def test_the_limits_are_those_decision_005_documents():
    assert (MAX_GOALS, MAX_REVISIONS_PER_GOAL, MAX_DATA_SETS, MAX_INSIGHTS, MAX_IDEAS,
            MAX_PROTOTYPES, MAX_REVISIONS_PER_PROTOTYPE, MAX_INDICATORS, MAX_CYCLES) == (
        20, 20, 200, 200, 200, 30, 20, 30, 100)


def refused(history, command, field, message):
    error = given(Project, "prj-1", history).when(command).then_raises(ValidationError)
    assert str(error) == message
    assert error.errors == {field: [message]}


# -- goals and their revisions ------------------------------------------------------------------

def goals(count):
    return [OPENED, *(goal_set(f"g-{k}", IMPACT) for k in range(count))]


def test_a_project_sets_its_twentieth_goal_and_no_twenty_first():
    given(Project, "prj-1", goals(19)).when(lambda p: p.set_goal(
        "g-new", received(IMPACT), TODAY)).then([goal_set("g-new", IMPACT)])
    refused(goals(20), lambda p: p.set_goal("g-new", received(IMPACT), TODAY), "goals",
            "a project holds at most 20 goals: revise a goal rather than set another")


def test_a_stream_holding_more_goals_than_the_limit_takes_no_more():
    # Streams recorded before the limit came may hold more.
    refused(goals(21), lambda p: p.set_goal("g-new", received(IMPACT), TODAY), "goals",
            "a project holds at most 20 goals: revise a goal rather than set another")


def revised(count):
    return [OPENED, goal_set("g-1", IMPACT), *(
        ("GoalRevised", {"goal_id": "g-1", "reason": f"year {k}", **{
            key: value for key, value in IMPACT.items()}, "target": 41 + k})
        for k in range(count))]


def test_a_goal_is_revised_a_twentieth_time_and_not_a_twenty_first():
    project = given(Project, "prj-1", revised(19)).when(lambda p: p.revise_goal(
        "g-1", received({"target": 70}), "again", TODAY)).then([
            ("GoalRevised", {"goal_id": "g-1", "reason": "again",
                             **{**IMPACT, "target": 70}})])
    assert len(project.goals["g-1"]["revisions"]) == 20
    refused(revised(20), lambda p: p.revise_goal("g-1", received({"target": 70}), "again",
                                                 TODAY), "revisions",
            "a goal is revised at most 20 times: set a new goal to go on")


# -- data, insights, change ideas -----------------------------------------------------------------

def data_sets(count):
    return [("DataCollected", {"data_id": f"d-{k}", "method": "survey", "summary": "survey",
                               "source": None, "n": 20}) for k in range(2, count + 2)]


def test_a_project_collects_its_two_hundredth_data_set_and_no_more():
    history = [*DISCOVERING, *data_sets(199)]
    given(Project, "prj-1", history).when(lambda p: p.collect_data(
        *received("d-new", "survey", "one more"), None, None)).then([
            ("DataCollected", {"data_id": "d-new", "method": "survey", "summary": "one more",
                               "source": None, "n": None})])
    refused([*DISCOVERING, *data_sets(200)],
            lambda p: p.collect_data(*received("d-new", "survey", "one more"), None, None),
            "data", "a project holds at most 200 data sets: summarise several in one")


def insights(count):
    return [("InsightRecorded", {"insight_id": f"i-{k}", "text": "they give up",
                                 "data_ids": []}) for k in range(2, count + 2)]


def test_a_project_records_its_two_hundredth_insight_and_no_more():
    history = [*INTERPRETING, *insights(199)]         # INTERPRETING holds none yet
    given(Project, "prj-1", history).when(lambda p: p.add_insight(
        *received("i-new", "one more", []))).then([
            ("InsightRecorded", {"insight_id": "i-new", "text": "one more", "data_ids": []})])
    refused([*INTERPRETING, *insights(200)],
            lambda p: p.add_insight(*received("i-new", "one more", [])), "insights",
            "a project holds at most 200 insights: say several in one")


def ideas(count):
    return [("ChangeIdeaRecorded", {"idea_id": f"x-{k}", "description": "number talks",
                                    "source": "peer", "source_ref": None})
            for k in range(2, count + 2)]


def test_a_project_records_its_two_hundredth_change_idea_and_no_more():
    given(Project, "prj-1", [*IDEATING, *ideas(199)]).when(lambda p: p.add_idea(
        *received("x-new", "one more", "peer"), None)).then([
            ("ChangeIdeaRecorded", {"idea_id": "x-new", "description": "one more",
                                    "source": "peer", "source_ref": None})])
    refused([*IDEATING, *ideas(200)],
            lambda p: p.add_idea(*received("x-new", "one more", "peer"), None), "ideas",
            "a project holds at most 200 change ideas: build prototypes from those it has")


# -- prototypes, their revisions, indicators, test cycles ----------------------------------------

def test_a_project_proposes_its_thirtieth_prototype_and_no_more():
    history = [*PROTOTYPING, *(proposed(f"pro-{k}") for k in range(29))]
    given(Project, "prj-1", history).when(lambda p: p.propose_prototype(
        *received("pro-new", "Math circles", "weekly", ["x-1"]))).then([
            ("PrototypeProposed", {"prototype_id": "pro-new", "name": "Math circles",
                                   "description": "weekly", "idea_ids": ["x-1"]})])
    refused([*history, proposed("pro-29")], lambda p: p.propose_prototype(
        *received("pro-new", "Math circles", "weekly", ["x-1"])), "prototypes",
        "a project holds at most 30 prototypes: revise one rather than propose another")


def revisions(count):
    history = list(DONE)
    for k in range(2, count + 2):
        history += [phase("prototype", "test", f"round {k}"),
                    ("PrototypeRevised", {"prototype_id": "pro-1", "revision": k,
                                          "reason": f"round {k}"}),
                    phase("test", "prototype")]
    return history


def test_a_prototype_is_revised_a_twentieth_time_and_not_a_twenty_first():
    project = given(Project, "prj-1", revisions(19)).when(lambda p: p.advance(
        *received("prototype", True, "once more"))).then([
            phase("prototype", "test", "once more"),
            ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 21,
                                  "reason": "once more"})])
    assert len(project.prototypes["pro-1"]["revisions"]) == 20
    refused(revisions(20), lambda p: p.advance(*received("prototype", True, "once more")),
            "revisions", "a prototype is revised at most 20 times: propose a new prototype "
                         "to go on")


def test_another_prototypes_revisions_leave_the_selected_one_its_own():
    history = [*PROTOTYPING, proposed("pro-0"), *(
        ("PrototypeRevised", {"prototype_id": "pro-0", "revision": k, "reason": "r"})
        for k in range(2, 22)), *READY_TO_TEST[len(PROTOTYPING):], phase("test", "prototype"),
        STARTED, measurement("c-1", "ind-1"), COMPLETED]
    given(Project, "prj-1", history).when(lambda p: p.advance("prototype", True, "why")) \
        .then([phase("prototype", "test", "why"),
               ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2, "reason": "why"})])


def test_a_project_defines_its_thirtieth_indicator_and_no_more():
    history = [*READY_TO_TEST, *(indicator(f"ind-{k}") for k in range(2, 30))]   # 29 in all
    spec = {"name": "attendance", "kind": "balancing", "unit": "%", "direction": "up"}
    given(Project, "prj-1", history).when(lambda p: p.define_indicator(
        *received("ind-new", "pro-1", spec))).then([
            ("IndicatorDefined", {"indicator_id": "ind-new", "prototype_id": "pro-1",
                                  "name": "attendance", "kind": "balancing", "unit": "%",
                                  "direction": "up", "baseline": None, "target": None})])
    refused([*history, indicator("ind-30")], lambda p: p.define_indicator(
        *received("ind-new", "pro-1", spec)), "indicators",
        "a project holds at most 30 indicators: measure on with those it has")


def cycles(count):
    return [event for k in range(count) for event in (
        ("CycleStarted", {**STARTED[1], "cycle_id": f"c-{k + 2}", "number": k + 2}),
        ("CycleCompleted", {**COMPLETED[1], "cycle_id": f"c-{k + 2}"}))]


def test_a_project_starts_its_hundredth_test_cycle_and_no_more():
    started = ("CycleStarted", {"cycle_id": "c-new", "prototype_id": "pro-1", "revision": 1,
                                "plan": PLAN, "prediction": "rises", "number": 100})
    given(Project, "prj-1", [*TESTING, *cycles(99)]).when(lambda p: p.start_cycle(
        *received("c-new", "pro-1", PLAN, "rises"))).then([started])
    refused([*TESTING, *cycles(100)], lambda p: p.start_cycle(
        *received("c-new", "pro-1", PLAN, "rises")), "cycles",
        "a project holds at most 100 test cycles: a longer effort is a new project")


# -- sharing: once per revision of a prototype ------------------------------------------------

def shared(revision=1, prototype_id="pro-1"):
    data = {"prototype_id": prototype_id, "revision": revision, "member_id": "mem-camino",
            "problem_id": "pop-math", "name": "Number talks", "summary": "it works",
            "results": []}
    if revision is None:          # as recorded before shares named their revision
        del data["revision"]
    return ("PrototypeShared", data)


def test_a_prototype_revision_is_shared_once():
    error = given(Project, "prj-1", [*DONE, shared()]).when(
        lambda p: p.share_prototype(received("pro-1"), "again")).then_raises(Conflict)
    assert str(error) == ("prototype pro-1 is shared already as it stands (revision 1); a "
                          "revised prototype may be shared again")


def test_a_share_recorded_before_shares_named_their_revision_counts_as_the_revision_of_then():
    given(Project, "prj-1", [*DONE, shared(None)]).when(
        lambda p: p.share_prototype(received("pro-1"), "again")).then_raises(
        Conflict, "shared already as it stands (revision 1)")
    project = given(Project, "prj-1", [*DONE, shared(None)]).instance
    assert project.shares[0]["revision"] == 1


def revised_and_retested(*before):
    return [*DONE, *before, phase("prototype", "test", "shorter"),
            ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 2, "reason": "shorter"}),
            phase("test", "prototype"),
            ("CycleStarted", {**STARTED[1], "cycle_id": "c-2", "revision": 2, "number": 2}),
            measurement("c-2", "ind-1"), ("CycleCompleted", {**COMPLETED[1], "cycle_id": "c-2",
                                                              "decision": "adopt"})]


@pytest.mark.parametrize("earlier", [shared(1), shared(None)])
def test_a_revised_prototype_is_shared_again(earlier):
    project = given(Project, "prj-1", revised_and_retested(earlier)).when(
        lambda p: p.share_prototype(received("pro-1"), "shorter works")).then([
            ("PrototypeShared", {
                "prototype_id": "pro-1", "revision": 2, "member_id": "mem-camino",
                "problem_id": "pop-math", "name": "Number talks", "summary": "shorter works",
                "results": [{"cycle_id": "c-1", "number": 1, "decision": "adapt",
                             "findings": "rose"},
                            {"cycle_id": "c-2", "number": 2, "decision": "adopt",
                             "findings": "rose"}]})])
    assert [s["revision"] for s in project.shares] == [1, 2]
    given(Project, "prj-1", [*revised_and_retested(earlier), shared(2)]).when(
        lambda p: p.share_prototype(received("pro-1"), "x")).then_raises(
        Conflict, "shared already as it stands (revision 2)")


def test_a_much_revised_prototype_is_shared_once_at_its_revision():
    # Revision numbers as the store gives them back, beyond the small numbers Python shares: a
    # stream recorded before the limit on revisions may hold hundreds.
    history = revised_and_retested()
    history[len(DONE) + 1] = ("PrototypeRevised", {"prototype_id": "pro-1", "revision": 300,
                                                   "reason": "shorter"})
    history[len(DONE) + 3][1]["revision"] = 300
    given(Project, "prj-1", [*history, shared(300)]).when(
        lambda p: p.share_prototype(received("pro-1"), "again")).then_raises(
        Conflict, "shared already as it stands (revision 300)")


@pytest.mark.parametrize("other", ["pro-0", "pro-2"])
def test_another_prototypes_share_leaves_this_one_unshared(other):
    history = [*DONE, proposed(other), shared(1, other)]
    given(Project, "prj-1", history).when(
        lambda p: p.share_prototype(received("pro-1"), "it works")).then([
            ("PrototypeShared", {**shared(1)[1], "results": [
                {"cycle_id": "c-1", "number": 1, "decision": "adapt", "findings": "rose"}]})])


def test_a_project_snapshotted_before_shares_named_their_revision_shares_on():
    project = given(Project, "prj-1", DONE).instance
    state = project.snapshot_state()
    state["shares"] = [{k: v for k, v in shared(1)[1].items() if k != "revision"}]
    again = Project("prj-1")
    again.restore_state(state)
    again.share_prototype("pro-1", "again")
    assert [e.data["revision"] for e in again.pending] == [1]


# -- withdrawing a share ------------------------------------------------------------------------

UNSHARED = ("PrototypeUnshared", {"prototype_id": "pro-1", "member_id": "mem-camino"})


def test_a_shared_prototype_is_withdrawn_and_may_be_shared_again():
    project = given(Project, "prj-1", [*DONE, shared()]).when(
        lambda p: p.unshare_prototype(received("pro-1"))).then([UNSHARED])
    assert project.prototypes["pro-1"]["shared"] is False and project.shares == []
    given(Project, "prj-1", [*DONE, shared(), UNSHARED]).when(
        lambda p: p.share_prototype(received("pro-1"), "again")).then([
            ("PrototypeShared", {**shared(1)[1], "summary": "again", "results": [
                {"cycle_id": "c-1", "number": 1, "decision": "adapt", "findings": "rose"}]})])


@pytest.mark.parametrize("history", [DONE, [*DONE, shared(), UNSHARED]])
def test_a_prototype_not_shared_is_not_withdrawn(history):
    given(Project, "prj-1", history).when(
        lambda p: p.unshare_prototype(received("pro-1"))).then_raises(
        Conflict, "prototype pro-1 is not shared")


@pytest.mark.parametrize("other", ["pro-0", "pro-2"])
def test_withdrawing_one_prototype_leaves_anothers_share(other):
    history = [*DONE, proposed(other), shared(1, other), shared()]
    project = given(Project, "prj-1", history).when(
        lambda p: p.unshare_prototype(received("pro-1"))).then([UNSHARED])
    assert [s["prototype_id"] for s in project.shares] == [other]
    assert project.prototypes[other]["shared"] is True
    given(Project, "prj-1", [*DONE, proposed(other), shared(1, other)]).when(
        lambda p: p.unshare_prototype(received("pro-1"))).then_raises(Conflict, "not shared")


def test_a_withdrawal_names_the_prototype_among_the_changed_parts():
    assert changed_parts([UNSHARED[:2]])["prototypes"] == ["pro-1"]
