"""Each route of each service names the schemas its RPC loads and answers with, and honours
If-Match exactly when its command changes the object it is addressed to (a creation, or a
command that only adds something under its target, has no version to match): the route tables
and the services cannot drift apart."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from deploy.runner import existing_services, service_class
from eventstore.entrypoints import DECLARED
from eventstore.routes import service_routes

ROUTES = [route for service in existing_services() for route in service_routes(service)]


def declared(route):
    module = importlib.import_module(f"services.{route.service}.service")
    service = getattr(module, service_class(route.service))
    found = getattr(getattr(service, route.rpc), DECLARED, None)
    assert found is not None, f"{route.service}.{route.rpc} declares no command or query"
    if found.answer is None and found.body is not None or found.target is not None:
        # A command that names no answer answers the service's own (command_answer).
        found = dataclasses.replace(found, answer=found.answer or service.command_answer)
    return found


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_route_names_the_schemas_its_rpc_loads_and_answers_with(route):
    found = declared(route)
    assert route.body is found.body, (route.body, found.body)
    assert route.response is found.answer, (route.response, found.answer)
    assert route.paged == found.paged
    assert route.page_fields is found.page_fields


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method != "GET"],
                         ids=lambda r: f"{r.method} {r.path}")
def test_if_match_is_honoured_by_every_command_that_changes_its_target_and_no_other(route):
    assert route.conditional == declared(route).changes_target
