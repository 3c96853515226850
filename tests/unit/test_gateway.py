"""The gateway's answers that no integration test can provoke honestly: a failure of the
gateway itself is a counted 500 problem, never a traceback page."""

from __future__ import annotations

import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import service


class Broken:
    """A gateway whose answering fails in a way no client input should reach."""

    def _answer(self, route, params, request):
        raise RuntimeError("a bug")


def count(status):
    return service.HTTP_REQUESTS.labels("/v1/hubs", "GET", status)._value.get()


def test_a_failure_of_the_gateway_is_a_counted_500_problem():
    before = count("500")
    request = Request(EnvironBuilder(path="/v1/hubs", method="GET").get_environ())
    request.environ["request_id"] = "r-1"
    answer = service.Gateway.api(Broken(), request, "v1/hubs")
    assert answer.status_code == 500
    assert answer.content_type == "application/problem+json"
    body = json.loads(answer.get_data())
    assert body["request_id"] == "r-1" and "a bug" not in body["detail"]
    assert count("500") == before + 1


def test_a_503_says_when_to_try_again():
    answer = service.problem(service.ServiceUnavailable("down"), "r-2")
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert answer.headers["X-Request-ID"] == "r-2"
