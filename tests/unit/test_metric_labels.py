"""No client can mint metric series: every label of every metric of the kernel and the gateway
takes its values from a bounded set the code chooses (issue 15: a made-up HTTP method per
request once cost hundreds of MB and 10 s of CPU per scrape)."""

from __future__ import annotations

import importlib
import pkgutil
import re

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from werkzeug.routing import Map, Rule
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

import eventstore
import gateway
import services
from gateway import service

# Every label name a metric may have, and where its values come from. A new label is added
# here only with the reason its values are bounded: never a path, an id, a method token or
# any other text a client sends.
BOUNDED_LABELS = {
    "service": "the process's nameko service name (code: the service class's name)",
    "stream_type": "an aggregate class's stream_type (code)",
    "kind": 'a relay failure: "database" or "broker" (eventstore/relay.py)',
    "consumer": "a consumer's name: its service and handler function (code)",
    "outcome": 'a consumed event: "handled", "duplicate" or "failed" (eventstore/commands.py)',
    "queue": "a consumer's queue, named from service, source, event type and handler (code)",
    "source": "a service a consumer listens to (its @consumes declarations)",
    "projection": "a projection's name (code)",
    "route": 'a route template of the gateway\'s route tables, or "unmatched" (never a path)',
    "method": 'an HTTP method HTTP defines (gateway.service.KNOWN_METHODS), or "other"',
    "status": "the status code of an answer the gateway chose (its own classes, 100-599)",
}


def _import_everything() -> None:
    """Every module of the kernel, the gateway and the services, so every metric they define
    is registered."""
    for package in (eventstore, gateway, services):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)


def metrics() -> list[MetricWrapperBase]:
    _import_everything()
    return [c for c in list(REGISTRY._collector_to_names)  # noqa: SLF001 - no public listing
            if isinstance(c, MetricWrapperBase)]


def test_every_label_of_every_metric_takes_values_from_a_bounded_set():
    found = {m._name: m._labelnames for m in metrics()}  # noqa: SLF001
    assert {"gateway_http_requests", "eventstore_events_appended", "relay_errors",
            "consumer_events"} <= set(found)   # counters' names, without _total
    unbounded = {name: [label for label in labels if label not in BOUNDED_LABELS]
                 for name, labels in found.items()}
    assert {name: labels for name, labels in unbounded.items() if labels} == {}


ROUTE_LABELS = {route.path for route in service.ROUTES} | {"unmatched"}
METHOD_LABELS = service.KNOWN_METHODS | {"other"}


def _gateway_series() -> set[tuple[str, ...]]:
    series = set()
    for metric in (service.HTTP_REQUESTS, service.HTTP_SECONDS):
        series |= set(metric._metrics)  # noqa: SLF001 - the label values of each child
    return series


def _outside_bounds(series: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [labels for labels in series
            if labels[0] not in ROUTE_LABELS or labels[1] not in METHOD_LABELS
            or (len(labels) > 2 and not re.fullmatch(r"[1-5]\d\d", labels[2]))]


class Answering:
    """The gateway's worker side, answering without a service behind it."""

    def _answer(self, route, params, request):
        return Response("{}", content_type="application/json")


class Endpoint:
    """The one API entrypoint, as nameko's WSGI app sees it, run in place."""

    method_name = "api"

    def handle_request(self, request):
        request.shallow = False
        return service.Gateway.api(Answering(), request, request.path.lstrip("/"))


class Server:
    def make_url_map(self):
        return Map([Rule("/<path:path>", endpoint=Endpoint(),
                         methods=["GET", "POST", "DELETE", "PUT", "PATCH"])])


def test_made_up_methods_and_paths_add_no_series_and_unknown_methods_are_501():
    client = Client(service.ProblemsWsgiApp(Server()))
    for n in range(50):
        answer = client.open(f"/made/up/{n}", method=f"FOO{n}")
        assert answer.status_code == 501, answer.get_data()
        assert answer.content_type == "application/problem+json"
        assert client.open(f"/v1/made-up-{n}/x", method="GET").status_code == 404
        assert client.open(f"/made/up/{n}", method="OPTIONS").status_code == 405
    # The worker side too, whatever reaches it.
    for n in range(50):
        request = Request(EnvironBuilder(path=f"/v1/hubs/h{n}", method=f"BAR{n}").get_environ())
        request.environ["request_id"] = f"r-{n}"
        service.Gateway.api(Answering(), request, f"v1/hubs/h{n}")
    series = _gateway_series()
    assert ("unmatched", "other", "501") in series
    assert _outside_bounds(series) == []
