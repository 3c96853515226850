"""What a careless or hostile client can reach: another county's ids, replayed or widened
identities, the kernel's RPC methods, forged events on the bus. Over HTTP where a client can
reach it, by direct RPC or a publish where the attacker is on the broker."""

from __future__ import annotations

import json
import time

import kombu
import pytest

from eventstore.errors import Forbidden, NotFound, Unauthorized
from eventstore.identity import Identity, signed_event
from eventstore.rpc import signed_rpc
from tests.integration.http import token
from tests.support import query, queue_depth, wait_until

RPC_EXCHANGE = kombu.Exchange("nameko-rpc", type="topic", durable=True)

MEMBER = {"kind": "district", "grade_span": "K-8", "enrollment": 120}


@pytest.fixture(scope="module")
def counties(platform):
    client = platform["client"]
    for hub in ("north", "south"):
        client.ok("POST", "/v1/hubs", {"id": hub, "name": f"{hub} County Office",
                                       "state": "CA", "facilitator_org": "Partner"})
    return {"north": token("facilitator", ["north"], sub="f-north"),
            "south": token("facilitator", ["south"], sub="f-south")}


def rpc(platform, identity):
    """A direct caller on the broker, as ``identity`` signed for each call (or as no one)."""
    return signed_rpc(platform["amqp"], identity, "tests", timeout=10)


def test_an_id_in_another_countys_namespace_is_refused_before_it_is_looked_up(platform,
                                                                              counties):
    client = platform["client"]
    taken = client.ok("POST", "/v1/hubs/south/members", {"id": "south.diamond", "name":
                                                          "Diamond Springs", **MEMBER},
                      token=counties["south"])
    assert taken["id"] == "south.diamond"
    # North tries south's taken id and a free one: the same answer, nothing learned.
    answers = [client.request("POST", "/v1/hubs/north/members", {"id": i, "name": "X",
                                                                  **MEMBER},
                              token=counties["north"]) for i in ("south.diamond", "south.free")]
    assert [a[0] for a in answers] == [422, 422]
    assert answers[0][2]["errors"] == answers[1][2]["errors"] == {
        "id": ["north.<name>, <name> of lower-case letters, digits and dashes"]}
    # In its own namespace, a taken id says only that: no version, no stream.
    client.ok("POST", "/v1/hubs/north/members", {"id": "north.gold", "name": "Gold Trail",
                                                 **MEMBER}, token=counties["north"])
    status, _, refused = client.request("POST", "/v1/hubs/north/members", {
        "id": "north.gold", "name": "Gold Trail", **MEMBER}, token=counties["north"])
    assert status == 409 and "version" not in json.dumps(refused)


def test_a_planted_person_id_never_reaches_another_countys_staff(platform, counties):
    client = platform["client"]
    victim = client.ok("POST", "/v1/hubs/south/members",
                       {"name": "Mother Lode Union", **MEMBER}, token=counties["south"])
    # The id a roster row of the victim will have is in the victim's namespace: north cannot
    # create it first.
    status, _, _ = client.request("POST", "/v1/hubs/north/people",
                                  {"id": "south.per-0123456789abcdef", "name": "Spy"},
                                  token=counties["north"])
    assert status == 422
    orgs = ("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
            "org-1,active,2017-08-01,Mother Lode Union,district,,\n")
    users = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,"
             "userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,"
             "grades,password\n"
             "t-1,active,2017-08-01,true,org-1,teacher,t1,,Ana,Ruiz,,,ana@ml.example,,,,,\n")
    report = client.ok("POST", f"/v1/members/{victim['id']}/staff-imports",
                       {"orgs": orgs, "users": users}, token=counties["south"])
    (imported,) = report["people"]
    assert imported["id"].startswith("south.per-") and imported["outcome"] == "imported"
    assert client.request("GET", f"/v1/people/{imported['id']}",
                          token=counties["north"])[0] == 404


