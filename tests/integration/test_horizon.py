"""A stalled log is visible: one open write transaction in another database of the same
PostgreSQL server holds back every tailer of every service; the service says so in its
metrics and its health detail, and not only by a lag gauge that reads 0."""

from __future__ import annotations

import json

import pytest

from eventstore.db import connect
from tests.support import ServiceProcess, http_get, wait_until

EVENTS = 'eventstore_log_held_back_events{service="ledger"}'
SECONDS = 'eventstore_log_held_back_seconds{service="ledger"}'


@pytest.fixture
def ledger(database_url, amqp_uri):
    process = ServiceProcess("ledger", "tests.fixtures.ledger.service:Ledger", database_url,
                             amqp_uri, env={"CONSORTIUM_GAUGE_SECONDS": "0.2"})
    yield process
    process.stop()


def test_an_open_transaction_elsewhere_on_the_server_shows_as_a_held_back_log(ledger,
                                                                              new_database):
    ledger.rpc("make_entry", 1)
    wait_until(lambda: ledger.metric('relay_events_published_total{service="ledger"}') == 1,
               what="the first entry published")
    elsewhere = connect(new_database(), autocommit=False)   # another database, same server
    try:
        with elsewhere.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()")   # a transaction id held, and open
        for n in range(2, 5):
            ledger.rpc("make_entry", n)
        wait_until(lambda: ledger.metric(EVENTS) == 3, what="three events held back")
        first = ledger.metric(SECONDS)
        wait_until(lambda: ledger.metric(SECONDS) > first, what="the hold to age")
        assert ledger.metric('relay_events_published_total{service="ledger"}') == 1
        status, body = http_get(f"http://127.0.0.1:{ledger.metrics_port}/healthz")
        assert status == 200   # latency, not failure: the service is healthy
        assert "3 committed events held back" in json.loads(body)["checks"]["log"]["detail"]
    finally:
        elsewhere.rollback()
        elsewhere.close()
    wait_until(lambda: ledger.metric(EVENTS) == 0 and ledger.metric(SECONDS) == 0,
               what="the log readable again")
    wait_until(lambda: ledger.metric('relay_events_published_total{service="ledger"}') == 4,
               what="the held-back events published")
