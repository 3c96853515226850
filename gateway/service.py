"""The gateway: the only public HTTP surface. It authenticates, validates, authorizes and calls
services by RPC; it owns no domain data. Its routes are the route tables of the services it is
configured with (``services/<name>/routes.py``, CONSORTIUM_GATEWAY_SERVICES): a new service
adds its table and touches nothing here."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable
from typing import Any

import amqp
import eventlet
import kombu.exceptions
from eventlet import wsgi
from eventlet.event import Event
from eventlet.semaphore import Semaphore
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from eventstore import cursors
from eventstore.config import GatewaySettings, gateway_services
from eventstore.context import (
    DEADLINE,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    RequestScope,
    register_remote_errors,
)
from eventstore.errors import (
    BadRequestProblem,
    ConsortiumError,
    Forbidden,
    HeaderFieldsTooLarge,
    MethodNotAllowedProblem,
    MethodNotImplemented,
    NotFound,
    PayloadTooLarge,
    RequestLineTooLong,
    RequestTimedOut,
    ServiceUnavailable,
    ValidationError,
)
from eventstore.identity import CONTEXT_KEY, Identity
from eventstore.ids import ANY_ID
from eventstore.logs import (
    REQUEST_ID,
    ClientErrorsAreNotFailures,
    current_request_id,
    request_id_from,
    set_request_id,
)
from eventstore.querystring import parameters
from eventstore.routes import JSON, LINK_PARAMETER, PAGING_PARAMETERS, Route, service_routes
from eventstore.rpc import SignedRpcProxy
from eventstore.validation import load

from . import asyncapi, auth, feed, operations
from .openapi import build_spec
from .own import OwnRoutes

log = logging.getLogger("gateway")
register_remote_errors()

HTTP_REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("gateway_http_request_duration_seconds", "Time to answer a request",
                         ["route", "method"])
HTTP_UPLOADS = Gauge("gateway_http_uploads", "Bodies over 1 MB (staff imports) held at once, "
                     "from their first byte read to their answer")
MAX_BODY_BYTES = 1_000_000
SETTINGS = GatewaySettings.from_env()
RPC_TIMEOUT_SECONDS = SETTINGS.rpc_timeout_seconds
# A command must commit this long before the gateway stops waiting for it, so a request
# answered 503 is never applied (the commit itself and the answer's way back take a moment).
COMMIT_MARGIN_SECONDS = min(1.0, RPC_TIMEOUT_SECONDS / 5)
SERVICES = gateway_services()
# The services' tables, and the gateway's own routes, which read them all: the agencies' feed
# and the operator's controls (answered by the Gateway's method named by the route's rpc).
OWN_CLASSES: tuple[type[OwnRoutes], ...] = (feed.AgencyRoutes, operations.OperatorRoutes)
OWN_ROUTES: list[Route] = [route for cls in OWN_CLASSES for route in cls.routes]
OWN: dict[str, type[OwnRoutes]] = {route.rpc: cls for cls in OWN_CLASSES
                                   for route in cls.routes}
ROUTES: list[Route] = [*(route for service in SERVICES for route in service_routes(service)),
                       *OWN_ROUTES]

# Endpoints are indexes into ROUTES. No redirects: "/v1//hubs" names no route.
URL_MAP = Map([Rule(r.path, endpoint=str(i), methods=[r.method]) for i, r in enumerate(ROUTES)],
              strict_slashes=False, merge_slashes=False, redirect_defaults=False)
# Seconds a client is told to wait before it retries a 503.
RETRY_AFTER_SECONDS = 2
# The broker or a service cannot be reached (a refused connection, a dropped channel, a
# service that never started): the gateway answers 503, never 500.
OUTAGES = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError, UnknownService)

# Reading requests. A request's line, headers and body are read by its connection's own green
# thread, before a worker is taken, so a slow client holds no worker; nothing waits on a
# client for ever. The longest the gateway waits for a client's next bytes (every read and
# write of its socket, an idle keep-alive connection), for a request line and headers in all,
# and the allowance of a body before its size counts:
READ_SECONDS = SETTINGS.read_seconds
# The slowest a body may arrive: n bytes within READ_SECONDS + n / this, else 408. 64 KiB/s
# (512 kbit/s) takes a 20 MB OneRoster export over a slow rural uplink in about 5 minutes.
MIN_BYTES_PER_SECOND = SETTINGS.min_bytes_per_second
# Bodies over MAX_BODY_BYTES (staff imports) held at once, from their first byte read to
# their answer: memory stays bounded (4 x 20 MB). Another is 503 before it is read.
UPLOAD_SLOTS = SETTINGS.upload_slots
# A larger body is read only for a caller whose token and role may use the route: an
# anonymous client cannot make the gateway buffer more than this per connection.
ANONYMOUS_BODY_BYTES = 64 * 1024
# A refused or unused body is read and dropped up to this size, so a client still sending it
# gets the answer rather than a reset connection; beyond it the connection closes unread.
DRAIN_BYTES = 64 * MAX_BODY_BYTES
# The methods HTTP defines (RFC 9110; PATCH, RFC 5789; QUERY, the httpbis draft): one that a
# path does not take is 405 with Allow. Any other token is 501 before routing and is counted
# as "other": metric labels hold only values from bounded sets (tests/unit/test_metric_labels).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                           "TRACE", "PATCH", "QUERY"})
# GET /readyz: how long one answer is kept, and how long a service may take to answer a ping.
READY_CACHE_SECONDS = 2.0
READY_PING_SECONDS = 1.0
# Requests of link routes (no bearer token: a calendar app's) served at once; another is 503
# with Retry-After before it takes a worker. Anyone may send them, so they may hold only part
# of the gateway's workers (nameko's max_workers, 10), and a client guessing secrets gets no
# more answers per second than one token holder would (and a secret has 256 bits).
LINK_SLOTS = SETTINGS.link_slots
# Keys of a request's WSGI environ: a callable that closes the connection after the answer
# (GatewayProtocol), and whether the request holds an upload slot or a link slot.
CLOSE_AFTER_ANSWER = "gateway.close_after_answer"
UPLOAD_SLOT = "gateway.upload_slot"
LINK_SLOT = "gateway.link_slot"
_UPLOADS = Semaphore(UPLOAD_SLOTS)
_LINKS = Semaphore(LINK_SLOTS)


def problem(error: ConsortiumError, request_id: str | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """Every refusal and failure the gateway answers, as application/problem+json (RFC 9457),
    with the request's id for a county office to quote."""
    body = {"type": f"https://consortium.invalid/problems/{type(error).__name__}",
            "title": error.title, "status": error.status, "detail": error.detail}
    for key, value in error.extra.items():
        body[key] = value
    answer_headers = dict(headers or {})
    if request_id:
        body["request_id"] = request_id
        answer_headers["X-Request-ID"] = request_id
    if error.status == 503:
        answer_headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Response(json.dumps(body), status=error.status, headers=answer_headers,
                    content_type="application/problem+json")