def test_a_recorded_answer_is_not_replayed_to_a_caller_who_lost_access(platform, counties):
    client = platform["client"]
    body = {"name": "Pioneer Union", **MEMBER}
    first = client.ok("POST", "/v1/hubs/north/members", body, token=counties["north"],
                      headers={"Idempotency-Key": "k-pioneer"})
    again = client.ok("POST", "/v1/hubs/north/members", body, token=counties["north"],
                      headers={"Idempotency-Key": "k-pioneer"})
    assert again == first
    moved = token("facilitator", ["south"], sub="f-north")   # same person, other county now
    status, _, answer = client.request("POST", "/v1/hubs/north/members", body, token=moved,
                                       headers={"Idempotency-Key": "k-pioneer"})
    assert status == 404 and "Pioneer" not in json.dumps(answer)


@pytest.mark.parametrize("role, member", [("member", "north.m"), ("facilitator", None),
                                          ("operator", None), ("agency", None)])
def test_only_an_admin_token_may_span_every_hub(platform, role, member):
    import jwt

    from gateway import auth
    claims = {"sub": f"{role}-wide", "role": role, "hubs": ["*"], "exp": int(time.time()) + 60,
              **({"member": member} if member else {})}
    wide = jwt.encode(claims, auth.secret(), algorithm="HS256")
    status, _, answer = platform["client"].request("POST", "/v1/hubs/north/people",
                                                   {"name": "X"}, token=wide)
    assert status == 401 and "every hub" in answer["detail"]
    with pytest.raises(ValueError):
        auth.issue("x", role, ["*"], member)


def test_a_signed_identity_expires(platform):
    stale = Identity(sub="admin-1", role="admin", hubs=("*",), expires=time.time() - 1)
    with rpc(platform, stale) as cluster, pytest.raises(Unauthorized,
                                                                    match="expired"):
        cluster.membership.list_hubs()
    fresh = Identity(sub="admin-1", role="admin", hubs=("*",))
    with rpc(platform, fresh) as cluster:
        assert cluster.membership.list_hubs()["items"]
    # A facilitator's identity may not claim every hub either, however it was signed.
    wide = Identity(sub="f", role="facilitator", hubs=("*",))
    with rpc(platform, wide) as cluster, pytest.raises(Unauthorized):
        cluster.membership.list_hubs()


def test_the_kernels_rpc_methods_need_a_platform_identity(platform):
    facilitator = Identity(sub="f", role="facilitator", hubs=("north",))
    for service in ("membership", "cycles"):
        with rpc(platform, None) as cluster:
            with pytest.raises(Unauthorized):
                getattr(cluster, service).read_events([0, 0], 10)
            with pytest.raises(Unauthorized):
                getattr(cluster, service).dead_letters()
        with rpc(platform, facilitator) as cluster:
            for call in (lambda s=service: getattr(cluster, s).read_events([0, 0], 10),
                         lambda s=service: getattr(cluster, s).dead_letters(),
                         lambda s=service: getattr(cluster, s).replay_dead_letter(1),
                         lambda s=service: getattr(cluster, s).catch_up("membership")):
                with pytest.raises(Forbidden):
                    call()
    operator = Identity(sub="op", role="operator")
    with rpc(platform, operator) as cluster:
        assert cluster.membership.read_events([0, 0], 1)["events"]
        with pytest.raises(NotFound):
            cluster.membership.replay_dead_letter(999_999)


