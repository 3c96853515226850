"""The kinds of route the network services need, through a real gateway serving the desk
fixture's table (CONSORTIUM_GATEWAY_ROUTE_MODULES) to a real desk service: a query (422 naming
each bad parameter), a list paged by opaque tokens (422 naming `after` for any token it did not
give this caller), a secret link read without a token (a rotated one is 404 as an unknown one
is), and two overlapping bookings at once (one 201, one 409 naming the constraint; never 500)."""

from __future__ import annotations

import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.routing import Map, Rule

from eventstore.config import ROUTE_MODULES
from eventstore.db import connect
from tests.fixtures.desk.routes import ROUTES
from tests.integration.http import Client, token
from tests.support import Process, ServiceProcess, free_port, http_get, nameko_run, wait_until

DESK_ROUTES = "desk=tests.fixtures.desk.routes"
HUB_A = token("facilitator", ["hub-a"], sub="ana")
HUB_A_COLLEAGUE = token("facilitator", ["hub-a"], sub="bo")
HUB_B = token("facilitator", ["hub-b"], sub="cy")


@pytest.fixture(scope="module")
def desk(new_database, amqp_uri):
    database = new_database()
    service = ServiceProcess("desk", "tests.fixtures.desk.service:Desk", database, amqp_uri)
    port = free_port()
    gateway = Process(f"gateway-{port}", nameko_run("gateway.service:Gateway"), env={
        "CONSORTIUM_AMQP_URI": amqp_uri, "CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "CONSORTIUM_GATEWAY_SERVICES": "desk", ROUTE_MODULES: DESK_ROUTES,
        "CONSORTIUM_HTTP_LINK_REQUESTS": "1", "CONSORTIUM_DEV_MODE": "1",
        "PYTHONWARNINGS": "ignore"})
    try:
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=60,
                   what="the gateway to be ready")
        yield {"client": DeskClient(port), "db": database, "service": service,
               "gateway": gateway}
    finally:
        gateway.stop()
        service.stop()


class DeskClient(Client):
    """A client whose every 2xx JSON answer is held to the desk route's status and schema, as
    tests/integration/http.py holds the platform's."""

    def __init__(self, port):
        super().__init__(port)
        self.map = Map([Rule(r.path, endpoint=i, methods=[r.method])
                        for i, r in enumerate(ROUTES)])

    def request(self, method, path, body=None, token=HUB_A, headers=None, raw=None):
        status, answer_headers, payload = self._request(method, path, body, token, headers,
                                                        raw)
        if 200 <= status < 300:
            index, _ = self.map.bind("localhost").match(urllib.parse.urlsplit(path).path,
                                                        method)
            route = ROUTES[index]
            assert status == route.status, (method, path, status)
            if route.response is not None and route.paged:
                route.response(many=True).load(payload["items"])
            elif route.response is not None:
                route.response().load(payload)
        return status, answer_headers, payload


def booking(client, hub, starts_at, hours=2, expert="expert-x", tok=HUB_A, id_=None):
    body = {"expert": expert, "starts_at": starts_at, "hours": hours}
    if id_:
        body["id"] = id_
    return client.request("POST", f"/v1/desk/hubs/{hub}/bookings", body, token=tok)


def starts(day, hour):
    return f"2027-03-{day:02d}T{hour:02d}:00:00Z"


# -- a query ---------------------------------------------------------------------------------

def test_a_query_filters_the_list_and_a_bad_one_is_422_naming_each_parameter(desk):
    client = desk["client"]
    for id_, expert, at, hours in (("hub-a.q1", "expert-q", starts(1, 9), 2),
                                   ("hub-a.q2", "expert-q", starts(2, 9), 6),
                                   ("hub-a.q3", "expert-r", starts(2, 9), 6)):
        assert booking(client, "hub-a", at, hours, expert, id_=id_)[0] == 201
    found = client.ok("GET", "/v1/desk/hubs/hub-a/bookings?expert=expert-q&min_hours=3"
                             "&from=2027-03-02T00:00:00Z&to=2027-03-03T00:00:00Z"
                             "&status=requested&status=confirmed", token=HUB_A)
    assert [b["id"] for b in found["items"]] == ["hub-a.q2"]

    status, _, problem = client.request(
        "GET", "/v1/desk/hubs/hub-a/bookings?min_hours=three&sort=start&status=lost"
               "&from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z&expert=a&expert=b")
    assert status == 422, problem
    assert set(problem["errors"]) == {"min_hours", "sort", "status.0", "expert"}
    status, _, problem = client.request(
        "GET", "/v1/desk/hubs/hub-a/bookings?from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z")
    assert status == 422 and set(problem["errors"]) == {"to"}
    # The service checks the query again: a caller on the bus that skips the gateway.
    from eventstore.errors import ValidationError
    with pytest.raises(ValidationError):
        desk["service"].rpc("hub_bookings", "hub-a", {"min_hours": "three"})


