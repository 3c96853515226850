"""Route tables: each service's, loaded by the gateway by configuration, and each route
callable on its service as the gateway will call it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.runner import service_class
from eventstore.config import gateway_services
from eventstore.routes import JSON, Route, service_routes

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
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["membership"], ["membership"]]


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
