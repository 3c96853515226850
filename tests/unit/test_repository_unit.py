"""The repository's own logic, on a store double: snapshots are used and taken at the right
versions, a stream of another type is not the aggregate, events are stamped once. (The store
itself is tested against PostgreSQL in tests/integration.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eventstore.errors import NotFound
from eventstore.events import RecordedEvent
from eventstore.repository import Repository
from eventstore.store import AppendResult, Snapshot
from tests.unit.test_aggregate import Roster


class Store:
    """Just what the repository asks of a store, kept in lists."""

    def __init__(self):
        self.streams: dict[str, list[RecordedEvent]] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.appends: list[tuple] = []

    def read_stream(self, stream_id, after_version=0, cur=None, up_to=None):
        return [e for e in self.streams.get(stream_id, []) if e.version > after_version
                and (up_to is None or e.version <= up_to)]

    def read_streams(self, ids, cur=None):
        return {i: self.streams[i] for i in ids if i in self.streams}

    def load_snapshot(self, stream_id, cur=None):
        return self.snapshots.get(stream_id)

    def save_snapshot(self, snapshot, cur=None):
        self.snapshots[snapshot.stream_id] = snapshot

    def append(self, stream_id, stream_type, expected, events, cur=None):
        self.appends.append((stream_id, expected, [e.type for e in events]))
        stream = self.streams.setdefault(stream_id, [])
        assert len(stream) == expected
        for n, event in enumerate(events, start=expected + 1):
            stream.append(RecordedEvent(n, 1, event.event_id, stream_id, stream_type, n,
                                        event.type, 1, event.hub_id, event.data,
                                        event.metadata, datetime.now(UTC)))
        return AppendResult(stream_id, len(stream), list(range(expected + 1, len(stream) + 1)),
                            stream[-1].recorded_at)


def saved_roster(store, people):
    roster = Roster("r-1")
    roster.open("hub-a")
    repo = Repository(store, Roster)
    repo.save(roster, metadata={"actor": "f-1"})
    for n in range(people):
        roster.add(f"p-{n}", "design_team")
        repo.save(roster)
    return roster


def test_a_snapshot_is_taken_each_time_the_version_passes_a_multiple_of_its_interval():
    store = Store()
    saved_roster(store, 8)          # versions 1..9: none yet (every 10)
    assert store.snapshots == {}
    roster = saved_roster_more(store, 1)   # version 10
    assert store.snapshots["r-1"].version == 10 == roster.version
    saved_roster_more(store, 9)     # up to 19: not again
    assert store.snapshots["r-1"].version == 10
    saved_roster_more(store, 1)     # 20
    assert store.snapshots["r-1"].version == 20


def saved_roster_more(store, people):
    repo = Repository(store, Roster)
    roster = repo.load("r-1")
    for n in range(people):
        roster.add(f"q-{roster.version}-{n}", "design_team")
        repo.save(roster)
    return roster


def test_a_save_that_jumps_past_an_interval_in_one_append_snapshots_too():
    store = Store()
    roster = saved_roster(store, 8)           # version 9
    for n in range(3):
        roster.add(f"z-{n}", "design_team")   # 10, 11, 12 in one save
    Repository(store, Roster).save(roster)
    assert store.snapshots["r-1"].version == 12


def test_load_starts_from_the_snapshot_and_reads_only_newer_events():
    store = Store()
    saved_roster(store, 11)                   # version 12, snapshot at 10
    del store.streams["r-1"][:10]             # what the snapshot covers is not read again
    loaded = Repository(store, Roster).load("r-1")
    assert loaded.version == 12 and len(loaded.people) == 11


def test_an_aggregate_without_snapshots_never_reads_or_writes_one():
    class Plain(Roster):
        stream_type = "roster"
        snapshot_every = 0
    store = Store()
    roster = Plain("r-1")
    roster.open("hub-a")
    for n in range(25):
        roster.add(f"p-{n}", "design_team")
    Repository(store, Plain).save(roster)
    store.snapshots["r-1"] = Snapshot("r-1", "roster", 20, {"people": {}, "closed": True})
    loaded = Repository(store, Plain).load("r-1")
    assert len(loaded.people) == 25 and not loaded.closed


def test_missing_and_other_types_are_not_found_in_the_domains_words():
    store = Store()
    with pytest.raises(NotFound, match="no roster r-9"):
        Repository(store, Roster).load("r-9")
    store.streams["m-1"] = [RecordedEvent(1, 1, "e", "m-1", "member", 1, "MemberEnrolled", 1,
                                          "hub-a", {}, {}, datetime.now(UTC))]
    with pytest.raises(NotFound):
        Repository(store, Roster).load("m-1")
    store.snapshots["m-1"] = Snapshot("m-1", "member", 5, {"people": {"x": "y"}})
    with pytest.raises(NotFound):
        Repository(store, Roster).load("m-1")
    assert Repository(store, Roster).load_many(["m-1", "r-9"]) == {}


def test_load_many_gives_the_aggregates_that_exist():
    store = Store()
    saved_roster(store, 2)
    found = Repository(store, Roster).load_many(["r-1", "r-2"])
    assert list(found) == ["r-1"] and found["r-1"].version == 3


def test_events_are_stamped_once_with_hub_metadata_and_their_own_ids():
    store = Store()
    roster = Roster("r-1")
    roster.open("hub-a")
    roster.add("p-1", "driver")
    repo = Repository(store, Roster)
    first = repo.stamp(roster, {"actor": "f-1"})
    again = repo.stamp(roster, {"actor": "someone else"})
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
    assert all(e.hub_id == "hub-a" for e in again)
    assert [e.metadata for e in again] == [{"actor": "f-1"}, {"actor": "f-1"}]
    result = repo.save(roster)
    assert (result.version, roster.version, roster.pending) == (2, 2, [])
    assert store.appends == [("r-1", 0, ["RosterOpened", "PersonAdded"])]


class CountingStore(Store):
    """The double, saying from which version each read of a stream started."""

    def __init__(self):
        super().__init__()
        self.reads_after: list[int] = []

    def read_stream(self, stream_id, after_version=0, cur=None, up_to=None):
        self.reads_after.append(after_version)
        return super().read_stream(stream_id, after_version, cur, up_to)

    def save_snapshot(self, snapshot, cur=None):
        # As the database keeps it: the state as it was then, not the live object's.
        super().save_snapshot(Snapshot(snapshot.stream_id, snapshot.stream_type,
                                       snapshot.version, json.loads(json.dumps(snapshot.state))))


def test_an_aggregate_as_it_was_uses_a_snapshot_up_to_that_version_and_none_newer():
    store = CountingStore()
    saved_roster(store, 11)                        # versions 1..12, snapshot at 10
    assert store.snapshots["r-1"].version == 10
    at_ten = Repository(store, Roster).load("r-1", up_to=10)
    assert (at_ten.version, store.reads_after[-1]) == (10, 10)   # from the snapshot
    assert len(at_ten.people) == 9
    at_nine = Repository(store, Roster).load("r-1", up_to=9)
    assert (at_nine.version, store.reads_after[-1]) == (9, 0)    # replayed: it is newer
    assert len(at_nine.people) == 8 and "p-8" not in at_nine.people
    at_twelve = Repository(store, Roster).load("r-1", up_to=12)
    assert (at_twelve.version, store.reads_after[-1]) == (12, 10)
