"""The gateway's answers that no integration test can provoke honestly: a failure of the
gateway itself is a counted 500 problem, never a traceback page."""

from __future__ import annotations

import json

import pytest
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


def upload(fields):
    """A multipart request to the route that takes uploads, each field a plain (not file) one."""
    route = next(r for r in service.ROUTES if r.uploads)
    body = b"".join(f'--b0\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                    .encode() for name, value in fields.items()) + b"--b0--\r\n"
    environ = EnvironBuilder(path="/v1/members/m-1/staff-imports", method="POST", data=body,
                             content_type="multipart/form-data; boundary=b0").get_environ()
    return route, Request(environ)


def test_an_upload_sent_as_plain_fields_is_read_whole_up_to_the_routes_limit():
    route, request = upload({"orgs": "o" * 600_000, "users": "u", "dry_run": "true"})
    body = service.Gateway._body(route, request)   # werkzeug 3.1 alone stops at 500 kB
    assert len(body["orgs"]) == 600_000 and body["dry_run"] is True


def test_an_upload_of_too_many_parts_is_413_not_a_failure():
    route, request = upload({f"f{i}": "x" for i in range(1001)})
    with pytest.raises(service.PayloadTooLarge):
        service.Gateway._body(route, request)
