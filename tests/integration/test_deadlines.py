"""A 503 means "not applied, and never will be": a request the gateway stopped waiting for is
never applied afterwards, whether the service was frozen (it picks the request up late and
refuses it) or dead (the request expires in the broker's queue). Real processes."""

from __future__ import annotations

import signal

import pytest

from tests.integration.conftest import start_service
from tests.support import queue_depth, wait_until


@pytest.fixture(scope="module")
def platform(impatient_platform):
    return impatient_platform


def enroll(client, hub, name):
    return client.request("POST", f"/v1/hubs/{hub}/members", {
        "name": name, "kind": "district", "grade_span": "K-8", "enrollment": 120})


def members(client, hub):
    return [m["name"] for m in client.ok("GET", f"/v1/hubs/{hub}/members")["items"]]


PAST_DEADLINE = "eventstore_commands_past_deadline_total"


def test_a_request_picked_up_after_the_503_is_refused_by_the_service(platform):
    client, membership = platform["client"], platform["services"]["membership"]
    client.ok("POST", "/v1/hubs", {"id": "frozen", "name": "Frozen County", "state": "CA",
                                   "facilitator_org": "Partner"})
    membership.proc.send_signal(signal.SIGSTOP)   # a hung host: the request sits in its hands
    try:
        status, _, answer = enroll(client, "frozen", "Latrobe")
        assert status == 503, answer
    finally:
        membership.proc.send_signal(signal.SIGCONT)
    # It wakes up, reads the request it had been handed, sees the deadline passed: refuses.
    wait_until(lambda: membership.metric(PAST_DEADLINE) == 1, what="the late request refused")
    assert members(client, "frozen") == []
    # So the client's retry after the 503 enrolls the district once.
    assert enroll(client, "frozen", "Latrobe")[0] == 201
    assert members(client, "frozen") == ["Latrobe"]


def test_a_request_waiting_for_a_dead_service_expires_with_the_503(platform, new_database):
    client, amqp = platform["client"], platform["amqp"]
    membership = platform["services"]["membership"]
    client.ok("POST", "/v1/hubs", {"id": "dead", "name": "Dead County", "state": "CA",
                                   "facilitator_org": "Partner"})
    membership.kill()
    status, _, answer = enroll(client, "dead", "Mother Lode")
    assert status == 503, answer
    # Nobody is listening: the request expires in the queue, where no service can find it.
    wait_until(lambda: queue_depth(amqp, "rpc-membership") == 0, timeout=30,
               what="the request to expire in the broker")
    revived = start_service("membership", platform["databases"]["membership"], amqp)
    platform["services"]["membership"] = revived
    assert enroll(client, "dead", "Mother Lode")[0] == 201
    assert members(client, "dead") == ["Mother Lode"]
    assert revived.metric(PAST_DEADLINE) == 0   # it never even saw the first one
