"""A client's own id for a new part of a project names no part it has: recorded again, the event
would silently replace the part it names (a data set's summary, an idea's source). Each kind of
part, with a new id (recorded) and the id of one the project has (refused, naming the part)."""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict
from eventstore.testing import given, received
from services.cycles.domain import Project
from tests.unit.test_cycles_boundaries import IDEATING, READY_TO_TEST
from tests.unit.test_cycles_domain import (
    COMPLETED,
    DISCOVERING,
    IMPACT,
    PLAN,
    STARTED,
    TESTING,
    TODAY,
)

CASES = [  # (history, command given the id, the id the project has, what it is called)
    (DISCOVERING, lambda p, i: p.set_goal(i, received(IMPACT), TODAY), "g-1", "goal"),
    (DISCOVERING, lambda p, i: p.collect_data(*received(i, "survey", "again"), None, None),
     "d-0", "data set"),
    (IDEATING, lambda p, i: p.add_insight(*received(i, "again", [])), "i-1", "insight"),
    (IDEATING, lambda p, i: p.add_idea(*received(i, "again", "peer"), None), None, "change idea"),
    (READY_TO_TEST, lambda p, i: p.propose_prototype(*received(i, "again", "d", ["x-1"])),
     "pro-1", "prototype"),
    (READY_TO_TEST, lambda p, i: p.define_indicator(i, "pro-1", received({
        "name": "n", "kind": "process", "unit": "%", "direction": "up"})), "ind-1",
     "indicator"),
    ([*TESTING, STARTED, COMPLETED],
     lambda p, i: p.start_cycle(i, "pro-1", received(PLAN), "again"), "c-1", "test cycle"),
]


@pytest.mark.parametrize("history, command, taken, what", CASES)
def test_a_part_is_recorded_under_a_new_id_and_never_over_one_the_project_has(
        history, command, taken, what):
    history = list(history)
    if taken is None:   # the ideating history holds no idea yet: give it one
        history.append(("ChangeIdeaRecorded", {"idea_id": "x-0", "description": "talks",
                                               "source": "peer", "source_ref": None}))
        taken = "x-0"
    if taken == "d-0":
        history.append(("DataCollected", {"data_id": "d-0", "method": "survey",
                                          "summary": "first", "source": None, "n": 20}))
    recorded = given(Project, "prj-1", history).when(lambda p: command(p, "brand-new"))
    assert recorded.instance.pending
    error = given(Project, "prj-1", history).when(
        lambda p: command(p, taken)).then_raises(Conflict)
    assert str(error) == (f"{what} {taken} exists already in this project; choose another id")