def test_a_forged_event_on_the_bus_is_a_dead_letter_and_moves_nothing(platform, counties):
    client, cycles_db = platform["client"], platform["databases"]["cycles"]
    member = client.ok("POST", "/v1/hubs/north/members", {"name": "Shenandoah", **MEMBER},
                       token=counties["north"])
    wait_until(lambda: query(cycles_db, "SELECT 1 FROM directory_members WHERE id = %s",
                             (member["id"],)), what="cycles to hear of the member")
    # Someone on the broker says the member's pre-work is complete, at a version no real
    # change will ever pass: unsigned, and signed with a made-up key.
    forged = {"source": "membership", "event_id": "00000000-0000-4000-8000-00000000f0f0",
              "position": 10**9, "tx_id": 10**9, "stream_id": member["id"],
              "stream_type": "member", "version": 10**9, "type": "MemberPreworkChanged",
              "schema_version": 1, "hub_id": "north", "data": {"ready": True, "missing": []},
              "metadata": {}, "recorded_at": "2026-11-24T00:00:00+00:00"}
    with kombu.Connection(platform["amqp"]) as conn:
        producer = kombu.Producer(conn.channel())
        for body in (forged, {**forged, "signature": "f" * 64}):
            producer.publish(body, exchange="membership.events",
                             routing_key="MemberPreworkChanged", serializer="json")
    cycles = platform["services"]["cycles"]
    letters = wait_until(lambda: [d for d in cycles.rpc("dead_letters")
                                  if d["event_id"] == forged["event_id"]] or None,
                         what="the forged events parked")
    assert all(d["reason"].startswith("ForgedEvent") for d in letters)
    assert query(cycles_db, "SELECT prework_ready, prework_version FROM directory_members "
                            "WHERE id = %s", (member["id"],)) == [(False, 0)]
    # A genuine event signed by membership still gets through (the guard did not move).
    genuine = signed_event({**forged, "event_id": "00000000-0000-4000-8000-00000000f0f1",
                            "version": 2})
    with kombu.Connection(platform["amqp"]) as conn:
        kombu.Producer(conn.channel()).publish(genuine, exchange="membership.events",
                                               routing_key="MemberPreworkChanged",
                                               serializer="json")
    wait_until(lambda: query(cycles_db, "SELECT prework_version FROM directory_members "
                                        "WHERE id = %s", (member["id"],)) == [(2,)],
               what="the genuine event applied")


def test_an_unknown_member_and_another_countys_answer_alike_and_at_once(platform, counties):
    client = platform["client"]
    south = client.ok("POST", "/v1/hubs/south/members", {"name": "Indian Diggings", **MEMBER},
                      token=counties["south"])
    wait_until(lambda: query(platform["databases"]["cycles"],
                             "SELECT 1 FROM directory_members WHERE id = %s",
                             (south["id"],)),
               what="cycles to hear of the member")
    answers, seconds = {}, {}
    for member_id in (south["id"], "mem-000000000000"):
        started = time.monotonic()
        status, _, body = client.request("POST", f"/v1/members/{member_id}/projects",
                                         {"problem_id": "north.p"}, token=counties["north"])
        seconds[member_id] = time.monotonic() - started
        answers[member_id] = (status, body["detail"].replace(member_id, "<id>"))
    assert answers[south["id"]] == answers["mem-000000000000"] == (404, "no member <id>")
    # No wait for news of a member the caller names (it used to be up to 3 s for an unknown
    # one, and instant for another county's): neither answer waits on the client's word.
    assert max(seconds.values()) < 1.5, seconds