class ProblemsWsgiApp(WsgiApp):
    """nameko's WSGI app, except that what no entrypoint answers (a path no rule matches, a
    method none takes, a method HTTP does not define) is problem+json too, with a request id,
    and counted; that a request's body is read here, in the connection's green thread, before
    a worker is taken (``_intake``); and that GET /readyz is answered from ``READINESS``."""

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        environ[REQUEST_ID] = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        set_request_id(environ[REQUEST_ID])   # for this green thread's log lines
        request = Request(environ, shallow=True)
        try:
            response = self._respond(request, started)
        finally:
            set_request_id(None)
            if environ.pop(UPLOAD_SLOT, False):
                _UPLOADS.release()
                HTTP_UPLOADS.dec()
            if environ.pop(LINK_SLOT, False):
                _LINKS.release()
        response.headers["X-Request-ID"] = environ[REQUEST_ID]
        return response(environ, start_response)

    def _respond(self, request: Request, started: float) -> Response:
        known = request.method in KNOWN_METHODS
        route = _route_of(request) if known else None
        try:
            _intake(request, route)
            if route is not None and route.access == "link":
                _take_link_slot(request.environ)
            if not known:
                raise MethodNotImplemented(f"{request.method} is not an HTTP method this API "
                                           "knows")
        except ConsortiumError as exc:
            response = problem(exc, request.environ.get(REQUEST_ID))
            _count(route.path if route else "unmatched", request.method,
                   response.status_code, started)
            return response
        try:
            provider, values = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return _unrouted(exc, request)
        request.path_values = values  # type: ignore[attr-defined]
        if provider.method_name == "readyz":
            return READINESS.answer(lambda: provider.handle_request(request))
        return provider.handle_request(request)


