"""Slow and stalled clients (issue 15): a request's body is read before a worker is taken and
within a deadline (READ_SECONDS, then a floor rate), so clients that stop sending hold up no
one and are answered 408; uploads have their own bounded pool; the deadline of a write starts
when its body is in; /readyz answers quickly, once for many probes, when a service is down.

The gateway here waits 3 s for a client's next bytes and for a service (the RPC timeout), and
lets a body arrive as slowly as 20 bytes a second after those 3 s, so that slow clients are
quick to show."""

from __future__ import annotations

import json
import select
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.conftest import running_platform
from tests.integration.http import ADMIN, token
from tests.support import wait_until

READ_SECONDS = 3
BYTES_PER_SECOND = 20
UPLOADS = 2


@pytest.fixture(scope="module")
def platform(new_database, amqp_uri, broker_uris):
    with running_platform(new_database, amqp_uri, broker_uris, {
            "CONSORTIUM_RPC_TIMEOUT": "3",
            "CONSORTIUM_HTTP_READ_SECONDS": str(READ_SECONDS),
            "CONSORTIUM_HTTP_MIN_BYTES_PER_SECOND": str(BYTES_PER_SECOND),
            "CONSORTIUM_HTTP_UPLOADS": str(UPLOADS)}) as running:
        yield running


def port_of(platform):
    return int(platform["client"].base.rsplit(":", 1)[1])


def connect(platform, data=b""):
    sock = socket.create_connection(("127.0.0.1", port_of(platform)), timeout=30)
    if data:
        sock.sendall(data)
    return sock


def head(path, length, bearer=None, extra=""):
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", "Content-Type: application/json",
             f"Content-Length: {length}"]
    if bearer:
        lines.append(f"Authorization: Bearer {bearer}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def answer_of(sock):
    """The status, headers and JSON body of the one answer on the socket, read to its close
    (the gateway closes a connection it stopped reading)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    top, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    json_body = "json" in headers.get("content-type", "")
    return int(status_line.split()[1]), headers, json.loads(body) if json_body else body


def get(platform, path, bearer=None, timeout=10):
    """(status, seconds) of a GET, or (0, seconds) when no answer came within ``timeout``."""
    request = urllib.request.Request(platform["client"].base + path)
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as refused:
        status = refused.code
    except OSError:
        status = 0
    return status, time.monotonic() - started


def still_waiting(socks):
    """True when none of these sockets has anything to read (no answer, no close) yet."""
    return select.select(socks, [], [], 0)[0] == []


def test_stalled_clients_hold_up_no_one_and_are_closed_with_408(platform):
    # Ten would once have taken every worker: three times as many bodies that stop after one
    # byte, from a caller who may write, and as many requests that stop inside their headers.
    stalled_bodies = [connect(platform, head("/v1/hubs", 1000, ADMIN) + b"{")
                      for _ in range(30)]
    stalled_headers = [connect(platform, b"POST /v1/hubs HTTP/1.1\r\nHost: gateway\r\nContent-Ty")
                       for _ in range(30)]
    stalled = stalled_bodies + stalled_headers
    for path, bearer in [("/healthz", None), ("/readyz", None), ("/v1/hubs", ADMIN)]:
        status, seconds = get(platform, path, bearer, timeout=READ_SECONDS)
        assert (status, path) == (200, path) and seconds < 2, (path, status, seconds)
    # ... all answered while every stalled client was still connected, unanswered.
    assert still_waiting(stalled)
    started = time.monotonic()
    for sock in stalled:
        status, headers, problem = answer_of(sock)
        assert status == 408 and headers["connection"] == "close", (status, headers)
        assert headers["content-type"] == "application/problem+json"
        assert problem["status"] == 408 and problem["request_id"] == headers["x-request-id"]
    assert time.monotonic() - started < READ_SECONDS + 5
    assert get(platform, "/healthz")[0] == 200


def test_a_body_trickling_slower_than_the_floor_rate_is_408(platform):
    """40 bytes may take READ_SECONDS + 40 / BYTES_PER_SECOND = 5 s. This client sends one
    byte every half second, well within READ_SECONDS of the last, for 4 s (8 bytes), then
    waits: the floor rate ends it at 5 s, before a read would have waited READ_SECONDS (7 s).
    (It stops sending before the answer is due, so the answer is never raced by a byte.)"""
    sock = connect(platform, head("/v1/hubs", 40, ADMIN))
    started = time.monotonic()
    for n in range(1, 9):
        time.sleep(max(0.0, started + n * 0.5 - time.monotonic()))   # the client's pace
        sock.sendall(b" ")
    status, _, problem = answer_of(sock)
    assert status == 408 and problem["detail"] == "the body arrived too slowly", problem
    assert time.monotonic() - started < 7


def test_a_write_whose_body_arrives_slowly_is_applied(platform):
    """The body takes 5 s to arrive, longer than the gateway waits for the service (3 s): the
    deadline starts when the body is in, so the write is applied, not refused as late."""
    body = json.dumps({"id": "slow-county", "name": "Slow County", "state": "CA",
                       "facilitator_org": "Partner"}).encode()
    sock = connect(platform, head("/v1/hubs", len(body), ADMIN))
    pieces = [body[i:i + 10] for i in range(0, len(body), 10)]
    pause = 5.0 / len(pieces)
    started = time.monotonic()
    for piece in pieces:
        time.sleep(pause)   # a slow uplink, not a wait for the gateway
        sock.sendall(piece)
    status, headers, created = answer_of_first(sock)
    assert time.monotonic() - started > 4.5
    assert status == 201, (status, created)
    assert platform["client"].ok("GET", "/v1/hubs/slow-county")["name"] == "Slow County"


def answer_of_first(sock):
    """The one answer on a keep-alive connection: status, headers and JSON body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    top, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(rest) < int(headers["content-length"]):
        rest += sock.recv(65536)
    sock.close()
    return status, headers, json.loads(rest)


def uploads_held(platform):
    _, _, text = platform["client"].request("GET", "/metrics", token=token("operator"))
    return next(float(line.split()[1]) for line in text.splitlines()
                if line.startswith("gateway_http_uploads "))


def test_uploads_have_a_bounded_pool_and_anonymous_bodies_are_not_read(platform):
    path = "/v1/members/slow.m1/staff-imports"
    expect = "Expect: 100-continue\r\n"   # the client sends its body only once asked to
    # Two imports of 2 MB that stop after their first bytes take both upload slots.
    held = [connect(platform, head(path, 2_000_000, ADMIN) + b'{"orgs": "')
            for _ in range(UPLOADS)]
    wait_until(lambda: uploads_held(platform) == UPLOADS, what="both upload slots taken")
    # A third is 503 at once, before a byte of it is asked for.
    third = connect(platform, head(path, 2_000_000, ADMIN, expect))
    status, headers, problem = answer_of(third)
    assert status == 503 and int(headers["retry-after"]) > 0, (status, headers, problem)
    assert headers["content-type"] == "application/problem+json"
    # Without a token, or with one whose role may not import, a body over 64 KB is never
    # read; nor is one over the route's limit.
    for bearer, length, refused in [(None, 2_000_000, 401),
                                    (token("member", ["hub"], member="slow.m1"), 2_000_000, 403),
                                    (ADMIN, 25_000_000, 413)]:
        sock = connect(platform, head(path, length, bearer, expect))
        status, headers, problem = answer_of(sock)
        assert (status, problem["status"]) == (refused, refused), (status, problem)
    # Small bodies need no slot: an anonymous one is read, and refused as ever.
    assert get(platform, "/healthz")[0] == 200
    assert platform["client"].request("POST", "/v1/hubs", {"id": "x"}, token=None)[0] == 401
    # The stalled imports end with a 408, and free their slots.
    for sock in held:
        assert answer_of(sock)[0] == 408
    wait_until(lambda: uploads_held(platform) == 0, what="the upload slots freed")


def test_readiness_is_quick_and_shared_when_a_service_is_frozen(platform):
    membership = platform["services"]["membership"]
    membership.proc.send_signal(signal.SIGSTOP)   # a hung host: pings go unanswered
    try:
        probes: list[tuple[int, float]] = []
        threads = [threading.Thread(target=lambda: probes.append(get(platform, "/readyz")))
                   for _ in range(20)]
        for thread in threads:
            thread.start()
        healthz = get(platform, "/healthz")
        for thread in threads:
            thread.join()
        # Once a worker for every probe, 3 s each: now one check for all, at most 1 s long.
        assert max(seconds for _, seconds in probes) < 2.5, probes
        assert {status for status, _ in probes} <= {200, 503}, probes
        assert healthz[0] == 200 and healthz[1] < 1, healthz
        wait_until(lambda: get(platform, "/readyz")[0] == 503, timeout=10,
                   what="the frozen service reported not ready")
    finally:
        membership.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: get(platform, "/readyz")[0] == 200, timeout=20,
               what="the service reported ready again")


