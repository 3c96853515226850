"""Each process's own broker user (eventstore/broker.py), as the platform runs them: a service
or the gateway, were it compromised or its password leaked, can neither copy the RPC traffic of
the bus nor call another service's methods, nor read or remove another's queues and
exchanges."""

from __future__ import annotations

import uuid

import amqp.exceptions
import kombu
import pytest

RPC = kombu.Exchange("nameko-rpc", type="topic", durable=True)


def refused(uri, action):
    with kombu.Connection(uri) as conn:
        try:
            action(conn.channel())
        except amqp.exceptions.AccessRefused:
            return True
    return False


def bind(exchange, key, queue=None):
    name = queue or f"probe-{uuid.uuid4().hex[:8]}"
    return lambda channel: kombu.Queue(name, exchange, routing_key=key,
                                       auto_delete=True)(channel).declare()


def publish(exchange, key):
    def send(channel):
        kombu.Producer(channel).publish({"args": [], "kwargs": {}}, exchange=exchange,
                                        routing_key=key, serializer="json")
        channel.basic_qos(0, 1, False)   # a round trip: a refused publish closes the channel
    return send


@pytest.mark.parametrize("process", ["membership", "cycles", "gateway"])
def test_no_process_can_copy_the_rpc_traffic(platform, broker_uris, process):
    uri = broker_uris[process]
    queue = f"rpc.reply-{process}-probe"   # a queue of its own: only the binding's key differs
    for key in ("#", "*.*", "membership.*", "cycles.*", "*.get_person", str(uuid.uuid4())):
        own = key == f"{process}.*" or "-" in key
        assert refused(uri, bind(RPC, key, queue)) != own, (process, key)


def test_a_service_calls_only_the_kernels_methods_of_its_sources(platform, broker_uris):
    cycles = broker_uris["cycles"]
    assert refused(cycles, publish(RPC, "membership.get_person"))
    assert refused(cycles, publish(RPC, "membership.erase_person"))
    assert not refused(cycles, publish(RPC, "membership.ping"))
    # The gateway calls the services' methods; it serves every route.
    assert not refused(broker_uris["gateway"], publish(RPC, "membership.get_person"))
    assert refused(broker_uris["gateway"], publish(RPC, "elsewhere.get_person"))


def test_another_process_s_queues_and_exchanges_are_out_of_reach(platform, broker_uris):
    cycles, gateway = broker_uris["cycles"], broker_uris["gateway"]
    # Consuming another service's RPC queue, or its dead letters.
    for queue in ("rpc-membership", "dead-letters.membership"):
        assert refused(cycles, lambda ch, q=queue: ch.basic_get(q, no_ack=False)), queue
        assert refused(gateway, lambda ch, q=queue: ch.basic_get(q, no_ack=False)), queue
    # Declaring (and so deleting) another service's exchange, or publishing events on it.
    membership_events = kombu.Exchange("membership.events", type="topic", durable=True)
    assert refused(cycles, lambda ch: membership_events(ch).declare())
    assert refused(cycles, lambda ch: ch.exchange_delete("membership.events"))
    assert refused(cycles, publish(membership_events, "MemberEnrolled"))
    # The gateway reads no service's events at all.
    assert refused(gateway, bind(membership_events, "#"))
    # A service binds to a source's events (declared by the platform, not by it) only with
    # its own consumers' queues.
    bound = kombu.Exchange("membership.events", type="topic", durable=True, no_declare=True)
    assert refused(cycles, bind(bound, "#", queue="evt-anything"))
    assert not refused(cycles, bind(bound, "MemberEnrolled",
                                    queue="evt-membership-MemberEnrolled--cycles.probe"))


def test_a_source_with_no_process_yet_has_its_exchange_for_its_consumers(platform,
                                                                          broker_uris):
    """Resources consumes scheduling's contracts before scheduling runs: provisioning declared
    scheduling's exchange, which resources binds to (and may not declare itself)."""
    resources = broker_uris["resources"]
    scheduling = kombu.Exchange("scheduling.events", type="topic", durable=True, passive=True)
    assert not refused(resources, lambda channel: scheduling(channel).declare())
    assert not refused(resources, bind(scheduling, "ExpertSessionRequested",
                                       "evt-scheduling-ExpertSessionRequested--resources.probe"))
    assert refused(resources, lambda channel: kombu.Exchange(
        "scheduling.events", type="topic", durable=True)(channel).delete())
