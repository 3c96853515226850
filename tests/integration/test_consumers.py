"""Consumers: idempotent, dead-lettered after the retry limit, replayable, able to catch up."""

from __future__ import annotations

import json
import time

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
    # Only the start-up catch-up: a periodic one would race the live retries of entry 7
    # below and park it first, with its own reason.
    tally = start_tally(tally_db, amqp_uri, CONSORTIUM_CATCH_UP_SECONDS="3600")
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


def to_dead_letters(amqp_uri, body, headers=None, content_type="application/json"):
    """Publish straight to the dead-letter exchange, as anyone on the broker may."""
    from eventstore.consumers import DEAD_LETTER_EXCHANGE
    with kombu.Connection(amqp_uri) as conn:
        kombu.Producer(conn.channel()).publish(
            body, exchange=DEAD_LETTER_EXCHANGE, routing_key="tally", headers=headers or {},
            content_type=content_type, content_encoding="utf-8")


def letters(tally_db):
    return query(tally_db, "SELECT body, headers, queue, reason FROM dead_letters ORDER BY id")


def test_whatever_reaches_the_dead_letter_exchange_is_parked_once(ledger, tally_db, amqp_uri):
    import datetime
    from decimal import Decimal

    from eventstore.consumers import QUEUE_HEADER, REASON_HEADER, dead_letter_queue
    from tests.support import queue_depth
    tally = start_tally(tally_db, amqp_uri)
    try:
        # (marker in the stored body, body, headers, content type)
        cases = [
            ("case-death-text", b'{"case": "case-death-text"}', {"x-death": "not a list"}),
            ("case-death-list", b'{"case": "case-death-list"}', {"x-death": ["a", "b"]}),
            ("case-death-types", b'{"case": "case-death-types"}', {"x-death": [
                {"queue": 5, "reason": ["r"], "routing-keys": "EntryMade",
                 "exchange": {"a": 1}, "count": "many"}]}),
            ("case-death-table", b'{"case": "case-death-table"}',
             {"x-death": {"queue": "q\x00", "routing-keys": [7]}}),
            ("case-nul-byte", b'{"case": "case-nul-byte", "x": "\x00"}', {}),
            ("case-bad-utf8", b'{"case": "case-bad-utf8"} \xff\xfe', {}),
            ("case-text-nul", b"case-text-nul \x00 \xff", {}, "text/plain"),
            ("case-lone-surrogate", b'"case-lone-surrogate \\udc80 \\u0000"', {}),
            ("case-event-id", b'{"case": "case-event-id", "event_id": "a\\u0000\\udc80"}', {}),
            ("case-event-table", b'{"case": "case-event-table", "event_id": {"a": 1}}',
             {}),
            ("case-odd-headers", b'{"case": "case-odd-headers"}', {
                "nested": {"a": [1, {"b": "nul\x00"}], "c": {"d": {"e": "deep"}}},
                "raw": b"\xff\xfe", b"\xff\xfe-key": "bytes", "array": [b"\x00", None, 1.5],
                "surrogate": "lone \udc80", "when": datetime.datetime(2026, 1, 1),
                "amount": Decimal("1.50"), "big": 2**62, "flag": True,
                REASON_HEADER: {"why": ["not text"]}, QUEUE_HEADER: 42}),
            ("case-reason-nul", b'{"case": "case-reason-nul"}',
             {REASON_HEADER: "why\x00 \udc80", QUEUE_HEADER: b"q\xff"}),
        ]
        for _marker, body, headers, *content_type in cases:
            to_dead_letters(amqp_uri, body, headers, *content_type)
        wait_until(lambda: len(letters(tally_db)) >= len(cases), timeout=30,
                   what="every dead letter parked")
        time.sleep(1.0)   # nothing comes back a second time
        parked = letters(tally_db)
        assert len(parked) == len(cases), parked
        for marker, *_ in cases:
            assert sum(marker in body for body, *_ in parked) == 1, (marker, parked)
        assert queue_depth(amqp_uri, dead_letter_queue("tally")) == 0
        assert tally.alive() and tally.healthy()
        assert tally.metric('dead_letters_parked_total{service="tally"}') == len(cases)
        # What PostgreSQL cannot store is kept escaped, not dropped.
        stored = {marker: (body, headers, reason)
                  for marker, *_ in cases for body, headers, _, reason in parked
                  if marker in body}
        assert "\\x00" in stored["case-text-nul"][0] and "\\xff" in stored["case-text-nul"][0]
        assert "\\xff\\xfe" in stored["case-bad-utf8"][0]
        assert "\\udc80" in stored["case-lone-surrogate"][0]
        assert stored["case-odd-headers"][1]["nested"]["a"][1] == {"b": "nul\\x00"}
        assert stored["case-reason-nul"][2] == "why\\x00 \\udc80"
    finally:
        tally.stop()