# -- a list paged by tokens ------------------------------------------------------------------

def test_a_list_by_start_time_pages_by_tokens_only_its_own_caller_may_send(desk):
    client = desk["client"]
    # Ids in the reverse of their start times: an id cursor would page them wrongly.
    for n, day in enumerate((14, 13, 12, 11, 10)):
        assert booking(client, "hub-a", starts(day, 9), expert="expert-p",
                       id_=f"hub-a.p{n}")[0] == 201
    pages = [client.ok("GET", "/v1/desk/hubs/hub-a/bookings?expert=expert-p&limit=2")]
    while pages[-1]["next"] is not None:
        pages.append(client.ok("GET", "/v1/desk/hubs/hub-a/bookings?expert=expert-p&limit=2"
                                      f"&after={pages[-1]['next']}"))
    assert [[b["id"] for b in page["items"]] for page in pages] == [
        ["hub-a.p4", "hub-a.p3"], ["hub-a.p2", "hub-a.p1"], ["hub-a.p0"]]
    first_token = pages[0]["next"]

    def refused(after, tok=HUB_A, hub="hub-a"):
        status, _, problem = client.request(
            "GET", f"/v1/desk/hubs/{hub}/bookings?expert=expert-p&limit=2&after={after}",
            token=tok)
        assert status == 422 and list(problem["errors"]) == ["after"], (status, problem)

    edited = first_token[:-3] + ("A" if first_token[-3] != "A" else "B") + first_token[-2:]
    refused(edited)                                   # altered by hand
    refused(first_token, tok=HUB_A_COLLEAGUE)         # given to another person of the hub
    refused("!!not-a-token!!")                        # garbage
    refused("x" * 600)                                # too long to read
    refused("hub-a.p3")                               # an id is not a token here
    admin = token("admin", ["*"], sub="root")
    theirs = client.ok("GET", "/v1/desk/hubs/hub-a/bookings?expert=expert-p&limit=2",
                       token=admin)["next"]
    refused(theirs, tok=admin, hub="hub-b")           # another list's token


# -- a secret link ---------------------------------------------------------------------------

def test_a_secret_link_reads_without_a_token_and_a_rotated_one_is_404_as_unknown(desk):
    client = desk["client"]
    assert booking(client, "hub-a", starts(20, 9), expert="expert-l", id_="hub-a.l1")[0] == 201
    assert booking(client, "hub-b", starts(21, 9), expert="expert-l", tok=HUB_B,
                   id_="hub-b.l2")[0] == 201
    old = client.ok("PUT", "/v1/desk/hubs/hub-a/experts/expert-l/link")
    status, headers, text = client.request("GET", old["path"], token=None)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert "hub-a.l1" in text and "hub-b.l2" not in text   # the link's hub only
    assert text.startswith("2027-03-20T09:00:00+00:00 to 2027-03-20T11:00:00+00:00")

    new = client.ok("PUT", "/v1/desk/hubs/hub-a/experts/expert-l/link")
    assert client.request("GET", new["path"], token=None)[0] == 200
    answers = [client.request("GET", f"/v1/desk/expert-bookings/{secret}.txt", token=None)
               for secret in (old["link"], "A" * 43, "not-even-a-secret", "%00%FF")]
    assert {status for status, _, _ in answers} == {404}
    assert len({(p["title"], p["detail"], p["type"]) for _, _, p in answers}) == 1
    # Another hub's facilitator cannot issue the hub's link (as if the hub were unknown).
    assert client.request("PUT", "/v1/desk/hubs/hub-a/experts/expert-l/link",
                          token=HUB_B)[0] == 404
    logged = desk["gateway"].output()                        # nor does the access log
    assert old["link"] not in logged and new["link"] not in logged
    assert "/v1/desk/expert-bookings/<link>.txt" in logged