def test_another_countys_objects_and_missing_ones_answer_alike_on_every_route(platform,
                                                                               counties):
    """Each route that names an object, asked by another county about one that exists and
    about one that does not: the same status and the same problem, word for word but for the
    id, so the answer tells nothing of what another county has."""
    from tests.integration.test_cycles_http import known_to_cycles, problem
    client, south = platform["client"], counties["south"]
    member = client.ok("POST", "/v1/hubs/south/members", {"id": "south.placer", "name":
                                                           "Placer Hills", **MEMBER},
                       token=south)
    person = client.ok("POST", "/v1/hubs/south/people", {"id": "south.ana", "name": "Ana"},
                       token=south)
    known_to_cycles(client, "south", member["id"])
    drafted = problem(client, south, "Math persistence", "Too few persist", hub="south")
    client.ok("POST", f"/v1/problems/{drafted['id']}/ratification", {}, token=south)
    project = client.ok("POST", f"/v1/members/{member['id']}/projects",
                        {"id": "south.placer-math", "problem_id": drafted["id"]}, token=south)
    goal = {"kind": "impact", "statement": "more persist", "measure": "exit tickets",
            "unit": "%", "baseline": 30, "target": 50, "due": "2030-06-30"}
    routes = [  # (method, path with {id}, body, an existing id of south's, a missing one)
        ("GET", "/v1/hubs/{id}", None, "south", "east"),
        ("POST", "/v1/hubs/{id}/facilitation", {"stage": "co_facilitation"}, "south", "east"),
        ("POST", "/v1/hubs/{id}/people", {"name": "X"}, "south", "east"),
        ("GET", "/v1/members/{id}", None, member["id"], "south.nowhere"),
        ("GET", "/v1/members/{id}/readiness", None, member["id"], "south.nowhere"),
        ("POST", "/v1/members/{id}/offboarding", {"reason": "x"}, member["id"],
         "south.nowhere"),
        ("POST", "/v1/members/{id}/onboarding", {}, member["id"], "south.nowhere"),
        ("POST", "/v1/members/{id}/roles", {"person_id": person["id"], "role": "driver"},
         member["id"], "south.nowhere"),
        ("POST", "/v1/members/{id}/projects", {"problem_id": drafted["id"]}, member["id"],
         "south.nowhere"),
        ("GET", "/v1/people/{id}", None, person["id"], "south.nobody"),
        ("DELETE", "/v1/people/{id}", None, person["id"], "south.nobody"),
        ("GET", "/v1/problems/{id}", None, drafted["id"], "pop-000000000000"),
        ("POST", "/v1/problems/{id}/ratification", {}, drafted["id"], "pop-000000000000"),
        ("GET", "/v1/projects/{id}", None, project["id"], "south.no-project"),
        ("POST", "/v1/projects/{id}/goals", goal, project["id"], "south.no-project"),
        ("POST", "/v1/projects/{id}/phase", {"phase": "discover"}, project["id"],
         "south.no-project"),
    ]
    for method, path, body, taken, free in routes:
        answers = []
        for object_id in (taken, free):
            status, _, answer = client.request(method, path.format(id=object_id), body,
                                               token=counties["north"])
            answer.pop("request_id")
            answers.append((status, json.dumps(answer).replace(object_id, "<id>")))
        assert answers[0] == answers[1], (method, path, answers)
        assert answers[0][0] == 404, (method, path, answers)


def test_ids_in_a_body_tell_nothing_of_another_countys_objects(platform, counties):
    """A body that names another county's object (a person to give a role, a problem to
    adopt) gets the answer a missing one gets, word for word but for the id: whether its id
    is in that county's namespace (refused before anything is looked up) or the server's."""
    from tests.integration.test_cycles_http import known_to_cycles, problem
    client, north, south = platform["client"], counties["north"], counties["south"]
    own = client.ok("POST", "/v1/hubs/north/members", {"name": "Gold Hill", **MEMBER},
                    token=north)
    known_to_cycles(client, "north", own["id"])
    named = client.ok("POST", "/v1/hubs/south/people", {"id": "south.bea", "name": "Bea"},
                      token=south)
    unnamed = client.ok("POST", "/v1/hubs/south/people", {"name": "Cy"}, token=south)
    known_to_cycles(client, "south")
    theirs = problem(client, south, "Attendance", "Too many miss school", hub="south")
    client.ok("POST", f"/v1/problems/{theirs['id']}/ratification", {}, token=south)
    chosen = client.ok("POST", "/v1/hubs/south/problems", {
        "id": "south.reading", "title": "Reading", "statement": "Too few read by spring",
        "supporting_data": [{"source": "DIBELS", "finding": "below benchmark"}],
        "selection_criteria": ["shared"]}, token=south)
    client.ok("POST", f"/v1/problems/{chosen['id']}/ratification", {}, token=south)
    cases = [  # (path, body with {id}, another county's id, a missing one)
        (f"/v1/members/{own['id']}/roles", {"person_id": "{id}", "role": "driver"},
         named["id"], "south.nobody"),
        (f"/v1/members/{own['id']}/roles", {"person_id": "{id}", "role": "driver"},
         unnamed["id"], "per-000000000000"),
        (f"/v1/members/{own['id']}/projects", {"problem_id": "{id}"}, theirs["id"],
         "pop-000000000000"),
        (f"/v1/members/{own['id']}/projects", {"problem_id": "{id}"}, chosen["id"],
         "south.no-problem"),
    ]
    for path, body, theirs_id, missing in cases:
        answers = []
        for object_id in (theirs_id, missing):
            sent = json.loads(json.dumps(body).replace("{id}", object_id))
            status, _, answer = client.request("POST", path, sent, token=north)
            answer.pop("request_id")
            answers.append((status, json.dumps(answer).replace(object_id, "<id>")))
        assert answers[0] == answers[1], (path, answers)
        assert answers[0][0] == 404, (path, answers)


