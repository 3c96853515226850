"""Consumers: idempotent, dead-lettered after the retry limit, replayable, able to catch up."""

from __future__ import annotations

import json

import kombu
import pytest

from tests.support import ServiceProcess, cli, delete_queues, query, wait_until

DUPLICATES = 'consumer_events_total{consumer="on_entry_made",outcome="duplicate"}'


@pytest.fixture(autouse=True)
def no_queue_of_an_earlier_test(amqp_uri):
    delete_queues(amqp_uri, "evt-ledger-EntryMade--tally.on_entry_made")


@pytest.fixture
def ledger_db(database_url):
    return database_url


@pytest.fixture
def tally_db(new_database):
    return new_database()


@pytest.fixture
def ledger(ledger_db, amqp_uri):
    process = ServiceProcess("ledger", "tests.fixtures.ledger.service:Ledger", ledger_db, amqp_uri)
    yield process
    process.stop()


def start_tally(tally_db, amqp_uri, **env):
    return ServiceProcess("tally", "tests.fixtures.tally.service:Tally", tally_db, amqp_uri,
                          env=env)


def tallied(tally_db):
    return sorted(n for (n,) in query(tally_db, "SELECT n FROM tallied"))


def test_catch_up_redelivery_dead_letter_and_replay(ledger, tally_db, ledger_db, amqp_uri):
    # Published before the consumer existed: RabbitMQ had no queue to put them in.
    for n in range(5):
        ledger.rpc("make_entry", n)
    wait_until(lambda: query(ledger_db, "SELECT position FROM checkpoints WHERE name='relay'")
               and ledger.metric('relay_events_published_total{service="ledger"}') == 5,
               what="the relay to publish the first 5")
    tally = start_tally(tally_db, amqp_uri)
    try:
        # On start-up it reads them from the source's log by itself ...
        wait_until(lambda: tallied(tally_db) == [0, 1, 2, 3, 4],
                   what="the consumer to catch up on start")
        # ... and the operator's catch-up, run again, changes nothing.
        out = cli("catch-up", "--service", "tally", "--source", "ledger",
                  "--amqp-uri", amqp_uri)
        counts = json.loads(out.strip().splitlines()[-1])
        assert (counts["read"], counts["applied"], counts["duplicates"]) == (5, 0, 5)
        counts = tally.rpc("catch_up", "ledger")
        assert (counts["read"], counts["applied"], counts["duplicates"]) == (5, 0, 5)
        assert tallied(tally_db) == [0, 1, 2, 3, 4]
        assert query(tally_db, "SELECT position FROM checkpoints "
                               "WHERE name = 'catch-up:ledger'")[0][0] > 0

        # Live delivery, with entry 7 failing every time.
        query(tally_db, "INSERT INTO poison (n) VALUES (7)")
        for n in range(5, 10):
            ledger.rpc("make_entry", n)
        wait_until(lambda: tally.rpc("dead_letters"), timeout=30, what="a dead letter")
        wait_until(lambda: tallied(tally_db) == [0, 1, 2, 3, 4, 5, 6, 8, 9],
                   what="the other entries tallied")
        (letter,) = tally.rpc("dead_letters")
        assert json.loads(letter["body"])["data"] == {"n": 7}
        assert letter["reason"] == "delivery_limit"
        assert letter["queue"] == "evt-ledger-EntryMade--tally.on_entry_made"
        assert tally.metric('consumer_events_total{consumer="on_entry_made",outcome="failed"}') == 3

        # A redelivered event (same event id) changes nothing.
        duplicates = tally.metric(DUPLICATES)
        event = ledger.rpc("read_events", [0, 0], 100)["events"][1]
        with kombu.Connection(amqp_uri) as conn:
            kombu.Producer(conn.channel()).publish(
                event, exchange="", routing_key=letter["queue"], serializer="json")
        wait_until(lambda: tally.metric(DUPLICATES) == duplicates + 1,
                   what="the duplicate to be seen")
        assert tallied(tally_db) == [0, 1, 2, 3, 4, 5, 6, 8, 9]

        # The bug is fixed; the operator replays the dead letter: applied once.
        query(tally_db, "DELETE FROM poison")
        cli("dead-letters", "replay", "all", "--service", "tally", "--database-url", tally_db,
            "--amqp-uri", amqp_uri)
        wait_until(lambda: tallied(tally_db) == list(range(10)), what="the replay applied")
        assert tally.rpc("dead_letters") == []
        # Replaying it once more is harmless.
        tally.rpc("replay_dead_letter", letter["id"])
        wait_until(lambda: tally.metric(DUPLICATES) == duplicates + 2,
                   what="the second replay to be seen")
        assert tallied(tally_db) == list(range(10))
        listed = cli("dead-letters", "list", "--all", "--service", "tally", "--database-url",
                     tally_db, "--amqp-uri", amqp_uri)
        assert json.loads(listed.strip().splitlines()[-1])["replays"] == 2
    finally:
        tally.stop()


