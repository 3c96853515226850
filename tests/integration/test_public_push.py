"""The agencies' push (issue 19): every service's relay publishes the public form of its events
on the public topic exchange, routed ``<state>.<service>.<type>``, and a state agency's broker
user reads its state's and nothing else: not another state's events, not a service's exchange
or queue, and it publishes nowhere. Real services, each as its own broker user; the agencies
log in as the users `make up` creates for them (tests/conftest.py: CA and NV)."""

from __future__ import annotations

import json
import uuid

import amqp.exceptions
import jsonschema
import kombu
import pytest
from cloudevents.core.formats.json import JSONFormat

from eventstore.broker import PUBLIC_EXCHANGE
from tests.integration.http import token
from tests.support import query, wait_until
from tests.unit.test_asyncapi import CLOUDEVENTS, FORMATS

PUBLIC = kombu.Exchange(PUBLIC_EXCHANGE, type="topic", durable=True, no_declare=True)
SECRETS = ("Rosa Whitehorse", "rosa.whitehorse@example.org", "Fractions stall in grade 5",
           "half of grade 5 below standard in Quincy")


def refused(uri, action):
    with kombu.Connection(uri) as conn:
        try:
            action(conn.channel())
        except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed):
            return True
    return False


def own_queue(state, key, name=None):
    name = name or f"agency-{state.lower()}.probe-{uuid.uuid4().hex[:8]}"
    return lambda channel: kombu.Queue(name, PUBLIC, routing_key=key,
                                       auto_delete=True)(channel).declare()


@pytest.fixture(scope="module")
def agency_queues(platform, broker_uris):
    """Each agency's queue, bound before anything is written (a queue gets what is published
    after it is bound; the pull feed has the past)."""
    connections = {}
    for state in ("CA", "NV"):
        conn = kombu.Connection(broker_uris[f"agency-{state.lower()}"])
        queue = kombu.Queue(f"agency-{state.lower()}.feed", PUBLIC, routing_key=f"{state}.#",
                            durable=False, exclusive=True)
        queue(conn.channel()).declare()
        connections[state] = (conn, queue)
    yield connections
    for conn, _ in connections.values():
        conn.release()


@pytest.fixture(scope="module")
def network(platform, agency_queues):
    client = platform["client"]
    for hub, state in (("push-ca", "CA"), ("push-nv", "NV")):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} county office",
                                       "state": state, "facilitator_org": "Partner"})
    member = client.ok("POST", "/v1/hubs/push-ca/members", {
        "name": "Plumas Unified", "kind": "district", "grade_span": "K-12",
        "enrollment": 1_700})["id"]
    client.ok("POST", "/v1/hubs/push-ca/members", {
        "name": "Sierra Ridge", "kind": "district", "grade_span": "K-8", "enrollment": 9})
    client.ok("POST", "/v1/hubs/push-nv/members", {
        "name": "Esmeralda County SD", "kind": "district", "grade_span": "K-12",
        "enrollment": 80})
    person = client.ok("POST", "/v1/hubs/push-ca/people", {
        "name": "Rosa Whitehorse", "email": "rosa.whitehorse@example.org"})["id"]
    client.ok("POST", f"/v1/members/{member}/roles", {"person_id": person, "role": "driver"})
    wait_until(lambda: query(platform["databases"]["cycles"],
                             "SELECT count(*) FROM directory_hubs WHERE id = 'push-ca' "
                             "AND state = 'CA'")[0][0] == 1,
               what="cycles to hear of the hub")
    client.ok("POST", "/v1/hubs/push-ca/problems", {
        "title": "Fractions stall in grade 5", "statement": "Fractions stall in grade 5",
        "supporting_data": [{"source": "CAASPP",
                             "finding": "half of grade 5 below standard in Quincy"}],
        "selection_criteria": ["shared by most members"]},
        token=token("facilitator", ["push-ca"]))
    return {"member": member, "person": person}


def received(agency_queues, state, until):
    """Messages of the agency's queue, read as that agency, until ``until(messages)``."""
    conn, queue = agency_queues[state]
    messages: list[tuple[str, dict]] = []

    def more():
        with conn.SimpleQueue(queue, no_ack=True) as simple:
            while True:
                try:
                    message = simple.get(timeout=0.2)
                except simple.Empty:
                    break
                messages.append((message.delivery_info["routing_key"],
                                 json.loads(message.body)))
        return until(messages)
    wait_until(more, what=f"{state}'s pushed events")
    return messages


def types_of(messages):
    return [event["type"].rsplit(".", 1)[1] for _, event in messages]


