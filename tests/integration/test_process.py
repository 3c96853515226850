"""A process across two services, as booking a shared expert will be: the desk asks for an
expert's hours, the budget decides on its own aggregate (approves, or refuses with an event),
and the desk confirms the booking or releases it (the compensating event). Real `nameko run`
processes, real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import kombu
import pytest

from eventstore.errors import NotFound
from eventstore.identity import Identity
from tests.support import ServiceProcess, delete_queues, query, wait_until

APPROVALS = "SELECT data->>'booking_id' FROM events WHERE type = 'SpendApproved' ORDER BY 1"
REFUSALS = "SELECT data->>'booking_id' FROM events WHERE type = 'SpendRefused' ORDER BY 1"
QUEUE = "evt-desk-BookingRequested--budget.on_booking_requested"


@pytest.fixture(autouse=True)
def no_queue_of_an_earlier_test(amqp_uri):
    delete_queues(amqp_uri, QUEUE, "evt-budget-SpendApproved--desk.on_spend_approved",
                  "evt-budget-SpendRefused--desk.on_spend_refused")


@pytest.fixture
def desk_db(new_database):
    return new_database()


@pytest.fixture
def budget_db(new_database):
    return new_database()


@pytest.fixture
def desk(desk_db, amqp_uri):
    process = ServiceProcess("desk", "tests.fixtures.desk.service:Desk", desk_db, amqp_uri)
    yield process
    process.stop()


def start_budget(budget_db, amqp_uri, **env):
    return ServiceProcess("budget", "tests.fixtures.budget.service:BudgetService", budget_db,
                          amqp_uri, env=env)


def status(desk, booking):
    return desk.rpc("get_booking", booking)["status"]


def ids(url, sql):
    return [r[0] for r in query(url, sql)]


def test_approval_refusal_with_a_compensating_event_and_redelivery(desk, desk_db, budget_db,
                                                                   amqp_uri):
    budget = start_budget(budget_db, amqp_uri)
    try:
        desk.rpc("request_booking", "hub-a", {"id": "b-1", "expert": "expert-x", "hours": 4})
        wait_until(lambda: status(desk, "b-1") == "confirmed", what="b-1 confirmed")
        # 4 of the hub's 6 hours are spent: the budget refuses, and the desk releases b-2.
        desk.rpc("request_booking", "hub-a", {"id": "b-2", "expert": "expert-x", "hours": 3})
        wait_until(lambda: status(desk, "b-2") == "released", what="b-2 released")
        assert desk.rpc("get_booking", "b-2")["reason"] == "3 hours asked, 2 left"
        assert ids(budget_db, APPROVALS) == ["b-1"] and ids(budget_db, REFUSALS) == ["b-2"]
        # The refusal is recorded as the budget's consequence of the desk's event.
        cause = query(desk_db, "SELECT event_id::text FROM events WHERE stream_id = 'b-2' "
                               "AND version = 1")[0][0]
        assert query(budget_db, "SELECT metadata->>'causation_id' FROM events "
                                "WHERE type = 'SpendRefused'")[0][0] == cause

        # The same event delivered again decides nothing again.
        request = desk.rpc("read_events", [0, 0], 10, ["BookingRequested"])["events"][0]
        duplicates = 'consumer_events_total{consumer="on_booking_requested",outcome="duplicate"}'
        before = budget.metric(duplicates)
        with kombu.Connection(amqp_uri) as conn:
            kombu.Producer(conn.channel()).publish(request, exchange="", routing_key=QUEUE,
                                                   serializer="json")
        wait_until(lambda: budget.metric(duplicates) == before + 1, what="the duplicate seen")
        assert ids(budget_db, APPROVALS) == ["b-1"]
        assert query(budget_db, "SELECT count(*) FROM events")[0][0] == 2
    finally:
        budget.stop()


def test_a_crash_between_the_effect_and_the_ack_changes_nothing_twice(desk, budget_db,
                                                                      amqp_uri):
    crashing = start_budget(budget_db, amqp_uri,
                            CONSORTIUM_FAILPOINT="consumer-after-commit")
    desk.rpc("request_booking", "hub-a", {"id": "b-3", "expert": "expert-x", "hours": 2})
    # The budget commits its decision with the inbox row, then dies before the ack.
    wait_until(lambda: not crashing.alive(), what="the budget to die after its commit")
    crashing.stop()
    assert crashing.proc.returncode == 9
    assert ids(budget_db, APPROVALS) == ["b-3"]
    # Unacknowledged, the message is delivered again to the restarted budget: a duplicate.
    budget = start_budget(budget_db, amqp_uri)
    try:
        wait_until(lambda: budget.metric(
            'consumer_events_total{consumer="on_booking_requested",outcome="duplicate"}') >= 1,
            what="the redelivered message seen as a duplicate")
        assert ids(budget_db, APPROVALS) == ["b-3"]
        wait_until(lambda: status(desk, "b-3") == "confirmed", what="b-3 confirmed")
    finally:
        budget.stop()


def test_concurrent_requests_are_decided_on_one_budget_without_losing_any(desk, budget_db,
                                                                          amqp_uri):
    budget = start_budget(budget_db, amqp_uri)
    try:
        for n in range(10):
            desk.rpc("request_booking", "hub-b", {"id": f"c-{n}", "expert": "expert-y", "hours": 1})
        wait_until(lambda: len(ids(budget_db, APPROVALS)) + len(ids(budget_db, REFUSALS)) == 10,
                   timeout=60, what="every request decided")
        # One budget stream, ten deciders racing on it: each decided once, six hours spent.
        assert len(ids(budget_db, APPROVALS)) == 6 and len(ids(budget_db, REFUSALS)) == 4
        wait_until(lambda: sorted(status(desk, f"c-{n}") for n in range(10)) ==
                   ["confirmed"] * 6 + ["released"] * 4, what="the desk told of each")
        assert budget.rpc("dead_letters") == []
    finally:
        budget.stop()


def test_another_hubs_caller_cannot_book_or_read(desk):
    other = Identity(sub="f-2", role="facilitator", hubs=("hub-z",))
    desk.rpc("request_booking", "hub-a", {"id": "b-9", "expert": "expert-x", "hours": 1})
    with pytest.raises(NotFound):
        desk.rpc("get_booking", "b-9", caller=other)
    with pytest.raises(NotFound):
        desk.rpc("request_booking", "hub-a", {"id": "b-10", "expert": "expert-x", "hours": 1},
                 caller=other)