def test_the_parker_waits_for_a_database_that_is_down_without_a_hot_loop(ledger, ledger_db,
                                                                         tally_db, amqp_uri):
    tally = start_tally(tally_db, amqp_uri)
    name = tally_db.rsplit("/", 1)[1]
    attempts = 'error handling worker <WorkerContext [tally.park_dead_letter]'
    try:
        wait_until(lambda: tally.metric('consumer_catch_ups_total{source="ledger"}') >= 1,
                   what="the start-up catch-up to finish")
        # The database goes away: no new connection, the open ones ended.
        query(ledger_db, f'ALTER DATABASE "{name}" CONNECTION LIMIT 0')
        query(ledger_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s", (name,))
        to_dead_letters(amqp_uri, b'{"case": "database-down"}', {"x-death": [{"queue": "q"}]})
        time.sleep(4.0)
        tried = tally.output().count(attempts)
        # Tried again after 0.1, 0.2, 0.4, 0.8, 1.6 s ..., not thousands of times.
        assert 1 <= tried <= 8, tried
        query(ledger_db, f'ALTER DATABASE "{name}" CONNECTION LIMIT -1')
        wait_until(lambda: letters(tally_db), timeout=20, what="the dead letter parked")
        time.sleep(0.5)
        assert [reason for *_, reason in letters(tally_db)] == ["unknown"]
        assert tally.metric('consumer_events_total{consumer="park_dead_letter",'
                            'outcome="failed"}') == tally.output().count(attempts)
        assert tally.alive()
    finally:
        query(ledger_db, f'ALTER DATABASE "{name}" CONNECTION LIMIT -1')
        tally.stop()


def test_a_non_ascii_signature_is_parked_at_once_not_retried(ledger, tally_db, amqp_uri):
    ledger.rpc("make_entry", 1)
    tally = start_tally(tally_db, amqp_uri)
    try:
        wait_until(lambda: tallied(tally_db) == [1], what="the real entry tallied")
        real = ledger.rpc("read_events", [0, 0], 10)["events"][0]
        forged = {**real, "event_id": "00000000-0000-4000-8000-000000000003",
                  "data": {"n": 10**9}, "signature": "é" * 64}
        publish(amqp_uri, forged)
        (letter,) = wait_until(lambda: tally.rpc("dead_letters"), what="the forged event parked")
        assert letter["reason"] == "ForgedEvent: an event that ledger did not sign", letter
        assert letter["event_id"] == forged["event_id"]
        # Refused once (one INFO line), never an error retried up to the delivery limit.
        assert tally.output().count("refused <WorkerContext [tally.on_entry_made]") == 1
        assert "error handling worker <WorkerContext [tally.on_entry_made]" not in tally.output()
        assert tally.metric('consumer_events_total{consumer="on_entry_made",'
                            'outcome="failed"}') == 0
        assert tallied(tally_db) == [1]
    finally:
        tally.stop()


def test_a_message_that_cannot_be_stored_as_received_is_parked_as_a_minimal_record(db,
                                                                                 amqp_uri):
    from eventstore.consumers import DeadLetters
    dead_letters = DeadLetters(db, amqp_uri, "tally")
    # A body no JSON encoder takes (the parker's own bodies are decoded JSON or text, so only
    # a bug gets here): parked with why, rather than an error the message would loop on.
    letter_id = dead_letters.park({"case": {"a set"}}, {"x-death": [{"queue": "q"}]})
    (row,) = dead_letters.list()
    assert row["id"] == letter_id
    assert row["reason"].startswith("could not be parked as received: TypeError"), row
    assert "a set" in row["body"]


def test_a_read_events_answer_is_signed_for_its_request(ledger):
    from eventstore.errors import ForgedEvent
    from eventstore.identity import verify_page
    for n in range(3):
        ledger.rpc("make_entry", n)
    wait_until(lambda: len(ledger.rpc("read_events", [0, 0], 100)["events"]) == 3,
               what="the entries in the log")
    answer = ledger.rpc("read_events", [0, 0], 2, ["EntryMade"])
    verify_page(answer, "ledger", [0, 0], ["EntryMade"])
    assert answer["more"] and len(answer["events"]) == 2
    follow = ledger.rpc("read_events", answer["next"], 2, ["EntryMade"])
    verify_page(follow, "ledger", answer["next"], ["EntryMade"])
    for after, types in (([0, 1], ["EntryMade"]), ([0, 0], None), (answer["next"], ["X"])):
        with pytest.raises(ForgedEvent):
            verify_page(answer, "ledger", after, types)


def test_a_dead_letter_goes_back_only_to_a_consumer_queue_of_its_service(tally_db, amqp_uri):
    """A replay travels by the service's own replay exchange, to a queue of its consumers by
    name: a letter whose recorded queue is anything else (another service's RPC queue) is
    refused, where the default exchange would have delivered it anywhere."""
    from eventstore.consumers import DeadLetters
    from eventstore.db import Database
    from eventstore.errors import Conflict
    db = Database(tally_db, size=1)
    try:
        letters = DeadLetters(db, amqp_uri, "tally")
        for queue in ("rpc-membership", "evt-ledger-EntryMade--other.on_entry_made"):
            letters.park_unhandled(queue, {"event_id": None, "type": "EntryMade"}, "test")
            (letter,) = [d for d in letters.list() if d["queue"] == queue]
            with pytest.raises(Conflict, match="cannot be replayed"):
                letters.replay(letter["id"])
    finally:
        db.close()