def _route_of(request: Request) -> Route | None:
    try:
        index, _ = URL_MAP.bind_to_environ(request.environ).match()
    except HTTPException:
        return None
    return ROUTES[int(index)]


def _take_link_slot(environ: dict[str, Any]) -> None:
    """A slot of LINK_SLOTS for a link route's request, held until it is answered, or 503."""
    if not _LINKS.acquire(blocking=False):
        raise ServiceUnavailable("the gateway is answering as many requests without a token "
                                 "as it takes at once; try again shortly")
    environ[LINK_SLOT] = True


def _authorized(route: Route, request: Request) -> Identity:
    identity = auth.authenticate(request.headers.get("Authorization"))
    if identity.role not in route.roles:
        raise Forbidden(f"role {identity.role} may not {route.method} {route.path}")
    return identity


def _intake(request: Request, route: Route | None) -> None:
    """Read the request's body before a worker is taken, within its deadline, and leave it in
    ``wsgi.input`` for the worker. A body larger than ANONYMOUS_BODY_BYTES is read only for a
    caller that may use the route; one over the route's limit is 413; one over MAX_BODY_BYTES
    needs an upload slot (503 unread when none is free). A body that no route reads (a GET's,
    an unknown path's) is dropped."""
    environ = request.environ
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    length = None if chunked else (request.content_length or 0)
    if length == 0:
        return
    if route is None or route.method in ("GET", "DELETE"):
        _drain(environ, length)
        return
    limit = route.max_body or MAX_BODY_BYTES
    try:
        if length is None or length > ANONYMOUS_BODY_BYTES:
            _authorized(route, request)
        if length is not None and length > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    except ConsortiumError:
        _drain(environ, length)   # the client gets the refusal, not a reset connection
        raise
    if limit > MAX_BODY_BYTES and (length is None or length > MAX_BODY_BYTES):
        if not _UPLOADS.acquire(blocking=False):
            _close_after_answer(environ)
            raise ServiceUnavailable("the gateway is taking in as many uploads as it can; "
                                     "the request was not read")
        environ[UPLOAD_SLOT] = True
        HTTP_UPLOADS.inc()
    raw, size = _read(environ, length, limit)
    if size > limit:
        _close_after_answer(environ)
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)


def _drain(environ: dict[str, Any], length: int | None) -> None:
    """Read and drop a body the gateway will not use, so that a client still sending it gets
    the answer. A body over DRAIN_BYTES, or one whose client waits for 100 Continue, is not
    read: the connection closes after the answer."""
    if environ.get("HTTP_EXPECT", "").lower() == "100-continue" or (length or 0) > DRAIN_BYTES:
        _close_after_answer(environ)
        return
    _, size = _read(environ, length, DRAIN_BYTES, keep=False)
    if size > DRAIN_BYTES:
        _close_after_answer(environ)


def _read(environ: dict[str, Any], length: int | None, most: int,
          keep: bool = True) -> tuple[bytes, int]:
    """The body (when ``keep``) and its size: ``length`` bytes, or a chunked body's up to one
    byte over ``most``. It must arrive within READ_SECONDS + its size (``most`` when unknown)
    at MIN_BYTES_PER_SECOND, no read waiting over READ_SECONDS (the socket's timeout): else
    408, and the connection closes."""
    want = most + 1 if length is None else length
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    timer = eventlet.Timeout(READ_SECONDS + (most if length is None else length)
                             / MIN_BYTES_PER_SECOND)
    try:
        while size < want:
            chunk = stream.read(min(65536, want - size))
            if not chunk:
                break
            size += len(chunk)
            if keep:
                chunks.append(chunk)
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        _close_after_answer(environ)
        raise RequestTimedOut("the body arrived too slowly") from None
    except TimeoutError:
        _close_after_answer(environ)
        raise RequestTimedOut("the body stopped arriving") from None
    except (OSError, ValueError):   # a reset connection, a malformed chunk
        _close_after_answer(environ)
        raise BadRequestProblem("the body could not be read") from None
    finally:
        timer.cancel()
    if length is not None and size < length:
        _close_after_answer(environ)
        raise BadRequestProblem("the connection ended before the body did")
    return b"".join(chunks), size


