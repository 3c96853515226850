"""Rebuilding read models never blocks readers for long and never loses an event: written
continuously while a rebuild runs, membership's read models (with their row-level security and
a policy of another table that looks into them) end up as a fresh rebuild of the same log."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from eventstore.commands import UnitOfWork
from eventstore.identity import SYSTEM
from eventstore.migrate import migrate
from eventstore.projections import ProjectionRunner
from eventstore.store import EventStore
from services.membership.domain import Hub, Member, Person
from services.membership.projections import PROJECTIONS, MembershipReadModel
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("hubs_view", "members_view", "people_view")


@pytest.fixture
def membership(database_url, db):
    migrate(database_url, ROOT / "services" / "membership" / "migrations")
    store = EventStore(db, "membership")
    work = UnitOfWork(db, store, PROJECTIONS,
                      lambda cur, caller: MembershipReadModel(cur, caller, store))
    for hub in ("north", "south"):
        def register(_, session, hub=hub):
            session.create(Hub, hub).register(f"{hub} office", "CA", None, "Partner")
        work.command(SYSTEM, lambda s: None, register, lambda r, s: None)
    return store, work


def enroll(work, hub, name):
    def enroll_(_, session):
        member = session.create(Member, f"{hub}.{uuid.uuid4().hex[:8]}")
        member.enroll(hub, name, "district", "K-8", 100)
        person = session.create(Person, f"{member.id}-sponsor")
        person.add(hub, member.id, "administrator")
        session.after_save(lambda: session.read_model.people.keep(
            person.id, name=f"Sponsor of {name}", email=None))
    work.command(SYSTEM, lambda s: None, enroll_, lambda r, s: None)


def read_models(db):
    with db.transaction() as cur:
        found = {}
        for table in TABLES:
            cur.execute(f"SELECT * FROM {table} ORDER BY 1")
            found[table] = cur.fetchall()
        return found


def indexes_and_policies(db):
    with db.transaction() as cur:
        cur.execute("""SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'
                       ORDER BY 1, 2""")
        indexes = cur.fetchall()
        cur.execute("""SELECT tablename, policyname, qual FROM pg_policies
                       WHERE schemaname = 'public' ORDER BY 1, 2""")
        return indexes, cur.fetchall()


def visible_to(db, hub, table):
    with db.transaction() as cur:
        cur.execute("SELECT set_config('consortium.hubs', %s, true)", (hub,))
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def test_writes_during_a_rebuild_all_reach_the_rebuilt_read_models(db, membership):
    store, work = membership
    for n in range(300):
        enroll(work, "north" if n % 3 else "south", f"District {n}")
    shape = indexes_and_policies(db)
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set():
            enroll(work, "north", f"Late district {n}")
            written.append(n)
            n += 1

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(written) >= 10, what="writes before the rebuild")
        ProjectionRunner(db, store, PROJECTIONS).rebuild(*PROJECTIONS)
        during = len(written)
        wait_until(lambda: len(written) >= during + 10, what="writes after the rebuild")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    live = read_models(db)
    with db.transaction() as cur:
        cur.execute("SELECT count(*) FROM events WHERE type = 'MemberEnrolled'")
        enrolled = cur.fetchone()[0]
    assert len(live["members_view"]) == enrolled == 300 + len(written)
    # The same as a rebuild of the same log with nothing going on.
    ProjectionRunner(db, store, PROJECTIONS).rebuild(*PROJECTIONS)
    assert read_models(db) == live
    # The same indexes (by name: a refused write names its index) and the same policies,
    # including people_pii's, which looks into people_view.
    assert indexes_and_policies(db) == shape
    assert visible_to(db, "south", "members_view") == 100
    assert visible_to(db, "nobody", "people_pii") == 0
    assert visible_to(db, "south", "people_pii") == 100


def test_a_command_in_flight_during_the_swap_lands_in_the_new_read_model(db, membership,
                                                                          database_url):
    store, work = membership
    for n in range(20):
        enroll(work, "north", f"District {n}")
    # A command has appended its event and written its inline row into the live table when
    # the rebuild comes to swap: the swap waits for it; it commits; the swap must take it.
    member = Member("north.in-flight")
    member.enroll("north", "In flight", "district", "K-8", 50)
    from eventstore.repository import Repository
    conn = db._acquire()
    conn.autocommit = False
    cur = conn.cursor()
    Repository(store, Member).save(member, cur=cur)
    (recorded,) = store.read_committed_after((0, 0), cur)[-1:]
    PROJECTIONS[1].apply(cur, recorded[0])   # members_view, as the command's session does
    rebuilt = threading.Thread(
        target=lambda: ProjectionRunner(db, store, PROJECTIONS).rebuild(*PROJECTIONS))
    rebuilt.start()

    def swap_waiting():
        with db.transaction() as probe:
            probe.execute("""SELECT count(*) FROM pg_locks
                             WHERE mode = 'AccessExclusiveLock' AND NOT granted""")
            return probe.fetchone()[0] > 0
    wait_until(swap_waiting, what="the swap to wait for the command")
    conn.commit()
    db._release(conn, False)
    rebuilt.join(60)
    with db.transaction() as check:
        check.execute("SELECT name FROM members_view WHERE id = 'north.in-flight'")
        assert check.fetchone() == ("In flight",)
    # And one whose event is not committed yet when the swap reads the log writes its row into
    # the new table afterwards.
    late = Member("north.late")
    late.enroll("north", "Late", "district", "K-8", 50)
    conn = db._acquire()
    conn.autocommit = False
    cur = conn.cursor()
    Repository(store, Member).save(late, cur=cur)
    ProjectionRunner(db, store, PROJECTIONS).rebuild(*PROJECTIONS)
    (recorded,) = store.read_committed_after((0, 0), cur)[-1:]
    PROJECTIONS[1].apply(cur, recorded[0])
    conn.commit()
    db._release(conn, False)
    with db.transaction() as check:
        check.execute("SELECT count(*) FROM members_view WHERE id IN ('north.late', "
                      "'north.in-flight')")
        assert check.fetchone()[0] == 2


def test_one_rebuild_at_a_time(db, membership, database_url):
    from eventstore.db import connect
    from eventstore.errors import Conflict
    store, _ = membership
    holder = connect(database_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtext('projections-rebuild'))")
        with pytest.raises(Conflict, match="running already"):
            ProjectionRunner(db, store, PROJECTIONS).rebuild(*PROJECTIONS)
    finally:
        holder.close()
