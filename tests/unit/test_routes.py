"""Route tables: each service's, loaded by the gateway by configuration, and each route
callable on its service as the gateway will call it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from marshmallow import Schema, fields

from deploy.runner import service_class
from eventstore.config import ROUTE_MODULES, gateway_services
from eventstore.routes import JSON, Route, route_module, service_routes

ROOT = Path(__file__).resolve().parents[2]
ROUTES = [r for s in gateway_services() for r in service_routes(s)]


def test_the_gateway_serves_every_service_with_a_route_table_by_default():
    assert gateway_services() == sorted(
        p.parent.name for p in ROOT.glob("services/*/routes.py"))
    assert {"membership", "cycles"} <= set(gateway_services())


def test_the_gateway_serves_only_the_services_it_is_configured_with():
    probe = ("import json, gateway.service as g; "
             "print(json.dumps([sorted({r.service for r in g.ROUTES}), "
             "[s for s in ('membership', 'cycles') if hasattr(g.Gateway, s)]]))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env={"CONSORTIUM_GATEWAY_SERVICES": "membership", "PATH": "/usr/bin"})
    # Besides the gateway's own route: the agencies' feed, over whichever services it serves.
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["gateway", "membership"],
                                                               ["membership"]]


def test_arguments_follow_from_the_route():
    from marshmallow import Schema
    paged = Route("GET", "/v1/hubs/<hub>/members", "list_members", "s", "t", paged=True)
    assert paged.arguments({"hub": "h"}, {}, 20, "m-3", JSON) == (
        ["h"], {"limit": 20, "after": "m-3"})
    body = Route("POST", "/v1/a/<x>/b/<y>", "do", "s", "t", body=Schema)
    assert body.arguments({"y": "2", "x": "1"}, {"k": 1}, 50, None, JSON) == (
        ["1", "2", {"k": 1}], {})
    picture = Route("GET", "/v1/c/<c>", "chart", "s", "t",
                    content={JSON: "json", "image/svg+xml": "svg"})
    assert picture.arguments({"c": "i"}, {}, 50, None, "image/svg+xml") == (
        ["i"], {"format": "svg"})


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_names_an_rpc_its_service_answers_with_those_arguments(route):
    module = __import__(f"services.{route.service}.service", fromlist=["_"])
    method = getattr(getattr(module, service_class(route.service)), route.rpc)
    assert getattr(method, "nameko_entrypoints", None), f"{route.rpc} is not an @rpc"
    media = next(iter(route.content))
    args, kwargs = route.arguments({p: "x" for p in route.params}, {}, 50, None, media)
    inspect.signature(method).bind(None, *args, **kwargs)


# -- query parameters, cursors and links -----------------------------------------------------

class Window(Schema):
    starts_from = fields.String(data_key="from")
    tag = fields.List(fields.String())


class Paging(Schema):
    limit = fields.String()


def test_a_query_comes_after_the_path_parameters_and_the_body_as_sent():
    search = Route("POST", "/v1/a/<x>", "do", "s", "t", body=Schema, query=Window)
    assert search.arguments({"x": "1"}, {"k": 1}, 50, None, JSON, {"from": "2027"}) == (
        ["1", {"k": 1}, {"from": "2027"}], {})
    assert search.arguments({"x": "1"}, {}, 50, None, JSON) == (["1", {}, {}], {})
    ranked = Route("GET", "/v1/hubs/<hub>/m", "m", "s", "t", query=Window, paged=True,
                   cursor="token")
    assert ranked.arguments({"hub": "h"}, {}, 20, "tok", JSON, {"tag": ["a", "b"]}) == (
        ["h", {"tag": ["a", "b"]}], {"limit": 20, "after": "tok"})
    assert ranked.query_fields().keys() == {"from", "tag"}


@pytest.mark.parametrize("declared", [
    {"cursor": "token"},                                   # a cursor of no list
    {"cursor": "rank", "paged": True},
    {"access": "anyone"},
    {"query": Paging, "paged": True},                      # limit is the gateway's
    {"access": "link", "path": "/v1/feeds/<secret>"},      # no <link> parameter
    {"access": "link", "method": "POST"},                  # a secret link never writes
    {"access": "link", "paged": True},                     # a cursor needs a caller
    {"access": "link", "conditional": True},
    {"access": "link", "body": Schema},
], ids=repr)
def test_a_route_that_cannot_be_served_as_declared_is_refused_when_its_table_loads(declared):
    given = {"method": "GET", "path": "/v1/feeds/<link>", **declared}
    with pytest.raises(ValueError):
        Route(given.pop("method"), given.pop("path"), "rpc", "s", "t", **given)


def test_a_fixtures_table_is_served_only_when_a_setting_names_its_module(monkeypatch):
    monkeypatch.delenv(ROUTE_MODULES, raising=False)
    assert route_module("desk") == "services.desk.routes"
    with pytest.raises(ModuleNotFoundError):
        service_routes("desk")
    monkeypatch.setenv(ROUTE_MODULES, " desk = tests.fixtures.desk.routes ,other=x.routes")
    assert route_module("desk") == "tests.fixtures.desk.routes"
    assert route_module("membership") == "services.membership.routes"
    assert {r.service for r in service_routes("desk")} == {"desk"}


def desk_routes(monkeypatch):
    monkeypatch.setenv(ROUTE_MODULES, "desk=tests.fixtures.desk.routes")
    return service_routes("desk")


def test_the_desk_fixture_declares_every_kind_of_route(monkeypatch):
    routes = desk_routes(monkeypatch)
    assert any(r.query for r in routes) and any(r.cursor == "token" for r in routes)
    assert any(r.access == "link" for r in routes)


def test_every_desk_route_names_an_rpc_the_desk_answers_with_those_arguments(monkeypatch):
    from tests.fixtures.desk.service import Desk
    for route in desk_routes(monkeypatch):
        method = getattr(Desk, route.rpc)
        assert getattr(method, "nameko_entrypoints", None), f"{route.rpc} is not an @rpc"
        args, kwargs = route.arguments({p: "x" for p in route.params}, {}, 50, None,
                                       next(iter(route.content)), {})
        inspect.signature(method).bind(None, *args, **kwargs)


def parameters_of(operation):
    return {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}


def test_the_document_describes_a_routes_query_cursor_and_link(monkeypatch):
    from gateway.openapi import build_spec
    document = build_spec(desk_routes(monkeypatch))
    paths = document["paths"]
    search = paths["/v1/desk/hubs/{hub}/bookings"]["get"]
    query = parameters_of(search)
    assert set(query) == {"expert", "from", "to", "status", "min_hours", "limit", "after"}
    assert query["min_hours"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 40}
    assert query["from"]["schema"]["format"] == "date-time"
    assert query["status"]["schema"]["type"] == "array" and query["status"]["explode"]
    # The cursor is a token, not an id: the id pattern would refuse what `next` gives.
    assert query["after"]["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,512}$"
    page = search["responses"]["200"]["content"][JSON]["schema"]
    assert page["properties"]["next"]["maxLength"] == 512
    feed = paths["/v1/desk/expert-bookings/{link}.txt"]["get"]
    assert feed["security"] == [] and not {"401", "403"} & set(feed["responses"])
    (secret,) = feed["parameters"]
    assert secret["schema"]["pattern"] == "^[A-Za-z0-9_-]{43}$"
    assert feed["responses"]["200"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert paths["/v1/desk/bookings/{booking}"]["get"]["security"] == [{"bearer": []}]


def test_each_lists_after_is_described_as_its_cursor_reads():
    from gateway.openapi import CURSOR_TOKEN, ID_PARAMETER, build_spec
    paged = [r for r in ROUTES if r.paged]
    assert {r.cursor for r in paged} == {"id", "token"}
    document = build_spec(ROUTES)
    for route in paged:
        after = parameters_of(document["paths"][route.openapi_path]["get"])["after"]
        assert after["schema"] == (ID_PARAMETER if route.cursor == "id" else CURSOR_TOKEN)


def test_a_page_with_fields_is_one_object_of_the_fields_items_and_cursor():
    from gateway.openapi import build_spec
    (search,) = [r for r in ROUTES if r.page_fields is not None and r.rpc == "search_resources"]
    document = build_spec(ROUTES)
    answer = document["paths"][search.openapi_path]["get"]["responses"]["200"]["content"]
    name = answer[JSON]["schema"]["$ref"].rsplit("/", 1)[1]
    page = document["components"]["schemas"][name]
    assert set(page["properties"]) == {"items", "next", "facets", "total", "total_exact"}
    assert set(page["required"]) == set(page["properties"])
    assert page["additionalProperties"] is False
