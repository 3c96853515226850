"""Every answer is what it says it is: problem+json for every refusal, 405 with Allow for a
wrong method, 4xx (never 500) for anything a client can send, strict types, every bad field in
one answer, and a request id a county office can quote, found in every log line of the
request and on the events it caused."""

from __future__ import annotations

import json
import urllib.request
import uuid

from tests.integration.http import ADMIN, token
from tests.support import query, wait_until

MEMBER = {"name": "Buckeye Union", "kind": "district", "grade_span": "K-8",
          "enrollment": 5101}


def raw(platform, method, path, data=None, headers=None):
    """A request as sent, without the test client's help (and without its schema checks)."""
    request = urllib.request.Request(platform["client"].base + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {ADMIN}",
                                              "Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, _lower(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, _lower(refused.headers), refused.read()


def _lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def problem_of(answer):
    status, headers, body = answer
    assert headers["content-type"] == "application/problem+json", (status, headers, body)
    document = json.loads(body)
    assert document["status"] == status and document["request_id"] == headers["x-request-id"]
    return document


def test_what_a_careless_client_sends_is_a_4xx_problem(platform):
    client = platform["client"]
    client.ok("POST", "/v1/hubs", {"id": "answers", "name": "Answers County", "state": "CA",
                                   "facilitator_org": "Partner"})
    member = client.ok("POST", "/v1/hubs/answers/members", MEMBER)
    deep = ("[" * 2000 + "]" * 2000).encode()
    for method, path, data, status in [
        ("GET", "/v1//hubs", None, 404),                                  # no redirect
        ("GET", "/v1/cycles/%0Aabc/measurements", None, 404),             # a control character
        ("GET", "/nowhere/at/all", None, 404),
        ("POST", "/v1/hubs/answers/members", deep, 422),                  # nested 2,000 deep
        ("POST", "/v1/hubs/answers/members",
         b'{"name": "\\ud800", "kind": "district", "grade_span": "K-8", "enrollment": 5}',
         422),                                                            # a lone surrogate
        ("POST", f"/v1/hubs/{member['id']}/facilitation",
         b'{"stage": "co_facilitation"}', 404),                           # a member as a hub
        ("POST", "/v1/members/answers/offboarding", b'{"reason": "x"}', 404),  # a hub as a member
    ]:
        answer = raw(platform, method, path, data)
        assert answer[0] == status, (path, answer)
        problem_of(answer)
    assert query(platform["databases"]["membership"],
                 "SELECT count(*) FROM events WHERE stream_id = 'answers'") == [(1,)]
    surrogate = problem_of(raw(platform, "POST", "/v1/hubs/answers/people",
                               b'{"name": "Ana \\udc00"}'))
    assert surrogate["errors"] == {"name": ["contains a lone surrogate (not text)"]}


def test_a_wrong_method_is_405_with_the_methods_allowed(platform):
    for method, path, allowed in [("PUT", "/v1/hubs", {"GET", "POST"}),
                                  ("DELETE", "/v1/hubs/x", {"GET"}),
                                  ("OPTIONS", "/v1/hubs", {"GET", "POST"}),
                                  ("PATCH", "/v1/people/x", {"GET", "DELETE"})]:
        answer = raw(platform, method, path)
        assert answer[0] == 405, (method, path, answer)
        assert set(answer[1]["allow"].split(", ")) - {"HEAD"} == allowed
        problem_of(answer)


def test_every_field_is_strict_and_every_bad_one_is_named_at_once(platform):
    client = platform["client"]
    status, _, refused = client.request("POST", "/v1/hubs/answers/members", {
        "name": "X", "kind": "bogus", "grade_span": "8-K", "enrollment": "5101"})
    assert status == 422
    assert set(refused["errors"]) == {"kind", "grade_span", "enrollment"}
    for path, body, field in [
        ("/v1/projects/p/goals", {"kind": "impact", "statement": "a b c", "measure": "m",
                                  "baseline": "31", "target": 40, "due": "2030-01-01"},
         "baseline"),
        ("/v1/prototypes/p/selection", {"criteria": [{"criterion": "c", "met": "yes"}]},
         "criteria.0.met"),
        ("/v1/hubs/answers/members", {**MEMBER, "enrollment": True}, "enrollment"),
        ("/v1/problems/p/ratification", {"votes_for": 3.0}, "votes_for"),
    ]:
        status, _, refused = client.request("POST", path, body)
        assert status == 422 and field in refused["errors"], (path, refused)


def test_a_request_id_follows_the_request_into_every_log_and_event(platform):
    client = platform["client"]
    rid = f"county-{uuid.uuid4().hex[:8]}"
    status, headers, created = client.request("POST", "/v1/hubs/answers/members",
                                              {**MEMBER, "name": "Traced Union"},
                                              headers={"X-Request-ID": rid})
    assert status == 201 and headers["x-request-id"] == rid
    assert query(platform["databases"]["membership"],
                 "SELECT metadata->>'correlation_id' FROM events WHERE stream_id = %s",
                 (created["id"],)) == [(rid,)]
    refused = f"county-{uuid.uuid4().hex[:8]}"
    status, headers, body = client.request("POST", f"/v1/members/{created['id']}/roles",
                                           {"person_id": "answers.nobody", "role": "driver"},
                                           headers={"X-Request-ID": refused})
    assert status == 404 and body["request_id"] == refused
    membership = platform["services"]["membership"]
    wait_until(lambda: f"[{refused}] refused" in membership.output(),
               what="the service's log line of the refused request")
    # A request id the client does not send, or cannot be quoted, is made by the gateway.
    _, headers, _ = client.request("GET", "/v1/hubs/answers",
                                   headers={"X-Request-ID": "bad id\twith tab"})
    assert len(headers["x-request-id"]) == 32 and " " not in headers["x-request-id"]


def test_refusals_are_counted_by_status(platform):
    client = platform["client"]

    def count(status):
        _, _, text = client.request("GET", "/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("gateway_http_requests_total{")
                   and f'status="{status}"' in line)

    before = {s: count(s) for s in ("404", "405", "422")}
    raw(platform, "GET", "/v1/cycles/%0A/measurements")
    raw(platform, "PUT", "/v1/hubs")
    raw(platform, "POST", "/v1/hubs", b"{not json")
    assert {s: count(s) - before[s] for s in before} == {"404": 1, "405": 1, "422": 1}


def test_made_up_methods_and_paths_mint_no_metric_series(platform):
    """Without a token, a method token HTTP does not define is 501 before routing, and
    neither it nor a made-up path becomes a label: the metrics stay the same size."""
    import http.client
    import urllib.parse

    client = platform["client"]
    operator = token("operator")

    def series():
        _, _, text = client.request("GET", "/metrics", token=operator)
        return {line.rsplit(" ", 1)[0] for line in text.splitlines()
                if line.startswith("gateway_http_requests_total{")}

    before = series()
    address = urllib.parse.urlsplit(client.base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        for n in range(500):
            connection.request(f"FOO{n}", f"/made/up/{uuid.uuid4().hex}")
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status == 501, (n, answer.status, body)
            if n == 0:
                problem_of((answer.status, _lower(answer.headers), body))
            connection.request("GET", f"/v1/made-up-{uuid.uuid4().hex}/{n}")
            answer = connection.getresponse()
            assert (answer.status, answer.read() != b"") == (404, True)
    finally:
        connection.close()
    grown = series() - before
    assert len(grown) <= 3, sorted(grown)[:10]
