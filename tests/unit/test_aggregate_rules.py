"""The rules of eventstore.aggregate, each pinned: a stream type and a noun by default, a new
aggregate at version 0 that does not exist yet, no snapshots unless asked for, a snapshot of
the public state only, appliers inherited and overridden."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import NotFound
from eventstore.events import RecordedEvent
from eventstore.repository import Repository
from eventstore.store import Snapshot
from tests.unit.test_aggregate import Roster
from tests.unit.test_repository_unit import Store


class ProblemOfPractice(Aggregate):
    """Declares nothing: named after its class."""


class Cohort(Aggregate):
    stream_type = "cycle_cohort"


class Goal(Aggregate):
    stream_type = "smart_goal"
    noun = "goal"


class Tally(Aggregate):
    """Keeps no snapshots (declares no snapshot_every) and has private bookkeeping."""

    def __init__(self, id):
        super().__init__(id)
        self.count = 0
        self._cache = {"x": 1}

    def bump(self):
        self.record("Bumped")

    @applies("Bumped")
    def _bumped(self, data):
        self.count += 1


class LoudTally(Tally):
    @applies("Bumped")
    def _bumped_twice(self, data):
        self.count += 2


def stored(stream_id, stream_type, version, type_, data, hub_id=None):
    return RecordedEvent(version, 1, f"00000000-0000-0000-0000-{version:012d}", stream_id,
                         stream_type, version, type_, 1, hub_id, json.loads(json.dumps(data)),
                         {}, datetime.now(UTC))


def test_an_aggregate_that_declares_no_stream_type_is_named_after_its_class():
    assert ProblemOfPractice.stream_type == "problemofpractice"


def test_a_declared_stream_type_is_kept_even_when_it_is_not_the_class_name():
    assert Cohort.stream_type == "cycle_cohort"


def test_the_noun_is_the_stream_type_unless_the_domain_names_it():
    assert Cohort.noun == "cycle_cohort"
    assert ProblemOfPractice.noun == "problemofpractice"
    assert (Goal.stream_type, Goal.noun) == ("smart_goal", "goal")


def test_a_missing_stream_is_named_in_the_domains_noun():
    with pytest.raises(NotFound, match="^no goal g-9$"):
        Repository(Store(), Goal).load("g-9")


def test_a_new_aggregate_is_at_version_zero_and_does_not_exist_yet():
    tally = Tally("t-1")
    assert (tally.version, tally.pending, tally.hub_id, tally.exists) == (0, [], None, False)


def test_a_recorded_event_makes_a_new_aggregate_exist_before_it_is_saved():
    tally = Tally("t-1")
    tally.bump()
    assert tally.exists and tally.version == 0 and tally.count == 1


def test_a_replayed_stream_exists():
    tally = Tally("t-1")
    tally.replay(stored("t-1", "tally", 1, "Bumped", {}))
    assert tally.exists and tally.pending == [] and tally.version == 1


def test_an_aggregate_that_does_not_ask_for_snapshots_keeps_none():
    assert Tally.snapshot_every == 0
    store = Store()
    tally = Tally("t-1")
    for _ in range(25):
        tally.bump()
    repo = Repository(store, Tally)
    repo.save(tally)
    assert store.snapshots == {}
    store.snapshots["t-1"] = Snapshot("t-1", "tally", 20, {"count": 1000})
    loaded = repo.load("t-1")           # a snapshot it never asked for is not read
    assert (loaded.version, loaded.count) == (25, 25)


def test_a_snapshot_is_the_public_state_without_identity_version_or_pending_events():
    tally = Tally("t-1")
    tally.hub_id = "hub-a"
    tally.bump()
    assert tally.snapshot_state() == {"count": 1, "hub_id": "hub-a"}


def test_a_snapshot_restores_the_state_and_leaves_identity_alone():
    roster = given_roster()
    copy = Roster("r-1")
    copy.restore_state(json.loads(json.dumps(roster.snapshot_state())))
    assert copy.snapshot_state() == roster.snapshot_state()
    assert (copy.id, copy.version, copy.pending) == ("r-1", 0, [])


def given_roster():
    roster = Roster("r-1")
    roster.replay(stored("r-1", "roster", 1, "RosterOpened", {"hub_id": "hub-a"}, "hub-a"))
    roster.replay(stored("r-1", "roster", 2, "PersonAdded", {"person": "p", "role": "driver"}))
    return roster


def test_an_event_without_a_hub_keeps_the_hub_the_stream_has():
    roster = given_roster()
    assert (roster.hub_id, roster.version) == ("hub-a", 2)


def test_a_subclass_inherits_appliers_and_its_own_applier_wins():
    loud = LoudTally("t-1")
    loud.bump()
    assert loud.count == 2
    plain = Tally("t-2")
    plain.bump()
    assert plain.count == 1


def test_record_keeps_the_events_in_order_with_their_data_and_hub():
    roster = given_roster()
    roster.add("p-2", "sponsor")
    roster.close()
    assert [(e.type, e.data, e.hub_id) for e in roster.pending] == [
        ("PersonAdded", {"person": "p-2", "role": "sponsor"}, "hub-a"),
        ("RosterClosed", {}, "hub-a")]
    assert roster.closed and roster.people == {"p": "driver", "p-2": "sponsor"}
