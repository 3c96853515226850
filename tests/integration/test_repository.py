"""Repository: aggregates loaded and saved through a real store, with snapshots."""

from __future__ import annotations

import pytest

from eventstore.errors import NotFound, WrongExpectedVersion
from eventstore.events import NewEvent
from eventstore.repository import Repository
from tests.unit.test_aggregate import Roster


def test_save_then_load_gives_the_same_state(store):
    repo = Repository(store, Roster)
    roster = Roster("r-1")
    roster.open("hub-a")
    roster.add("p-1", "sponsor")
    result = repo.save(roster, metadata={"actor": "u-1"})
    assert result.version == 2 and roster.pending == [] and roster.version == 2
    loaded = repo.load("r-1")
    assert (loaded.people, loaded.hub_id, loaded.version) == ({"p-1": "sponsor"}, "hub-a", 2)
    assert [e.metadata for e in store.read_stream("r-1")] == [{"actor": "u-1"}] * 2
    assert [e.hub_id for e in store.read_stream("r-1")] == ["hub-a", "hub-a"]


def test_two_writers_of_one_aggregate_one_conflicts(store):
    repo = Repository(store, Roster)
    roster = Roster("r-2")
    roster.open("hub-a")
    repo.save(roster)
    first, second = repo.load("r-2"), repo.load("r-2")
    first.add("p-1", "driver")
    second.add("p-2", "driver")
    repo.save(first)
    with pytest.raises(WrongExpectedVersion):
        repo.save(second)


def test_unknown_aggregate_is_not_found(store):
    with pytest.raises(NotFound):
        Repository(store, Roster).load("nope")


def test_long_streams_load_from_a_snapshot(store):
    repo = Repository(store, Roster)
    roster = Roster("r-3")
    roster.open("hub-a")
    repo.save(roster)
    for n in range(24):
        roster.add(f"p-{n}", "design_team")
        repo.save(roster)
    snapshot = store.load_snapshot("r-3")
    assert snapshot is not None and snapshot.version == 20
    # The snapshot is used: events it covers are not read again.
    with store.db.connection() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM events WHERE stream_id = 'r-3' AND version <= 20")
    loaded = repo.load("r-3")
    assert loaded.version == 25 and len(loaded.people) == 24


def test_a_stream_of_another_type_is_not_found(store):
    store.append("m-1", "member", 0, [NewEvent("MemberEnrolled", {"hub_id": "hub-a"})])
    with pytest.raises(NotFound):
        Repository(store, Roster).load("m-1")
