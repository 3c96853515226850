"""The rules of eventstore.repository, each pinned on a store double that gives values back as
PostgreSQL does (decoded text, not the caller's own objects): a stream is its first event's
type and a stream or snapshot of any other type is not found, a snapshot is taken only when a
save crosses a multiple of snapshot_every (on long streams too), events are stamped with the
hub they were recorded in, and save takes its options by keyword."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import NotFound
from eventstore.events import NewEvent, RecordedEvent
from eventstore.repository import Repository
from eventstore.store import Snapshot
from tests.unit.test_aggregate import Roster
from tests.unit.test_repository_unit import Store


def decoded(value):
    return json.loads(json.dumps(value))


class ReadBack(Store):
    """The store double, reading back as a database does: new string objects every time."""

    def read_stream(self, stream_id, after_version=0, cur=None, up_to=None):
        return [dataclasses.replace(e, stream_type=decoded(e.stream_type), type=decoded(e.type))
                for e in super().read_stream(stream_id, after_version, cur, up_to)]

    def read_streams(self, ids, cur=None):
        return {i: [dataclasses.replace(e, stream_type=decoded(e.stream_type)) for e in events]
                for i, events in super().read_streams(ids, cur).items()}

    def load_snapshot(self, stream_id, cur=None):
        snap = super().load_snapshot(stream_id, cur)
        return snap and Snapshot(decoded(snap.stream_id), decoded(snap.stream_type),
                                 snap.version, decoded(snap.state))


def event(stream_id, stream_type, version, type_, data=None):
    return RecordedEvent(version, 1, f"00000000-0000-0000-0000-{version:012d}", stream_id,
                         stream_type, version, type_, 1, "hub-a", data or {}, {},
                         datetime.now(UTC))


def saved(store, people, aggregate=Roster):
    roster = aggregate("r-1")
    roster.open("hub-a")
    for n in range(people):
        roster.add(f"p-{n}", "design_team")
    Repository(store, aggregate).save(roster)
    return roster


# --- a stream of another type is not found -------------------------------------------------

def test_a_stream_read_back_from_the_store_loads_as_its_aggregate():
    store = ReadBack()
    saved(store, 2)
    loaded = Repository(store, Roster).load("r-1")
    assert (loaded.version, loaded.people, loaded.hub_id) == (
        3, {"p-0": "design_team", "p-1": "design_team"}, "hub-a")


def test_load_many_of_streams_read_back_from_the_store_finds_them():
    store = ReadBack()
    saved(store, 2)
    found = Repository(store, Roster).load_many(["r-1"])
    assert list(found) == ["r-1"] and found["r-1"].version == 3


def test_a_snapshot_read_back_from_the_store_is_used():
    store = ReadBack()
    saved(store, 11)                          # version 12, snapshot at 12
    assert store.snapshots["r-1"].version == 12
    del store.streams["r-1"][:12]             # only the snapshot can tell the state now
    loaded = Repository(store, Roster).load("r-1")
    assert loaded.version == 12 and len(loaded.people) == 11


@pytest.mark.parametrize("other", ["member", "team"])   # sorting before and after "roster"
def test_a_stream_of_another_type_is_not_found(other):
    store = ReadBack()
    store.streams["x-1"] = [event("x-1", other, 1, "Formed"), event("x-1", other, 2, "Named")]
    with pytest.raises(NotFound, match="^no roster x-1$") as refused:
        Repository(store, Roster).load("x-1")
    # The very answer the access check gives another hub's object: nothing more to read.
    assert type(refused.value) is NotFound and refused.value.extra == {}
    assert Repository(store, Roster).load_many(["x-1"]) == {}


@pytest.mark.parametrize("other", ["member", "team"])
def test_a_snapshot_of_another_type_is_not_found(other):
    store = ReadBack()
    store.streams["x-1"] = [event("x-1", other, v, "Formed") for v in range(1, 13)]
    store.snapshots["x-1"] = Snapshot("x-1", other, 10, {"people": {"a": "sponsor"}})
    with pytest.raises(NotFound):
        Repository(store, Roster).load("x-1")


def test_a_stream_that_begins_with_another_type_is_not_found_whatever_follows():
    store = ReadBack()
    store.streams["x-1"] = [event("x-1", "member", 1, "MemberEnrolled"),
                            event("x-1", "roster", 2, "PersonAdded",
                                  {"person": "p", "role": "driver"})]
    with pytest.raises(NotFound):
        Repository(store, Roster).load("x-1")
    assert Repository(store, Roster).load_many(["x-1"]) == {}


def test_a_stream_is_its_aggregate_up_to_an_event_of_another_type():
    store = ReadBack()
    store.streams["r-1"] = [event("r-1", "roster", 1, "RosterOpened", {"hub_id": "hub-a"}),
                            event("r-1", "member", 2, "MemberEnrolled"),
                            event("r-1", "roster", 3, "PersonAdded",
                                  {"person": "p", "role": "driver"})]
    loaded = Repository(store, Roster).load("r-1")
    many = Repository(store, Roster).load_many(["r-1"])["r-1"]
    assert (loaded.version, loaded.people) == (1, {}) == (many.version, many.people)


# --- snapshot timing -----------------------------------------------------------------------

def long_roster(store, version):
    """A roster loaded at ``version`` of a long stream (the double checks only its length)."""
    store.streams["r-1"] = [event("r-1", "roster", 1, "RosterOpened")] * version
    roster = Roster("r-1")
    roster.version = version
    return roster


def test_a_save_within_an_interval_of_a_long_stream_takes_no_snapshot():
    store = ReadBack()
    roster = long_roster(store, 3001)
    for n in range(4):
        roster.add(f"p-{n}", "driver")          # 3002..3005: still in 3000..3009
    Repository(store, Roster).save(roster)
    assert roster.version == 3005 and store.snapshots == {}


def test_a_save_that_crosses_an_interval_of_a_long_stream_snapshots_at_its_version():
    store = ReadBack()
    roster = long_roster(store, 3008)
    for n in range(3):
        roster.add(f"p-{n}", "driver")          # 3009..3011: crosses 3010
    Repository(store, Roster).save(roster)
    snap = store.snapshots["r-1"]
    assert (snap.stream_id, snap.stream_type, snap.version) == ("r-1", "roster", 3011)
    assert snap.state["people"] == {"p-0": "driver", "p-1": "driver", "p-2": "driver"}


def test_a_save_that_reaches_a_multiple_exactly_snapshots_and_the_next_does_not():
    store = ReadBack()
    roster = saved(store, 8)                    # version 9
    repo = Repository(store, Roster)
    roster.add("q", "driver")
    repo.save(roster)                           # 10
    roster.add("r", "driver")
    repo.save(roster)                           # 11
    assert store.snapshots["r-1"].version == 10


# --- stamping and saving -------------------------------------------------------------------

class Placement(Aggregate):
    """Learns its hub from its first event, and can move to another hub."""

    stream_type = "placement"

    def place(self, hub_id):
        self.record("Placed", hub_id=hub_id)

    def move(self, hub_id):
        self.record("Moved", hub_id=hub_id)

    @applies("Placed")
    def _placed(self, data):
        self.hub_id = data["hub_id"]

    @applies("Moved")
    def _moved(self, data):
        self.hub_id = data["hub_id"]


def test_an_event_belongs_to_the_hub_its_applier_puts_the_aggregate_in():
    placement = Placement("pl-1")
    placement.place("hub-a")                    # the first event names the hub: it is hub-a's
    assert placement.pending[0].hub_id == "hub-a"
    placement.move("hub-b")
    assert [e.hub_id for e in Repository.stamp(placement)] == ["hub-a", "hub-b"]


def test_an_event_of_no_hub_yet_is_stamped_with_the_aggregates_hub():
    placement = Placement("pl-1")
    placement.place("hub-a")
    placement.pending.append(NewEvent("Moved", {"hub_id": "hub-a"}))   # made by hand, hubless
    assert [e.hub_id for e in Repository.stamp(placement)] == ["hub-a", "hub-a"]


def test_the_events_own_metadata_wins_over_the_saves():
    placement = Placement("pl-1")
    placement.place("hub-a")
    placement.pending[0] = dataclasses.replace(placement.pending[0],
                                               metadata={"actor": "importer"})
    (stamped,) = Repository.stamp(placement, {"actor": "f-1", "request": "q-1"})
    assert stamped.metadata == {"actor": "importer", "request": "q-1"}


def test_save_takes_its_metadata_by_keyword_only():
    store = ReadBack()
    roster = Roster("r-1")
    roster.open("hub-a")
    with pytest.raises(TypeError):
        Repository(store, Roster).save(roster, {"actor": "f-1"})
    Repository(store, Roster).save(instance=roster, metadata={"actor": "f-1"})
    assert store.streams["r-1"][0].metadata == {"actor": "f-1"}