def test_requests_without_a_token_take_no_more_than_their_slots(desk):
    client = desk["client"]
    link = client.ok("PUT", "/v1/desk/hubs/hub-a/experts/expert-s/link")["path"]
    holder = connect(desk["db"], autocommit=False)
    try:
        with holder.cursor() as cur:
            # The link's lookup waits behind this lock: its request holds the one slot.
            cur.execute("LOCK TABLE secret_links IN ACCESS EXCLUSIVE MODE")
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(client.request, "GET", link, None, None)
                wait_until(lambda: waiting(cur) == 1, what="the first link request to wait")
                status, headers, problem = client.request("GET", link, token=None)
                assert status == 503 and int(headers["retry-after"]) > 0
                assert "without a token" in problem["detail"]   # refused, not timed out
                # A token's holder is served meanwhile.
                assert client.request("GET", "/v1/desk/hubs/hub-a/bookings?limit=1")[0] == 200
                holder.commit()
                assert first.result(30)[0] == 200
    finally:
        holder.close()


def waiting(cur):
    cur.execute("""SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()""")
    return cur.fetchone()[0]


# -- an exclusion constraint -----------------------------------------------------------------

def test_two_overlapping_bookings_at_once_are_one_201_and_one_409_never_500(desk):
    client = desk["client"]
    holder = connect(desk["db"], autocommit=False)
    answers = []
    try:
        with holder.cursor() as cur:
            # Both commands are held at their first write, then let go together: both are in
            # flight when the first claims the expert's hours.
            cur.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            # 09:00-12:00 for hub-a, 10:00-13:00 for hub-b: the expert is shared.
            threads = [threading.Thread(target=lambda hub=hub, tok=tok, at=at: answers.append(
                booking(client, hub, at, hours=3, expert="expert-c", tok=tok)))
                for hub, tok, at in (("hub-a", HUB_A, starts(25, 9)),
                                     ("hub-b", HUB_B, starts(25, 10)))]
            for thread in threads:
                thread.start()
            wait_until(lambda: waiting(cur) == 2, what="both bookings to wait")
            holder.commit()
            for thread in threads:
                thread.join(30)
    finally:
        holder.close()
    assert sorted(status for status, _, _ in answers) == [201, 409], answers
    (_, _, refused), = [a for a in answers if a[0] == 409]
    assert refused["constraint"] == "booking_slots_expert_free"
    assert refused["detail"] == ("the expert is already booked for some of these hours; "
                                 "choose another time")
    # Hours that only meet (one ends as the other begins) are no conflict.
    won = next(payload for status, _, payload in answers if status == 201)
    assert booking(client, "hub-a", won["ends_at"].replace("+00:00", "Z"), hours=1,
                   expert="expert-c")[0] == 201



def test_schemathesis_finds_nothing_the_desk_document_does_not_say(desk, tmp_path):
    """The document's query parameters, token cursors and link route, held to what the gateway
    and the desk answer by an independent tool (as test_schemathesis.py holds the platform)."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.integration.test_schemathesis import CHECKS
    client = desk["client"]
    booking(client, "hub-a", starts(28, 9), expert="expert-f", id_="hub-a.f1")
    admin = token("admin", ["*"], sub="fuzzer")
    run = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run",
         f"{client.base}/openapi.json", "--header", f"Authorization: Bearer {admin}",
         "--checks", ",".join(CHECKS), "--phases", "coverage,fuzzing,stateful",
         "--max-time", "30", "--seed", "20261216", "--max-failures", "20", "--no-color",
         "--report-dir", str(tmp_path),
         # The agencies' routes are an agency's (test_schemathesis.py fuzzes them as one).
         "--exclude-path", "/v1/feed", "--exclude-path", "/v1/agency/summary"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1], summary