def _close_after_answer(environ: dict[str, Any]) -> None:
    close = environ.get(CLOSE_AFTER_ANSWER)
    if close is not None:
        close()


def _method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def _count(rule: str, method: str, status: int, started: float | None = None) -> None:
    """Count an answer. Labels: a route template or "unmatched" (never a path), a method
    HTTP defines or "other", and the answer's status: bounded sets only."""
    HTTP_REQUESTS.labels(rule, _method_label(method), str(status)).inc()
    if started is not None:
        HTTP_SECONDS.labels(rule, _method_label(method)).observe(time.perf_counter() - started)


class Readiness:
    """The answer of GET /readyz, kept READY_CACHE_SECONDS: probes meanwhile, and probes that
    arrive while a check runs, get the same answer without a worker of their own."""

    def __init__(self) -> None:
        self._answer: tuple[int, bytes] | None = None
        self._at = 0.0
        self._running: Event | None = None

    def _fresh(self) -> bool:
        return self._answer is not None and time.monotonic() - self._at < READY_CACHE_SECONDS

    def answer(self, check: Callable[[], Response]) -> Response:
        if not self._fresh():
            if self._running is not None:
                self._running.wait()
            if not self._fresh():
                return self._check(check)
        assert self._answer is not None
        status, data = self._answer
        return Response(data, status=status, content_type=JSON)

    def _check(self, check: Callable[[], Response]) -> Response:
        self._running = running = Event()
        try:
            response = check()
            if response.mimetype == JSON:   # the check's own answer, not a problem
                self._answer = (response.status_code, response.get_data())
                self._at = time.monotonic()
            return response
        finally:
            if self._running is running:
                self._running = None
            running.send()


READINESS = Readiness()


def _unrouted(exc: HTTPException, request: Request) -> Response:
    headers = {}
    if isinstance(exc, MethodNotAllowed):
        allowed = _allowed(request)
        headers["Allow"] = ", ".join(allowed)
        error: ConsortiumError = MethodNotAllowedProblem(
            f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}")
    else:
        error = NotFound(f"no route {request.path!r}")
    _count("unmatched", request.method, error.status)
    return problem(error, request.environ.get(REQUEST_ID), headers)


def _allowed(request: Request) -> list[str]:
    try:
        URL_MAP.bind_to_environ(request.environ).match(method="--")
    except MethodNotAllowed as exc:
        return sorted(exc.valid_methods or [])
    except HTTPException:
        pass
    return ["GET", "POST", "DELETE"]


class GatewayProtocol(HttpOnlyProtocol):
    """nameko's HTTP protocol, with deadlines: a request line must arrive within READ_SECONDS
    of the connection's last answer (else it closes), and the headers within READ_SECONDS of
    it (else 408 and it closes); the application may close the connection after its answer
    (``CLOSE_AFTER_ANSWER``), so that eventlet does not read a body left unread."""

    def get_environ(self):
        environ = super().get_environ()
        environ[CLOSE_AFTER_ANSWER] = self._close_after_answer
        return environ

    def _close_after_answer(self) -> None:
        self.close_connection = 1

    def _read_request_line(self):
        with eventlet.Timeout(READ_SECONDS, False):
            line = super()._read_request_line()
            if len(line) >= self.server.url_length_limit:
                # Answered here, as every refusal is (eventlet's own 414 has no body).
                self._refuse(RequestLineTooLong(
                    f"the request line is longer than {self.server.url_length_limit} bytes"),
                    "")
                return ""
            return line
        return ""   # idle, or a request line that never ended: closed without an answer

    def _refuse(self, error: ConsortiumError, method: str) -> None:
        """Answer a request refused before it is routed, as problem+json, and close."""
        _count("unmatched", method, error.status)
        answer = problem(error, request_id_from(None), {"Connection": "close"})
        head = [f"HTTP/1.1 {answer.status}", *(f"{k}: {v}" for k, v in answer.headers.items())]
        try:
            self.wfile.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n"
                             + answer.get_data())
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = 1

    def parse_request(self):
        """The headers, read within the deadline; a header line or headers eventlet will not
        read, and a Content-Length that is no length, are answered here as problem+json
        (eventlet's own answers are bodiless 400s)."""
        method = ""
        with eventlet.Timeout(READ_SECONDS, False):
            try:
                if not super().parse_request():
                    return False
                method = self.command or ""
                length = self.headers.get("content-length")
                if length is not None and not (length.isascii() and length.strip().isdigit()):
                    self._refuse(BadRequestProblem(
                        "Content-Length must be a number of bytes"), method)
                    return False
                if length is not None and self.headers.get("transfer-encoding") is not None:
                    self._refuse(BadRequestProblem(
                        "Content-Length and Transfer-Encoding are not allowed together"),
                        method)
                    return False
                return True
            except wsgi.HeaderLineTooLong:
                self._refuse(HeaderFieldsTooLarge(
                    f"a header line is longer than {wsgi.MAX_HEADER_LINE} bytes"),
                    getattr(self, "command", None) or "")
                return False
            except wsgi.HeadersTooLarge:
                self._refuse(HeaderFieldsTooLarge(
                    f"the headers are longer than {wsgi.MAX_TOTAL_HEADER_SIZE} bytes "
                    "together"), getattr(self, "command", None) or "")
                return False
            except TimeoutError:
                pass
        self._refuse(RequestTimedOut("the request's headers arrived too slowly"),
                     getattr(self, "command", None) or method)
        raise TimeoutError("the request's headers arrived too slowly")


class ProblemsWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemsWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=GatewayProtocol, debug=False):
        # Every socket operation of a connection times out (nameko applies socket_timeout to
        # each accepted socket), and so does an idle keep-alive connection.
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                           log=logging.getLogger("nameko.web.server"),
                           socket_timeout=READ_SECONDS, keepalive=READ_SECONDS)

    def process_request(self, sock, address):
        # An error on one connection ends that connection, never the gateway (nameko kills
        # the container when a thread it manages fails).
        try:
            # An answer larger than eventlet's 16 KiB write buffer leaves in two writes (the
            # headers, then the body): with Nagle's algorithm the body waits for the client's
            # delayed ACK of the headers, 40 ms on Linux (bench/search.py: a page of 20
            # library entries took 64 ms instead of 20).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().process_request(sock, address)
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - one client's failure
            log.info("connection from %s ended: %s: %s", address, type(exc).__name__, exc)
            sock.close()

    def context_data_from_headers(self, request):
        # Services log the request's id with every line, and record it on the events it
        # causes (nameko carries context data with every RPC).
        return {REQUEST_ID: request.environ.get(REQUEST_ID)}


class Api(HttpRequestHandler):
    """One entrypoint for every API route: errors become problem+json in one place."""

    server = ProblemsWebServer()

    def response_from_exception(self, exc: Exception) -> Response:
        if not isinstance(exc, ConsortiumError):
            log.exception("unexpected error", exc_info=exc)
            exc = ConsortiumError("the server failed; the error is logged")
        return problem(exc, current_request_id())


class Context(DependencyProvider):
    """Puts the authenticated caller, and the request's Idempotency-Key and If-Match, into
    the worker's context, from where nameko carries them to the service called by RPC."""

    def get_dependency(self, worker_ctx):
        def set_context(identity: Identity | None, key: str | None,
                        if_match: int | None) -> None:
            # Claims, unsigned: each RPC message gets them signed for itself alone
            # (eventstore.rpc.SignedRpcProxy). A link route's request has no caller: no
            # identity at all goes on the bus for it.
            if identity is not None:
                worker_ctx.data[CONTEXT_KEY] = identity.claims()
            if key is not None:
                worker_ctx.data[IDEMPOTENCY_KEY] = key
            if if_match is not None:
                worker_ctx.data[IF_MATCH] = str(if_match)
            worker_ctx.data[DEADLINE] = str(time.time() + RPC_TIMEOUT_SECONDS
                                            - COMMIT_MARGIN_SECONDS)
        return set_context


class StartupCheck(DependencyProvider):
    def setup(self) -> None:
        containers_log = logging.getLogger("nameko.containers")
        if not any(isinstance(f, ClientErrorsAreNotFailures) for f in containers_log.filters):
            containers_log.addFilter(ClientErrorsAreNotFailures())
        access_log = logging.getLogger("nameko.web.server")
        if not any(isinstance(f, SecretLinksHidden) for f in access_log.filters):
            access_log.addFilter(SecretLinksHidden())
        reason = auth.check_secret()
        if reason:
            log.critical("gateway refuses to start: %s", reason)
            logging.shutdown()
            os._exit(2)


