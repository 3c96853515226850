"""A signed identity is good for one RPC message: the method, the message, its answer queue and
its arguments, for a minute at most; a service's own identity never spans the hubs on the
bus."""

from __future__ import annotations

import json
import time

import pytest

from eventstore.errors import Forbidden, NotFound, Unauthorized
from eventstore.identity import CALL_SECONDS, Call, Identity, call_digest, facilitators, hub_people

CALL = Call("membership.get_person", "c-1", "r-1", call_digest(["el-dorado.ana"], {}))
FACILITATOR = Identity(sub="f-1", role="facilitator", hubs=("el-dorado",))


def test_the_call_it_was_signed_for_is_accepted():
    assert Identity.from_header(FACILITATOR.to_header(CALL), CALL) == FACILITATOR


@pytest.mark.parametrize("other", [
    Call("membership.erase_person", "c-1", "r-1", CALL.arguments),
    Call("membership.get_person", "c-2", "r-1", CALL.arguments),
    Call("membership.get_person", "c-1", "r-2", CALL.arguments),
    Call("membership.get_person", "c-1", "r-1", call_digest(["el-dorado.bo"], {})),
])
def test_any_other_call_is_refused(other):
    with pytest.raises(Unauthorized, match="another call"):
        Identity.from_header(FACILITATOR.to_header(CALL), other)


def test_a_signature_lives_a_minute_at_most_and_never_past_the_token():
    body = json.loads(json.loads(FACILITATOR.to_header(CALL))["identity"])
    assert time.time() < body["exp"] <= time.time() + CALL_SECONDS + 0.001   # ms rounding
    ending = Identity(sub="f-1", role="facilitator", hubs=("el-dorado",),
                      expires=time.time() + 5)
    assert json.loads(json.loads(ending.to_header(CALL))["identity"])["exp"] <= \
        time.time() + 5.001
    spent = Identity(sub="f-1", role="facilitator", hubs=("el-dorado",),
                     expires=time.time() - 1)
    with pytest.raises(Unauthorized, match="expired"):
        Identity.from_header(spent.to_header(CALL), CALL)


def test_a_service_spans_the_hubs_only_inside_its_process():
    assert Identity.system("cycles").all_hubs
    with pytest.raises(ValueError):
        Identity.system("cycles").to_header(CALL)
    on_the_bus = Identity.service("cycles")
    assert not on_the_bus.all_hubs and not on_the_bus.may_read_hub("el-dorado")
    on_the_bus.require_platform()   # the kernel's own methods


def test_a_forged_or_widened_identity_is_refused():
    signed = json.loads(FACILITATOR.to_header(CALL))
    body = json.loads(signed["identity"])
    widened = json.dumps({**body, "hubs": ["*"]}, sort_keys=True)
    for header in (json.dumps({"identity": widened, "sig": signed["sig"]}),
                   json.dumps({"identity": signed["identity"], "sig": "é" * 64}),
                   json.dumps({"identity": signed["identity"]}), "not json", None):
        with pytest.raises(Unauthorized):
            Identity.from_header(header, CALL)


def test_the_digest_is_of_the_arguments_as_the_service_receives_them():
    assert call_digest(("a", (1, 2)), {"b": None}) == call_digest(["a", [1, 2]], {"b": None})
    assert call_digest(["a"], {}) != call_digest(["b"], {})


def test_claims_travel_unsigned_inside_a_worker_and_come_back_whole():
    assert Identity.from_claims(FACILITATOR.claims()) == FACILITATOR


# -- who may give a command (the access rules services name) ---------------------------------

class Target:
    noun = "meeting"
    id = "mtg-1"
    hub_id = "hub-a"


@pytest.mark.parametrize("role, hubs, allowed", [
    ("facilitator", ("hub-a",), True), ("member", ("hub-a",), True),
    ("admin", ("*",), True), ("facilitator", ("hub-b",), False),
    ("agency", ("hub-a",), False), ("operator", ("hub-a",), False)])
def test_a_hubs_people_act_in_it(role, hubs, allowed):
    caller = Identity(sub="x", role=role, hubs=hubs)
    if allowed:
        hub_people(caller, Target())
    else:
        with pytest.raises((Forbidden, NotFound)):
            hub_people(caller, Target())


@pytest.mark.parametrize("role, allowed", [("facilitator", True), ("admin", True),
                                           ("member", False), ("agency", False)])
def test_facilitators_of_any_hub(role, allowed):
    caller = Identity(sub="x", role=role, hubs=("hub-z",))
    if allowed:
        facilitators(caller, Target())
    else:
        with pytest.raises(Forbidden):
            facilitators(caller)
