"""What each process's broker user may name (eventstore/broker.py), checked the way RabbitMQ
checks it: each pattern against a resource's whole name or a routing key."""

from __future__ import annotations

import re
import uuid

from eventstore.broker import broker_users, gateway_user, service_user

CYCLES = service_user("cycles", ["membership"])


def allowed(pattern, name):
    return re.search(pattern, name) is not None


def test_a_service_configures_and_writes_its_own_exchanges_and_queues_only():
    own = ["cycles.events", "rpc-cycles", "rpc.reply-cycles-catch-up-1f2e",
           "evt-membership-MemberEnrolled--cycles.on_member_enrolled", "dead-letters.cycles",
           "nameko-rpc", "cycles.replays", "consortium.dead-letters"]
    others = ["membership.events", "rpc-membership", "rpc.reply-membership-x",
              "evt-membership-MemberEnrolled--membership.x", "dead-letters.membership",
              "amq.default", "", "cycles.events.evil", "xrpc-cycles"]
    for name in own:
        assert allowed(CYCLES.configure, name) and allowed(CYCLES.write, name), name
    for name in others:
        assert not allowed(CYCLES.configure, name) and not allowed(CYCLES.write, name), name


def test_a_service_reads_its_sources_events_and_no_one_elses():
    assert allowed(CYCLES.read, "membership.events")
    assert not allowed(CYCLES.read, "scheduling.events")
    assert not allowed(CYCLES.read, "rpc-membership")
    assert not allowed(service_user("membership", []).read, "cycles.events")


def test_on_the_rpc_exchange_a_service_binds_its_own_methods_and_answers():
    publish, bind = CYCLES.topics["nameko-rpc"]
    answer = str(uuid.uuid4())
    assert allowed(bind, "cycles.*") and allowed(bind, answer)
    for key in ("#", "*.*", "membership.*", "cycles.#", "cycles.get_project"):
        assert not allowed(bind, key), key
    assert allowed(publish, answer) and allowed(publish, "membership.read_events")
    assert allowed(publish, "cycles.catch_up")
    for key in ("membership.get_person", "membership.erase_person", "scheduling.read_events"):
        assert not allowed(publish, key), key


def test_the_gateway_calls_the_services_it_serves_and_reads_only_its_answers():
    gateway = gateway_user(["membership", "cycles"])
    publish, bind = gateway.topics["nameko-rpc"]
    assert allowed(publish, "membership.get_person") and allowed(publish, "cycles.ping")
    assert not allowed(publish, "billing.get_person") and not allowed(publish, "#")
    assert allowed(bind, str(uuid.uuid4())) and not allowed(bind, "membership.*")
    assert not allowed(gateway.read, "membership.events")
    assert allowed(gateway.configure, "rpc.reply-gateway-5f1c")


def test_every_process_has_a_user_of_its_own():
    users = broker_users({"membership": ["cycles"], "cycles": ["membership"]})
    assert [u.name() for u in users] == ["consortium-cycles", "consortium-membership",
                                         "consortium-gateway"]
