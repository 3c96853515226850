"""A read model's exclusion constraint (PostgreSQL 23P01: an expert's hours booked twice) is a
409 naming the constraint, in the words the projection gives it; a write that waited for the
one it overlaps is refused once that one commits, decided once, never retried in a loop."""

from __future__ import annotations

import threading

import pytest

from eventstore import metrics
from eventstore.commands import UnitOfWork
from eventstore.db import connect
from eventstore.errors import Conflict
from eventstore.identity import SYSTEM
from eventstore.projections import Projection, handles
from eventstore.readmodel import ReadModel
from tests.support import wait_until
from tests.unit.test_aggregate import Roster

CONSTRAINT = "slots_expert_free"


@pytest.fixture
def slots(db):
    with db.transaction() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        cur.execute(f"""CREATE TABLE slots (roster_id text PRIMARY KEY, expert_id text,
                                           during tstzrange,
                                           CONSTRAINT {CONSTRAINT} EXCLUDE USING gist
                                           (expert_id WITH =, during WITH &&))""")


class Slots(Projection):
    name = "slots"
    tables = ("slots",)
    inline = True
    conflicts = {CONSTRAINT: "the expert is already booked then"}

    @handles("RosterOpened")
    def opened(self, cur, event):
        cur.execute("INSERT INTO slots VALUES (%s, 'x', '[2027-02-09 09:00Z, 2027-02-09 12:00Z)')",
                    (event.stream_id,))


class Unexplained(Slots):
    conflicts: dict[str, str] = {}


def book(work, roster_id, decided):
    def open_(_, session):
        decided.append(roster_id)
        roster = session.create(Roster, roster_id)
        roster.open("hub-a")
        return roster
    return work.command(SYSTEM, lambda session: None, open_, lambda r, s: {"id": r.id})


def retries(store):
    return metrics.COMMAND_RETRIES.labels(store.service)._value.get()


def test_an_overlapping_write_is_a_409_in_the_projections_words(db, store, slots):
    work = UnitOfWork(db, store, [Slots()])
    decided: list[str] = []
    book(work, "r-1", decided)
    before = retries(store)
    with pytest.raises(Conflict) as refused:
        book(work, "r-2", decided)
    assert refused.value.status == 409
    assert refused.value.extra == {"constraint": CONSTRAINT}
    assert refused.value.detail == "the expert is already booked then"
    assert decided == ["r-1", "r-2"] and retries(store) == before   # decided once, no retry
    assert store.stream_version("r-2") == 0                           # nothing written


def test_a_constraint_no_one_explained_still_names_itself_and_its_table(db, store, slots):
    work = UnitOfWork(db, store, [Unexplained()])
    book(work, "r-1", [])
    with pytest.raises(Conflict) as refused:
        book(work, "r-2", [])
    assert refused.value.extra == {"constraint": CONSTRAINT}
    assert "conflicts with an existing entry (slots)" in refused.value.detail


class Bookings(ReadModel):
    conflicts = {CONSTRAINT: "the expert has another booking then"}


def test_the_read_model_may_say_what_a_constraint_means_instead(db, store, slots):
    work = UnitOfWork(db, store, [Unexplained()],
                      lambda cur, caller: Bookings(cur, caller, store))
    book(work, "r-1", [])
    with pytest.raises(Conflict) as refused:
        book(work, "r-2", [])
    assert refused.value.detail == "the expert has another booking then"


def test_a_write_that_waited_for_an_overlapping_one_is_refused_when_it_commits(
        db, store, slots, database_url):
    work = UnitOfWork(db, store, [Slots()])
    first = connect(database_url, autocommit=False)
    outcome: list[BaseException | dict] = []
    decided: list[str] = []
    try:
        with first.cursor() as cur:
            # Another command's transaction, holding the hours and not yet committed.
            cur.execute("INSERT INTO slots VALUES ('r-0', 'x', "
                        "'[2027-02-09 11:00Z, 2027-02-09 13:00Z)')")

            def second():
                try:
                    outcome.append(book(work, "r-1", decided))
                except Exception as exc:  # noqa: BLE001 - the test reports it
                    outcome.append(exc)
            thread = threading.Thread(target=second)
            thread.start()
            wait_until(lambda: waiting_on_a_lock(cur), what="the second write to wait")
        first.commit()
        thread.join(10)
    finally:
        first.close()
    (refused,) = outcome
    assert isinstance(refused, Conflict) and refused.extra == {"constraint": CONSTRAINT}
    assert decided == ["r-1"]


def waiting_on_a_lock(cur):
    cur.execute("""SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()""")
    return cur.fetchone()[0] == 1
