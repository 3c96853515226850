"""The aggregate base and the given/when/then helper, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import Conflict
from eventstore.events import RecordedEvent
from eventstore.testing import given


class Roster(Aggregate):
    """A toy aggregate: a roster with at most one sponsor."""

    stream_type = "roster"
    snapshot_every = 10

    def __init__(self, id):
        super().__init__(id)
        self.people: dict[str, str] = {}
        self.closed = False

    def open(self, hub_id):
        if self.exists:
            raise Conflict("roster exists already")
        self.hub_id = hub_id
        self.record("RosterOpened", hub_id=hub_id)

    def add(self, person, role):
        if self.closed:
            raise Conflict("roster is closed")
        if role == "sponsor" and "sponsor" in self.people.values():
            raise Conflict("a roster has one sponsor")
        self.record("PersonAdded", person=person, role=role)

    def close(self):
        self.record("RosterClosed")

    @applies("RosterOpened")
    def _opened(self, data):
        self.hub_id = data["hub_id"]

    @applies("PersonAdded")
    def _added(self, data):
        self.people[data["person"]] = data["role"]

    @applies("RosterClosed")
    def _closed(self, data):
        self.closed = True


OPENED = ("RosterOpened", {"hub_id": "hub-a"})


def test_a_command_records_its_event_and_changes_state_at_once():
    roster = given(Roster, "r-1", [OPENED]).when(lambda r: r.add("p-1", "sponsor")).then(
        [("PersonAdded", {"person": "p-1", "role": "sponsor"})])
    assert roster.people == {"p-1": "sponsor"}


def test_new_events_carry_the_hub_of_the_stream():
    roster = given(Roster, "r-1").when(lambda r: r.open("hub-a")).then([OPENED])
    assert [e.hub_id for e in roster.pending] == ["hub-a"]


def test_an_invariant_refuses_and_records_nothing():
    given(Roster, "r-1", [OPENED, ("PersonAdded", {"person": "p-1", "role": "sponsor"})]) \
        .when(lambda r: r.add("p-2", "sponsor")).then_raises(Conflict, "one sponsor")


def test_history_decides():
    given(Roster, "r-1", [OPENED, ("RosterClosed", {})]) \
        .when(lambda r: r.add("p-2", "driver")).then_raises(Conflict, "closed")
    given(Roster, "r-1", [OPENED]).when(lambda r: r.open("hub-a")).then_raises(Conflict, "exists")


def test_then_fails_when_the_events_differ():
    scenario = given(Roster, "r-1", [OPENED]).when(lambda r: r.add("p-1", "driver"))
    with pytest.raises(AssertionError):
        scenario.then([("PersonAdded", {"person": "p-1", "role": "sponsor"})])


def test_then_raises_fails_when_the_command_succeeds():
    with pytest.raises(AssertionError):
        given(Roster, "r-1", [OPENED]).when(lambda r: r.add("p-1", "driver")) \
            .then_raises(Conflict)


def test_recording_an_event_without_an_applier_is_a_programming_error():
    roster = Roster("r-1")
    with pytest.raises(TypeError, match="no @applies"):
        roster.record("Unheard", x=1)


def test_replay_sets_version_and_skips_unknown_event_types():
    roster = Roster("r-1")
    for version, (type_, data) in enumerate([OPENED, ("SomethingElse", {}),
                                             ("PersonAdded", {"person": "p", "role": "driver"})],
                                            start=1):
        roster.replay(RecordedEvent(version, 1, "e", "r-1", "roster", version, type_, 1,
                                    "hub-a", data, {}, datetime.now(UTC)))
    assert roster.version == 3 and roster.people == {"p": "driver"} and roster.hub_id == "hub-a"


def test_snapshot_state_round_trips():
    roster = given(Roster, "r-1", [OPENED, ("PersonAdded", {"person": "p", "role": "driver"})]) \
        .instance
    copy = Roster("r-1")
    copy.restore_state(roster.snapshot_state())
    assert (copy.people, copy.closed, copy.hub_id) == (roster.people, False, "hub-a")
