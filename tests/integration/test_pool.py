"""The connection pool: never more connections than its size, every caller served in turn,
and a broken connection replaced."""

from __future__ import annotations

import threading
import uuid

import psycopg2
import pytest

from eventstore.db import Database
from tests.support import query, wait_until


def backends(url, name):
    return query(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                 (name,))[0][0]


def test_more_callers_than_connections_all_get_one_in_turn(database_url):
    name = f"pool-{uuid.uuid4().hex[:6]}"
    db = Database(database_url, size=2, application_name=name)
    seen, errors = [], []
    most = [0]

    def caller(n):
        try:
            def work(cur):
                most[0] = max(most[0], backends(database_url, name))
                cur.execute("SELECT pg_sleep(0.05), %s", (n,))
                return cur.fetchone()[1]
            seen.append(db.with_cursor(work))
            with db.transaction() as cur:
                cur.execute("SELECT %s", (n,))
                assert cur.fetchone()[0] == n
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.close()
    assert errors == [] and sorted(seen) == list(range(8))
    assert most[0] == 2                       # the size is a ceiling, and it was reached
    # Closed: each backend ends once it reads the client's goodbye (a moment after close).
    wait_until(lambda: backends(database_url, name) == 0, what="the pool's backends to end")


def test_a_broken_connection_is_replaced(database_url):
    name = f"pool-{uuid.uuid4().hex[:6]}"
    db = Database(database_url, size=1, application_name=name)
    pid = db.with_cursor(lambda cur: (cur.execute("SELECT pg_backend_pid()"), cur.fetchone())[1])[0]
    query(database_url, "SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg2.OperationalError):
        db.with_cursor(lambda cur: cur.execute("SELECT 1"))
    # The dead one was dropped; the next caller gets a new connection, not a wait forever.
    assert db.with_cursor(lambda cur: (cur.execute("SELECT 2"), cur.fetchone())[1]) == (2,)
    db.close()


def test_connections_carry_keepalives_and_the_timeouts_of_their_use(database_url):
    from eventstore.db import Timeouts, connect
    db = Database(database_url, size=1)
    try:
        def show(cur):
            cur.execute("SELECT current_setting('statement_timeout'), "
                        "current_setting('idle_in_transaction_session_timeout')")
            return cur.fetchone()
        assert db.with_cursor(show) == ("30s", "1min")
        with db.connection() as conn:
            assert conn.get_dsn_parameters()["keepalives"] == "1"
    finally:
        db.close()
    # A transaction left open and idle is ended by PostgreSQL, not held for ever (it would
    # hold back every service's log).
    forgetful = connect(database_url, autocommit=False,
                        timeouts=Timeouts(idle_in_transaction_seconds=0.5))
    with forgetful.cursor() as cur:
        cur.execute("SELECT pg_current_xact_id(), pg_backend_pid()")
        pid = cur.fetchone()[1]
    watcher = connect(database_url)
    try:
        with watcher.cursor() as cur:
            def ended():
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
                return cur.fetchone()[0] == 0
            wait_until(ended, what="the idle transaction to be ended")
    finally:
        watcher.close()
        forgetful.close()