def test_an_agency_receives_its_states_public_events_in_each_services_order(
        platform, network, agency_queues):
    messages = received(agency_queues, "CA", lambda got: {
        "HubRegistered", "MemberEnrolled", "RoleAssigned", "ProblemDrafted"}
        <= set(types_of(got)))
    # Each as its message in the AsyncAPI document the gateway serves, and a CloudEvent by
    # the CloudEvents JSON schema.
    status, _, document = platform["client"].request("GET", "/asyncapi.json", token=None)
    assert status == 200 and document["asyncapi"] == "3.0.0"
    for key, event in messages:
        service, type_ = key.split(".")[1:]
        jsonschema.validate(event, document["components"]["schemas"][f"{service}.{type_}"],
                            format_checker=FORMATS)
        CLOUDEVENTS.validate(event)
    for key, event in messages:
        state, service, type_ = key.split(".")
        assert state == "CA" and event["type"] == f"org.consortium-platform.{service}.{type_}", key
        assert event["hub"] == "push-ca"
        read = JSONFormat().read(None, json.dumps(event))
        assert read.get_id() == event["id"] and read.get_specversion() == "1.0"
    # No person, no words a person wrote, no other state; a small enrollment suppressed.
    text = json.dumps(messages)
    assert not [s for s in SECRETS if s in text]
    assert network["person"] not in text and "push-nv" not in text
    assert "PersonAdded" not in types_of(messages)
    enrolled = [e["data"] for _, e in messages if e["type"].endswith("MemberEnrolled")]
    assert sorted(e["enrollment"] is None for e in enrolled) == [False, True]
    # The same events the pull feed gives, in the same order per service.
    pulled = platform["client"].ok("GET", "/v1/feed?limit=200",
                                   token=token("agency", state="CA"))["items"]
    by_service = {}
    for _, event in messages:
        by_service.setdefault(event["source"], []).append(event["id"])
    for source, ids in by_service.items():
        assert [e["id"] for e in pulled if e["source"] == source and e["id"] in ids] == ids


def test_another_states_agency_receives_only_its_own(platform, network, agency_queues):
    messages = received(agency_queues, "NV", lambda got: "MemberEnrolled" in types_of(got))
    assert {key.split(".")[0] for key, _ in messages} == {"NV"}
    assert "push-ca" not in json.dumps(messages)


def test_an_agency_user_binds_only_its_own_queues_to_its_own_states_events(
        platform, broker_uris):
    ca = broker_uris["agency-ca"]
    for key in ("CA.#", "CA.membership.*", "CA.scheduling.MeetingCancelled"):
        assert not refused(ca, own_queue("CA", key)), key
    # Another state's events, or every state's, through a key of its own queue.
    for key in ("NV.#", "#", "*.membership.*", "*.*.*", "CA", "NV.membership.MemberEnrolled"):
        assert refused(ca, own_queue("CA", key)), key
    # A queue by another name, or another agency's.
    assert refused(ca, own_queue("CA", "CA.#", name="evt-public-copy"))
    assert refused(ca, own_queue("CA", "CA.#", name="agency-nv.feed-copy"))


def test_an_agency_user_reads_no_service_and_publishes_nowhere(platform, broker_uris):
    ca = broker_uris["agency-ca"]
    name = f"agency-ca.probe-{uuid.uuid4().hex[:8]}"
    for exchange in ("membership.events", "nameko-rpc", "consortium.dead-letters"):
        bound = kombu.Exchange(exchange, type="topic", durable=True, no_declare=True)
        assert refused(ca, lambda ch, b=bound: kombu.Queue(
            name, b, routing_key="#", auto_delete=True)(ch).declare()), exchange
    for queue in ("rpc-membership", "dead-letters.membership"):
        assert refused(ca, lambda ch, q=queue: ch.basic_get(q, no_ack=False)), queue

    def publish(exchange, key):
        def send(channel):
            kombu.Producer(channel).publish({"forged": True}, exchange=exchange,
                                            routing_key=key, serializer="json")
            channel.basic_qos(0, 1, False)   # a round trip: a refused publish closes it
        return send
    assert refused(ca, publish(PUBLIC, "CA.membership.MemberEnrolled"))
    assert refused(ca, publish("nameko-rpc", "membership.ping"))
    assert refused(ca, publish("", "rpc-membership"))
    assert refused(ca, lambda ch: ch.exchange_delete(PUBLIC_EXCHANGE))
    # Nor may a service publish another's public events, or with another's name in the key.
    assert refused(broker_uris["cycles"], publish(PUBLIC, "CA.membership.MemberEnrolled"))
    assert not refused(broker_uris["cycles"], publish(PUBLIC, "CA.cycles.ProjectStarted"))