@pytest.mark.parametrize("request_head, status, detail", [
    # A header line eventlet will not read, and headers too large together.
    ("GET /v1/hubs HTTP/1.1\r\nHost: gateway\r\nX-Padding: " + "a" * 9000 + "\r\n\r\n",
     431, "a header line is longer than 8192 bytes"),
    ("GET /v1/hubs HTTP/1.1\r\nHost: gateway\r\n"
     + "".join(f"X-Padding-{n}: {'a' * 8000}\r\n" for n in range(9)) + "\r\n",
     431, "the headers are longer than 65536 bytes together"),
    # A Content-Length that is no length, or one with a Transfer-Encoding.
    ("POST /v1/hubs HTTP/1.1\r\nHost: gateway\r\nContent-Length: -1\r\n\r\n",
     400, "Content-Length must be a number of bytes"),
    ("POST /v1/hubs HTTP/1.1\r\nHost: gateway\r\nContent-Length: 1e3\r\n\r\n",
     400, "Content-Length must be a number of bytes"),
    ("POST /v1/hubs HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\n"
     "Transfer-Encoding: chunked\r\n\r\n{}", 400, "not allowed together"),
])
def test_headers_the_gateway_will_not_read_are_problems_not_bodiless_400s(
        platform, request_head, status, detail):
    answer, headers, problem = answer_of(connect(platform, request_head.encode()))
    assert answer == status and headers["content-type"] == "application/problem+json"
    assert problem["status"] == status and detail in problem["detail"]
    # The gateway goes on answering others.
    assert get(platform, "/healthz")[0] == 200