class Gateway:
    name = "gateway"
    startup = StartupCheck()
    set_context = Context()
    request_scope = RequestScope()

    @Api.decorator("GET,POST,DELETE,PUT,PATCH", "/<path:path>")
    def api(self, request: Request, path: str) -> Response:
        started = time.perf_counter()
        rule, method = "unmatched", request.method
        extra_headers: dict[str, str] = {}
        try:
            try:
                index, params = URL_MAP.bind_to_environ(request.environ).match()
            except (RouteNotFound, RequestRedirect):
                raise NotFound(f"no route {request.path!r}") from None
            except MethodNotAllowed as exc:
                allowed = sorted(exc.valid_methods or [])
                extra_headers["Allow"] = ", ".join(allowed)
                raise MethodNotAllowedProblem(
                    f"{method} is not allowed on {request.path}; allowed: "
                    f"{', '.join(allowed)}") from None
            route = ROUTES[int(index)]
            rule = route.path
            # No id contains one. A link's secret is the service's to refuse, in the words
            # of any secret that opens nothing.
            if any(_has_control(v) for k, v in params.items()
                   if not (route.access == "link" and k == LINK_PARAMETER)):
                raise NotFound(f"no object {request.path!r}")
            if any(_has_control(v) for v in request.args.values()):
                raise ValidationError("query parameters may not contain control characters",
                                      {k: ["contains a control character"]
                                       for k, v in request.args.items() if _has_control(v)})
            response = self._answer(route, dict(params), request)
        except ConsortiumError as exc:
            response = problem(exc, request.environ.get(REQUEST_ID), extra_headers)
        except Exception as exc:   # counted like every other answer, and logged whole
            log.exception("unexpected error", exc_info=exc)
            response = problem(ConsortiumError("the server failed; the error is logged"),
                               request.environ.get(REQUEST_ID))
        _count(rule, method, response.status_code, started)
        return response

    def _answer(self, route: Route, params: dict[str, str], request: Request) -> Response:
        # A link route's caller is whoever holds the secret: no token is read, none is
        # needed, and the service is told of no one.
        identity = None if route.access == "link" else _authorized(route, request)
        expected_version = _if_match(request.headers.get("If-Match"))
        if expected_version is not None and not route.conditional:
            raise ValidationError("If-Match is not supported on this route",
                                  {"If-Match": ["not supported here"]})
        media_type = request.accept_mimetypes.best_match(list(route.content)) or JSON
        if media_type not in route.content:
            media_type = next(iter(route.content))
        query = None
        if route.query is not None:
            query = parameters(route.query, request.args.lists(),
                               PAGING_PARAMETERS if route.paged else ())
        args, kwargs = route.arguments(params, self._body(route, request),
                                       _int_arg(request, "limit", 50, route.most),
                                       _after(request, route),
                                       media_type, query)
        if route.service == "gateway":
            assert identity is not None
            return self._own(route, identity, args, kwargs)
        # The deadline (stamped by set_context) starts now that the body is in: the time a
        # client takes to send it is not taken from the service's.
        self.set_context(identity, request.headers.get("Idempotency-Key"), expected_version)
        proxy = getattr(self, route.service)
        try:
            with eventlet.Timeout(RPC_TIMEOUT_SECONDS):
                result = getattr(proxy, route.rpc)(*args, **kwargs)
        except eventlet.Timeout:
            raise ServiceUnavailable(f"{route.service} did not answer in time; the request "
                                     "was not applied") from None
        except OUTAGES as exc:
            log.warning("%s unreachable: %s: %s", route.service, type(exc).__name__, exc)
            raise ServiceUnavailable(f"{route.service} cannot be reached now; the request "
                                     "was not applied") from None
        if media_type != JSON:
            return Response(result, status=route.status, content_type=media_type)
        headers = {}
        if isinstance(result, dict) and "version" in result:
            headers["ETag"] = f'"{result["version"]}"'
        return Response(json.dumps(result), status=route.status, headers=headers,
                        content_type=JSON)

    @staticmethod
    def _body(route: Route, request: Request) -> dict[str, Any]:
        if route.method in ("GET", "DELETE"):
            return {}
        limit = route.max_body or MAX_BODY_BYTES
        if (request.content_length or 0) > limit:   # refused unread by _intake already
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        uploaded = request.mimetype == "multipart/form-data"
        raw = request.get_data(cache=uploaded)   # kept for the form parser
        if len(raw) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        if uploaded:
            if not route.uploads:
                raise ValidationError(f"{route.method} {route.path} takes a JSON body",
                                      {"_body": ["JSON, not a multipart upload"]})
            # werkzeug caps a plain (not file) field at 500 kB unless told otherwise; the whole
            # body is read already, and checked against the route's own limit above.
            request.max_form_memory_size = limit
            body: Any = _form(request)
        elif not raw.strip():
            body = {}
        else:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ValidationError("the body is not valid JSON",
                                      {"_body": ["malformed JSON"]}) from None
            except RecursionError:
                raise ValidationError("the body is nested too deeply",
                                      {"_body": ["nested too deeply"]}) from None
        if route.body is not None:
            load(route.body, body)   # refuse bad input here; the service checks again
        elif body != {}:
            raise ValidationError(f"{route.method} {route.path} takes no body",
                                  {"_body": ["nothing, or {}"]})
        return body

    def _own(self, route: Route, identity: Identity, args: list[Any],
             kwargs: dict[str, Any]) -> Response:
        """A route the gateway answers itself, by reading the services (gateway/feed.py,
        gateway/operations.py): its body and query loaded by their schemas."""
        if route.body is not None:
            args[len(route.params)] = load(route.body, args[len(route.params)])
        if route.query is not None:
            args[-1] = load(route.query, args[-1])
        handlers = OWN[route.rpc](
            sorted(SERVICES), identity, lambda *a: self._call(identity, *a),
            lambda method, *a, only=None: self._each(identity, method, *a, only=only),
            eventlet.sleep)
        result = getattr(handlers, route.rpc)(*args, **kwargs)
        if isinstance(result, str):   # JSON text a service made (the feed's events)
            return Response(result, status=route.status, content_type=JSON)
        return Response(json.dumps(result), status=route.status, content_type=JSON)

    def _call(self, identity: Identity, service: str, method: str, *args: Any) -> Any:
        """One call of a service's method as ``identity``, with its own deadline."""
        self.set_context(identity, None, None)
        try:
            with eventlet.Timeout(RPC_TIMEOUT_SECONDS):
                return getattr(getattr(self, service), method)(*args)
        except eventlet.Timeout:
            raise ServiceUnavailable(f"{service} did not answer in time") from None
        except OUTAGES as exc:
            log.warning("%s unreachable: %s: %s", service, type(exc).__name__, exc)
            raise ServiceUnavailable(f"{service} cannot be reached now; ask again") from None

    def _each(self, identity: Identity, method: str, *args: Any,
              only: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
        """The same call of every service (or ``only`` these) at once: the answers of those
        that answered, and the names of those that could not be reached."""
        def one(service: str) -> Any:
            try:
                return self._call(identity, service, method, *args)
            except ServiceUnavailable as exc:
                return exc
        calls = {service: eventlet.spawn(one, service) for service in only or sorted(SERVICES)}
        answers = {service: call.wait() for service, call in calls.items()}
        return ({s: a for s, a in answers.items() if not isinstance(a, ServiceUnavailable)},
                sorted(s for s, a in answers.items() if isinstance(a, ServiceUnavailable)))

    # -- operations --------------------------------------------------------------------------

    @Api.decorator("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    @Api.decorator("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        """Whether every service takes RPC calls: all are pinged at once, without an identity
        (``ping`` needs none); one that does not answer within READY_PING_SECONDS is not ready.
        The connection answers from READINESS's cache, so a worker runs this at most once per
        READY_CACHE_SECONDS."""
        pings = {service: eventlet.spawn(self._ping, service) for service in SERVICES}
        checks = {service: ping.wait() for service, ping in pings.items()}
        ready = all(c["ok"] for c in checks.values())
        return Response(json.dumps({"status": "ready" if ready else "not ready",
                                    "checks": checks}),
                        status=200 if ready else 503, content_type="application/json")

    def _ping(self, service: str) -> dict[str, Any]:
        try:
            with eventlet.Timeout(READY_PING_SECONDS):
                getattr(self, service).ping()
            return {"ok": True}
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - the answer is the check
            return {"ok": False, "detail": type(exc).__name__}

    @Api.decorator("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        identity = auth.authenticate(request.headers.get("Authorization"))
        if identity.role not in ("operator", "admin"):
            raise Forbidden("metrics are for operators")
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @Api.decorator("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return Response(openapi_document(), content_type="application/json")

    @Api.decorator("GET", "/asyncapi.json")
    def asyncapi(self, request: Request) -> Response:
        """The public events and the agencies' exchange (gateway/asyncapi.py)."""
        return Response(asyncapi_document(), content_type="application/json")


# One RPC proxy per configured service, as class attributes where nameko finds dependencies.
for _service in SERVICES:
    # A request that waits in the service's queue longer than the gateway waits for its answer
    # expires there: it is never picked up after the 503.
    setattr(Gateway, _service, SignedRpcProxy(_service, expiration=RPC_TIMEOUT_SECONDS))


@functools.cache
def asyncapi_document() -> str:
    return json.dumps(asyncapi.build(sorted(SERVICES)))


@functools.cache
def openapi_document() -> str:
    return json.dumps(build_spec(ROUTES))


def _form(request: Request) -> dict[str, Any]:
    """A multipart upload (files such as orgs.csv, users.csv) as the JSON body it stands for:
    each file's text under its field name, plain fields as strings or booleans. werkzeug
    parses the body already read (and size-checked) by ``_body``."""
    body: dict[str, Any] = {}
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:   # werkzeug's own limits: over 1000 parts, a field too large
        raise PayloadTooLarge("the upload has too many parts, or a field too large") from None
    for name, upload in files.items():
        try:
            body[name] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(f"{name} is not UTF-8 text",
                                  {name: ["not UTF-8 text"]}) from None
    for name, value in form.items():
        body[name] = {"true": True, "false": False}.get(value.lower(), value)
    return body


def _link_pattern(route: Route) -> re.Pattern[str]:
    """A link route's path as it appears in a request line, its secret as the group."""
    pattern = ""
    for part in re.split(r"(<(?:\w+:)?\w+>)", route.path):
        name = re.fullmatch(r"<(?:\w+:)?(\w+)>", part)
        if name is None:
            pattern += re.escape(part)
        else:
            pattern += ("(?P<secret>[^/?#\\s\"]*)" if name.group(1) == LINK_PARAMETER
                        else "[^/?#\\s\"]*")
    return re.compile(pattern)


LINK_PATHS = [_link_pattern(route) for route in ROUTES if route.access == "link"]


class SecretLinksHidden(logging.Filter):
    """The access log (a line per request, its path included) never holds a link's secret:
    whoever reads the logs could open the calendar."""

    def filter(self, record: logging.LogRecord) -> bool:
        if LINK_PATHS and isinstance(record.msg, str) and not record.args:
            record.msg = hide_secrets(record.msg)
        return True


def hide_secrets(line: str) -> str:
    """``line`` with each link route's secret written as the route writes it: <link>."""
    def hidden(match: re.Match[str]) -> str:
        text, (start, end) = match.string, match.span("secret")
        return f"{text[match.start():start]}<{LINK_PARAMETER}>{text[end:match.end()]}"
    for pattern in LINK_PATHS:
        line = pattern.sub(hidden, line)
    return line


def _has_control(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationError('If-Match is an ETag like "3"',
                              {"If-Match": ['an ETag like "3"']}) from None


def _after(request: Request, route: Route) -> str | None:
    """The cursor of a list: the last id of the page before, or the token the page before
    gave as ``next`` (the service checks whose and which list's it is)."""
    value = request.args.get("after")
    if value is None:
        return None
    if route.paged and route.cursor == "token":
        if not cursors.PATTERN.match(value):
            raise ValidationError("after is the `next` of the page before, as it came",
                                  {"after": [f"a cursor as `next` gives it: up to "
                                             f"{cursors.MAX_LENGTH} letters, digits, - and _"]})
    elif len(value) > 127 or not ANY_ID.match(value):
        raise ValidationError("after is the last id of the page before",
                              {"after": ["an id, as `next` gives it"]})
    return value


def _int_arg(request: Request, name: str, default: int, most: int = 200) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number",
                              {name: ["a whole number"]}) from None
    if not 1 <= number <= most:
        raise ValidationError(f"{name} must be 1 to {most}", {name: [f"1 to {most}"]})
    return number

