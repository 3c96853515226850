"""What the gateway does with a route's query, its opaque cursor and its secret link, before
and while it calls the service: checked against a recording stand-in for the service, on the
desk fixture's route table."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from eventlet.semaphore import Semaphore
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from eventstore import cursors
from eventstore.config import ROUTE_MODULES
from eventstore.errors import ServiceUnavailable, Unauthorized, ValidationError
from eventstore.identity import CONTEXT_KEY
from eventstore.routes import service_routes
from gateway import auth, service

# Issued when the module is imported, long before its tests run in a full suite: a day.
FACILITATOR = auth.issue("ana", "facilitator", ["el-dorado"], ttl_seconds=86400)


@pytest.fixture
def routes(monkeypatch):
    monkeypatch.setenv(ROUTE_MODULES, "desk=tests.fixtures.desk.routes")
    return {route.rpc: route for route in service_routes("desk")}


class Desk:
    """The gateway's proxy of the desk, recording what it is called with."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def __getattr__(self, rpc):
        return lambda *args, **kwargs: self.calls.append((rpc, args, kwargs)) or self.answer


class Gateway:
    _body = staticmethod(service.Gateway._body)

    def __init__(self, answer=None):
        self.desk = Desk(answer if answer is not None else {"items": [], "next": None})
        self.identities = []

    def set_context(self, identity, key, if_match):
        self.identities.append(identity)


def ask(gateway, route, params, path, query="", token=FACILITATOR):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = Request(EnvironBuilder(path=path, query_string=query, headers=headers)
                      .get_environ())
    return service.Gateway._answer(gateway, route, params, request)


def test_a_query_reaches_the_rpc_after_the_path_parameters_as_sent(routes):
    gateway = Gateway()
    ask(gateway, routes["hub_bookings"], {"hub": "el-dorado"}, "/v1/desk/hubs/el-dorado/bookings",
        "expert=el-dorado.x&status=requested&status=confirmed&min_hours=2&limit=5")
    assert gateway.desk.calls == [("hub_bookings", ("el-dorado", {
        "expert": "el-dorado.x", "status": ["requested", "confirmed"], "min_hours": "2"}),
        {"limit": 5, "after": None})]


@pytest.mark.parametrize(("query", "named"), [
    ("min_hours=two", {"min_hours"}),
    ("from=2027-02-09T09:00:00", {"from"}),                     # no offset: no instant
    ("from=2027-02-10T00:00:00Z&to=2027-02-09T00:00:00Z", {"to"}),
    ("expert=a&expert=b", {"expert"}),
    ("sort=start&status=lost", {"sort", "status.0"}),
])
def test_a_bad_query_is_422_naming_each_parameter_and_the_service_is_not_called(
        routes, query, named):
    gateway = Gateway()
    with pytest.raises(ValidationError) as refused:
        ask(gateway, routes["hub_bookings"], {"hub": "h"}, "/v1/desk/hubs/h/bookings", query)
    assert set(refused.value.errors) == named
    assert gateway.desk.calls == []


def test_a_cursor_route_takes_a_token_where_an_id_route_takes_an_id(routes):
    token = cursors.encode("any", {"at": "2027-02-09T17:00:00+00:00", "id": "b-1"},
                           service.Identity(sub="s", role="admin"))
    gateway = Gateway()
    ask(gateway, routes["hub_bookings"], {"hub": "h"}, "/", f"after={token}")
    assert gateway.desk.calls[0][2]["after"] == token
    for bad in ("a.b", "x" * 513, "abc%3D"):
        with pytest.raises(ValidationError) as refused:
            ask(gateway, routes["hub_bookings"], {"hub": "h"}, "/", f"after={bad}")
        assert list(refused.value.errors) == ["after"]
    # An id list keeps its id cursor: a token there is refused, as before.
    members = next(r for r in service.ROUTES if r.rpc == "list_members")
    with pytest.raises(ValidationError):
        ask(gateway, members, {"hub": "h"}, "/", f"after={token}")


def test_a_link_route_reads_no_token_and_calls_the_service_as_no_one(routes):
    gateway = Gateway(answer="2027-02-09T17:00:00+00:00 ...\n")
    secret = "s" * 43
    answer = ask(gateway, routes["expert_bookings_text"], {"link": secret},
                 f"/v1/desk/expert-bookings/{secret}.txt", token=None)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert gateway.identities == [None]
    assert gateway.desk.calls == [("expert_bookings_text", (secret,), {})]
    # A token sent along changes nothing: the link is the whole of the access.
    ask(gateway, routes["expert_bookings_text"], {"link": secret}, "/", token=FACILITATOR)
    assert gateway.identities == [None, None]


def test_a_token_route_still_needs_a_token(routes):
    with pytest.raises(Unauthorized):
        ask(Gateway(), routes["get_booking"], {"booking": "b-1"}, "/", token=None)


def test_a_link_routes_call_carries_no_identity_and_a_token_routes_does():
    worker = SimpleNamespace(data={})
    service.Context().get_dependency(worker)(None, None, None)
    assert CONTEXT_KEY not in worker.data
    identity = auth.authenticate(f"Bearer {FACILITATOR}")
    service.Context().get_dependency(worker)(identity, None, None)
    assert json.loads(worker.data[CONTEXT_KEY])["sub"] == "ana"


def test_requests_without_a_token_beyond_the_link_slots_are_503_before_a_worker(monkeypatch):
    monkeypatch.setattr(service, "_LINKS", Semaphore(1))
    first, second = {}, {}
    service._take_link_slot(first)
    with pytest.raises(ServiceUnavailable):
        service._take_link_slot(second)
    assert first[service.LINK_SLOT] and service.LINK_SLOT not in second


def test_the_access_log_never_holds_a_links_secret(routes, monkeypatch):
    monkeypatch.setattr(service, "LINK_PATHS",
                        [service._link_pattern(r) for r in routes.values()
                         if r.access == "link"])
    secret = "Zx9_-" + "a" * 38
    line = (f'127.0.0.1 - - [04/Dec/2026 10:01:23] "GET /v1/desk/expert-bookings/{secret}.txt'
            f'?x=1 HTTP/1.1" 200 12 0.01')
    record = logging.LogRecord("nameko.web.server", logging.INFO, "", 0, line, None, None)
    assert service.SecretLinksHidden().filter(record)
    assert secret not in record.getMessage()
    assert "/v1/desk/expert-bookings/<link>.txt?x=1" in record.getMessage()
    other = '"GET /v1/desk/bookings/b-1 HTTP/1.1" 200'
    assert service.hide_secrets(other) == other