def test_projection_rebuild_gives_the_live_read_model(ledger, ledger_db):
    for n in range(40):
        ledger.rpc("make_entry", n, hub_id="hub-a" if n % 3 else "hub-b")
    for n in range(0, 40, 4):
        ledger.rpc("amend_entry", n)

    def read_model():
        return (query(ledger_db, "SELECT * FROM entries_view ORDER BY stream_id"),
                query(ledger_db, "SELECT * FROM entry_totals ORDER BY hub_id"))

    wait_until(lambda: len(read_model()[0]) == 40
               and sum(r[3] for r in read_model()[0]) == 10, what="the live projection")
    live = read_model()
    assert live[1] == [("hub-a", 26, sum(n for n in range(40) if n % 3)),
                       ("hub-b", 14, sum(n for n in range(40) if not n % 3))]
    query(ledger_db, "UPDATE entries_view SET n = -1")   # a read model gone wrong
    cli("projections", "rebuild", "--service", "ledger", "--module",
        "tests.fixtures.ledger.projections", "--database-url", ledger_db)
    assert read_model() == live
    ledger.rpc("make_entry", 100)   # the live runner goes on from the rebuilt checkpoint
    wait_until(lambda: len(read_model()[0]) == 41, what="the live projection after rebuild")
    assert read_model()[1][0] == ("hub-a", 27, live[1][0][2] + 100)


def publish(amqp_uri, body, routing_key="EntryMade", raw=False):
    with kombu.Connection(amqp_uri) as conn:
        producer = kombu.Producer(conn.channel())
        if raw:
            producer.publish(body, exchange="ledger.events", routing_key=routing_key,
                             content_type="application/json", content_encoding="utf-8")
        else:
            producer.publish(body, exchange="ledger.events", routing_key=routing_key,
                             serializer="json")


def test_forged_undecodable_and_contract_breaking_messages_become_dead_letters(
        ledger, tally_db, amqp_uri):
    from eventstore.identity import signed_event
    ledger.rpc("make_entry", 1)
    tally = start_tally(tally_db, amqp_uri)
    try:
        wait_until(lambda: tallied(tally_db) == [1], what="the real entry tallied")
        real = ledger.rpc("read_events", [0, 0], 10)["events"][0]
        # Someone on the broker forges the ledger's event: a huge n, no valid signature.
        forged = {**real, "event_id": "00000000-0000-4000-8000-000000000001",
                  "data": {"n": 10**9}}
        publish(amqp_uri, forged)
        # A body that is not JSON at all.
        publish(amqp_uri, b"\x89PNG not json", raw=True)
        # A genuine signature on data that breaks the contract (n must be an integer).
        broken = signed_event({**real, "event_id": "00000000-0000-4000-8000-000000000002",
                               "data": {"n": "seven"}})
        publish(amqp_uri, broken)
        letters = wait_until(lambda: len(tally.rpc("dead_letters")) == 3
                             and tally.rpc("dead_letters"), what="three dead letters")
        reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
        assert reasons == ["ContractViolation", "ForgedEvent", "undecodable"], letters
        assert all(letter["queue"] == "evt-ledger-EntryMade--tally.on_entry_made"
                   for letter in letters)
        assert tallied(tally_db) == [1]   # nothing of them was applied
        assert tally.metric('dead_letters_parked_total{service="tally"}') == 3
    finally:
        tally.stop()


def test_the_catch_up_checkpoint_follows_what_was_handled_while_running(ledger, tally_db,
                                                                        amqp_uri):
    tally = start_tally(tally_db, amqp_uri, CONSORTIUM_CATCH_UP_SECONDS="0.5")
    try:
        for n in range(20):
            ledger.rpc("make_entry", n)
        wait_until(lambda: tallied(tally_db) == list(range(20)), what="live delivery")
        last = ledger.rpc("read_events", [0, 0], 100)["events"][-1]
        # Without a restart, the checkpoint moves up to the last event handled.
        wait_until(lambda: query(tally_db, "SELECT tx_id::text::bigint, position FROM "
                                           "checkpoints WHERE name = 'catch-up:ledger'")
                   == [(last["tx_id"], last["position"])], what="the checkpoint at the head")
    finally:
        tally.stop()
    # So a restart reads nothing again.
    tally = start_tally(tally_db, amqp_uri)
    try:
        wait_until(lambda: tally.metric('consumer_catch_ups_total{source="ledger"}') >= 1,
                   what="the start-up catch-up to finish")
        assert tally.metric('consumer_catch_up_events_total{source="ledger"}') == 0
        assert tally.metric(DUPLICATES) == 0
    finally:
        tally.stop()