def spy_on_rpc(amqp_uri, name):
    """A queue that copies every RPC message on the bus: what a broker user who may bind the
    RPC exchange would see (a service's own broker user may not: test_broker_users)."""
    with kombu.Connection(amqp_uri) as conn:
        kombu.Queue(name, kombu.Exchange("nameko-rpc", type="topic", durable=True),
                    routing_key="#", auto_delete=False)(conn.channel()).declare()


def copied(amqp_uri, queue):
    """Every message the spy copied, by method: [(body, headers, properties)]."""
    found: dict[str, list] = {}
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            found.setdefault(message.delivery_info["routing_key"], []).append(
                (json.loads(message.body), dict(message.headers), dict(message.properties)))
    return found


def send_as(amqp_uri, method, args, headers, correlation_id, reply_to=None):
    """Publish an RPC message as an attacker would, with headers copied from the bus, and
    wait for the answer on a queue of the attacker's own (or send it to ``reply_to``)."""
    import uuid
    answers = f"spy-answers-{uuid.uuid4().hex[:8]}"
    key = reply_to or str(uuid.uuid4())
    exchange = kombu.Exchange("nameko-rpc", type="topic", durable=True)
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = kombu.Queue(answers, exchange, routing_key=key, exclusive=True)(channel)
        queue.declare()
        kombu.Producer(channel).publish(
            {"args": args, "kwargs": {}}, exchange=exchange, routing_key=method,
            headers=headers, reply_to=key, correlation_id=correlation_id,
            serializer="json")
        if reply_to is not None:
            return None
        message = wait_until(lambda: channel.basic_get(answers, no_ack=True), timeout=15,
                             what=f"an answer from {method}")
        return json.loads(message.body)


