"""The event store's guarantees, against a real PostgreSQL (DESIGN.md §3)."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest

from eventstore.errors import (
    InvalidEvent,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from eventstore.events import NewEvent, Upcasters
from eventstore.store import START, EventStore, Snapshot
from tests.support import wait_until


def ev(type_="Happened", **data):
    return NewEvent(type=type_, data=data or {"n": 1}, hub_id="hub-a")


def count_events(store):
    with store.db.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        return cur.fetchone()[0]


def test_append_and_read_stream_in_version_order(store):
    result = store.append("s-1", "thing", 0, [ev(n=1), ev(n=2)])
    assert result.version == 2 and len(result.positions) == 2
    store.append("s-1", "thing", 2, [ev(n=3)])
    events = store.read_stream("s-1")
    assert [(e.version, e.data["n"]) for e in events] == [(1, 1), (2, 2), (3, 3)]
    assert all(e.hub_id == "hub-a" and e.stream_type == "thing" for e in events)


def test_conflicting_appends_exactly_one_wins_nothing_partial(store):
    store.append("s-2", "thing", 0, [ev()])
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(tag):
        barrier.wait()
        try:
            store.append("s-2", "thing", 1, [ev(tag=tag, part=1), ev(tag=tag, part=2)])
            outcomes.append(("won", tag))
        except WrongExpectedVersion as exc:
            outcomes.append(("conflict", exc.actual))

    threads = [threading.Thread(target=attempt, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0] for o in outcomes) == ["conflict", "won"]
    winner = next(o[1] for o in outcomes if o[0] == "won")
    events = store.read_stream("s-2")
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.data.get("tag") for e in events[1:]] == [winner, winner]


def test_stale_and_ahead_expected_versions_are_refused(store):
    store.append("s-3", "thing", 0, [ev(), ev()])
    with pytest.raises(WrongExpectedVersion) as stale:
        store.append("s-3", "thing", 1, [ev()])
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    with pytest.raises(WrongExpectedVersion):
        store.append("s-3", "thing", 5, [ev()])
    with pytest.raises(WrongExpectedVersion):
        store.append("s-3", "thing", 0, [ev()])
    assert store.stream_version("s-3") == 2


def test_a_stream_id_no_stream_can_have_reads_as_empty(store):
    for impossible in ("a\x00b", "", "x" * 201):
        assert store.read_stream(impossible) == []
        assert store.stream_version(impossible) == 0
        assert store.load_snapshot(impossible) is None


def test_unknown_stream_is_a_typed_error(store):
    with pytest.raises(StreamNotFound):
        store.append("nowhere", "thing", 3, [ev()])
    assert store.read_stream("nowhere") == []
    assert count_events(store) == 0


@pytest.mark.parametrize("bad, field", [
    (NewEvent(type="", data={}), "events[0].type"),
    (NewEvent(type="X", data=[1, 2]), "events[0].data"),           # type: ignore[arg-type]
    (NewEvent(type="X", data={"when": object()}), "events[0].data"),
    (NewEvent(type="X", data={"x": float("nan")}), "events[0].data"),
    (NewEvent(type="X", data={}, schema_version=0), "events[0].schema_version"),
    (NewEvent(type="X", data={}, event_id="not-a-uuid"), "events[0].event_id"),
    (NewEvent(type="X", data={"name": "a\x00b"}), "events[0].data"),
])
def test_malformed_events_are_refused_and_nothing_is_written(store, bad, field):
    with pytest.raises(InvalidEvent) as err:
        store.append("s-4", "thing", 0, [ev(), bad])
    assert field.replace("[0]", "[1]") in err.value.errors
    assert count_events(store) == 0


@pytest.mark.parametrize("args, field", [
    (("", "thing", 0, [ev()]), "stream_id"),
    (("s", "", 0, [ev()]), "stream_type"),
    (("s", "thing", -1, [ev()]), "expected_version"),
    (("s", "thing", "1", [ev()]), "expected_version"),
    (("s", "thing", 0, []), "events"),
    (("s\x00", "thing", 0, [ev()]), "stream_id"),
])
def test_bad_append_arguments_name_the_field(store, args, field):
    with pytest.raises(ValidationError) as err:
        store.append(*args)
    assert field in err.value.errors
    assert count_events(store) == 0


def test_text_with_percent_signs_and_quotes_round_trips(store):
    data = {"text": "100% of 'teachers' said \"yes\" %s %(x)s", "nested": {"a": [1, None]}}
    store.append("s-5", "thing", 0, [NewEvent("Said", data)])
    assert store.read_stream("s-5")[0].data == data


def test_append_joins_the_callers_transaction(store):
    with pytest.raises(RuntimeError), store.db.transaction() as cur:
        store.append("s-9", "thing", 0, [ev()], cur=cur)
        raise RuntimeError("the caller's other write failed")
    assert count_events(store) == 0
    with store.db.transaction() as cur:
        store.append("s-9", "thing", 0, [ev()], cur=cur)
    assert store.stream_version("s-9") == 1


def test_upcasters_bring_old_events_to_the_current_shape(db):
    writer = EventStore(db, "test")
    writer.append("m-1", "member", 0, [NewEvent("MemberEnrolled", {"name": "Camino Union"})])
    upcasters = Upcasters()

    @upcasters.register("MemberEnrolled", from_version=1)
    def split_name(data):
        return {"display_name": data["name"], "legal_name": data["name"]}

    @upcasters.register("MemberEnrolled", from_version=2)
    def add_kind(data):
        return {**data, "kind": "district"}

    reader = EventStore(db, "test", upcasters=upcasters)
    (event,) = reader.read_stream("m-1")
    assert event.schema_version == 3
    assert event.data == {"display_name": "Camino Union", "legal_name": "Camino Union",
                          "kind": "district"}
    # The log shows the event once no older transaction anywhere in the cluster is open (the
    # tailing horizon, decision 006): another process's may be, for a moment.
    wait_until(lambda: reader.read_all(), what="the event below the horizon")
    assert reader.read_all()[0].data == event.data


def test_snapshots_keep_only_the_newest(store):
    store.save_snapshot(Snapshot("s-10", "thing", 50, {"total": 50}))
    store.save_snapshot(Snapshot("s-10", "thing", 40, {"total": 40}))
    assert store.load_snapshot("s-10") == Snapshot("s-10", "thing", 50, {"total": 50})
    assert store.load_snapshot("s-11") is None


def test_read_all_holds_back_events_behind_an_open_transaction(store, database_url):
    store.append("early", "thing", 0, [ev()])
    # (Another process's transaction may hold the horizon back for a moment: wait for it.)
    wait_until(lambda: store.read_all(), what="the early event below the horizon")
    late = psycopg2.connect(database_url)
    try:
        with late.cursor() as cur:   # begins a transaction that takes a lower tx id ...
            cur.execute("SELECT pg_current_xact_id()")
            store.append("later", "thing", 0, [ev()])   # ... than this committed append
            seen = [e.stream_id for e in store.read_all()]
            assert seen == ["early"], "an event behind an open transaction must not be read yet"
            store.append("late", "thing", 0, [ev()], cur=cur)
        late.commit()
    finally:
        late.close()
    wait_until(lambda: len(store.read_all()) == 3, what="every event below the horizon")
    assert [e.stream_id for e in store.read_all()] == ["early", "late", "later"]


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_tailer_sees_every_event_exactly_once_with_8_concurrent_writers(store, round_):
    """8 writers, some of whose transactions commit late, and a tailer reading all along."""
    duration = 2.0
    stop = threading.Event()
    committed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer(w):
        n = 0
        try:
            while not stop.is_set():
                n += 1
                stream = f"w{w}-{n}"
                if n % 7 == 0:
                    # Take a transaction id now, commit later: the classic out-of-order commit.
                    with store.db.transaction() as cur:
                        store.append(stream, "thing", 0, [ev(w=w, n=n)], cur=cur)
                        time.sleep(0.02)
                else:
                    store.append(stream, "thing", 0, [ev(w=w, n=n)])
                with lock:
                    committed.append(stream)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    seen: list[str] = []
    seen_cursors: list[tuple[int, int]] = []

    def tail_once(after):
        batch = store.read_all(after, limit=200)
        seen.extend(e.stream_id for e in batch)
        seen_cursors.extend(e.cursor for e in batch)
        return batch[-1].cursor if batch else after

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    cursor = START
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        cursor = tail_once(cursor)
    stop.set()
    for t in threads:
        t.join()
    while True:
        before = len(seen)
        cursor = tail_once(cursor)
        if len(seen) == before:
            break
    assert not errors
    assert len(committed) > 500
    assert len(seen) == len(set(seen)), "an event was seen twice"
    assert set(seen) == set(committed), f"missed {len(set(committed) - set(seen))} events"
    assert seen_cursors == sorted(seen_cursors), "the tailer's order is not commit order"
    # Another reader from the start sees exactly the same order.
    assert [e.stream_id for e in store.iter_all(page=333)] == seen