def test_an_identity_copied_from_the_bus_opens_nothing_else(platform, counties):
    """The identity of a county's request and a service's catch-up identity, copied off the
    broker, each fail for any other method, other arguments, another answer queue or
    another message; a service's identity opens the kernel's methods and no hub's objects."""
    amqp, client = platform["amqp"], platform["client"]
    spy = "spy-rpc-identities"
    spy_on_rpc(amqp, spy)
    person = client.ok("POST", "/v1/hubs/north/people", {"name": "Dee"},
                       token=counties["north"])
    client.ok("GET", "/v1/hubs/north", token=counties["north"])
    platform["services"]["cycles"].rpc("catch_up", "membership",
                                       caller=Identity(sub="op", role="operator"))
    seen = copied(amqp, spy)
    county_body, county_headers, county_props = seen["membership.get_hub"][0]
    catch_ups = seen["membership.read_events"]
    assert county_headers.get("nameko.identity") and catch_ups
    service_body, service_headers, service_props = catch_ups[0]
    assert json.loads(json.loads(service_headers["nameko.identity"])["identity"])["hubs"] == []

    def refused(answer):
        return answer["error"]["exc_type"] == "Unauthorized"

    # The county's identity: another method, other arguments, its own answer queue.
    assert refused(send_as(amqp, "membership.get_person", [person["id"]], county_headers,
                           county_props["correlation_id"]))
    assert refused(send_as(amqp, "membership.get_hub", ["south"], county_headers,
                           county_props["correlation_id"]))
    assert refused(send_as(amqp, "membership.get_hub", county_body["args"], county_headers,
                           county_props["correlation_id"]))
    # The catch-up's identity: any hub's objects, or the log again under another message id.
    for method, args in (("membership.get_person", [person["id"]]),
                         ("membership.erase_person", [person["id"]]),
                         ("membership.read_events", service_body["args"])):
        assert refused(send_as(amqp, method, args, service_headers,
                               service_props["correlation_id"] + "-again")), method
    # Even signed for the very call, a service's identity names no hub: it is refused a
    # person's data as another county would be, and takes the kernel's methods only.
    cycles = Identity.service("cycles")
    with signed_rpc(amqp, cycles, "tests", timeout=10) as cluster:
        with pytest.raises(NotFound):
            cluster.membership.get_person(person["id"])
        with pytest.raises(NotFound):
            cluster.membership.erase_person(person["id"])
        assert cluster.membership.read_events([0, 0], 1)["events"]
    assert client.ok("GET", f"/v1/people/{person['id']}", token=counties["north"])["name"] \
        == "Dee"


def test_an_anonymous_readiness_probe_puts_no_identity_on_the_bus(platform):
    spy = "spy-rpc-readiness"
    spy_on_rpc(platform["amqp"], spy)
    probes: list = []

    def probed():
        # The gateway answers from a readiness cached for a moment: probe until it asks.
        assert platform["client"].request("GET", "/readyz", token=None)[0] == 200
        seen = copied(platform["amqp"], spy)
        probes.extend(m for service in platform["services"]
                      for m in seen.get(f"{service}.ping", []))
        return len(probes) >= len(platform["services"])

    wait_until(probed, what="the gateway to ping every service", interval=0.5)
    assert not any("nameko.identity" in headers for _, headers, _ in probes)


def test_no_message_on_the_rpc_exchange_stops_a_service(platform):
    """Requests any broker user that may call a service can publish: with no answer queue,
    no id, a body that is not JSON or not a request, for a method that does not exist. Each
    used to reach nameko's answering code, which raised and stopped the whole service; and
    the message, requeued, stopped it again at every restart."""
    amqp, membership = platform["amqp"], platform["membership"]
    hostile = [  # (method, body, properties)
        ("membership.get_person", {"args": [], "kwargs": {}}, {}),
        ("membership.no_such_method", {"args": [], "kwargs": {}}, {}),
        ("membership.get_hub", {"args": ["north"], "kwargs": {}}, {"reply_to": "r"}),
        ("membership.get_hub", {"args": ["north"], "kwargs": {}}, {"correlation_id": "c"}),
        ("membership.get_hub", b"\xff not json", {"reply_to": "r", "correlation_id": "c"}),
        ("membership.get_hub", ["not", "a", "request"], {"reply_to": "r",
                                                        "correlation_id": "c"}),
        ("membership.get_hub", {"args": "north", "kwargs": []}, {"reply_to": "r",
                                                               "correlation_id": "c"}),
    ]
    with kombu.Connection(amqp) as conn:
        producer = kombu.Producer(conn.channel())
        for method, body, properties in hostile:
            if isinstance(body, bytes):
                producer.publish(body, exchange=RPC_EXCHANGE, routing_key=method,
                                 content_type="application/json", content_encoding="utf-8",
                                 **properties)
            else:
                producer.publish(body, exchange=RPC_EXCHANGE, routing_key=method,
                                 serializer="json", **properties)
    wait_until(lambda: queue_depth(amqp, "rpc-membership") == 0,
               what="membership to take every hostile request")
    assert membership.alive(), membership.output()[-2000:]
    assert membership.rpc("ping") == {"ok": True}
    assert membership.rpc("list_hubs")["items"] is not None
