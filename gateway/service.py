"""The gateway: the only public HTTP surface. It authenticates, validates, authorizes and calls
services by RPC; it owns no domain data. Its routes are the route tables of the services it is
configured with (``services/<name>/routes.py``, CONSORTIUM_GATEWAY_SERVICES): a new service
adds its table and touches nothing here."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from typing import Any

import amqp
import eventlet
import kombu.exceptions
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from eventstore.config import gateway_services
from eventstore.dependencies import (
    DEADLINE,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    RequestScope,
    register_remote_errors,
)
from eventstore.errors import (
    ConsortiumError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
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
from eventstore.routes import JSON, Route, service_routes
from eventstore.validation import load

from . import auth
from .openapi import build_spec

log = logging.getLogger("gateway")
register_remote_errors()

HTTP_REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("gateway_http_request_duration_seconds", "Time to answer a request",
                         ["route", "method"])
MAX_BODY_BYTES = 1_000_000
RPC_TIMEOUT_SECONDS = float(os.environ.get("CONSORTIUM_RPC_TIMEOUT", "10"))
# A command must commit this long before the gateway stops waiting for it, so a request
# answered 503 is never applied (the commit itself and the answer's way back take a moment).
COMMIT_MARGIN_SECONDS = min(1.0, RPC_TIMEOUT_SECONDS / 5)
SERVICES = gateway_services()
ROUTES: list[Route] = [route for service in SERVICES for route in service_routes(service)]

# Endpoints are indexes into ROUTES. No redirects: "/v1//hubs" names no route.
URL_MAP = Map([Rule(r.path, endpoint=str(i), methods=[r.method]) for i, r in enumerate(ROUTES)],
              strict_slashes=False, merge_slashes=False, redirect_defaults=False)
# Seconds a client is told to wait before it retries a 503.
RETRY_AFTER_SECONDS = 2
# The broker or a service cannot be reached (a refused connection, a dropped channel, a
# service that never started): the gateway answers 503, never 500.
OUTAGES = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError, UnknownService)


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
    method none takes) is problem+json too, with a request id, and counted."""

    def __call__(self, environ, start_response):
        environ[REQUEST_ID] = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        set_request_id(environ[REQUEST_ID])   # for this green thread's log lines
        request = Request(environ, shallow=True)
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
            request.path_values = values  # type: ignore[attr-defined]
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = _unrouted(exc, request)
        finally:
            set_request_id(None)
        response.headers["X-Request-ID"] = environ[REQUEST_ID]
        return response(environ, start_response)


def _unrouted(exc: HTTPException, request: Request) -> Response:
    headers = {}
    if isinstance(exc, MethodNotAllowed):
        allowed = _allowed(request)
        headers["Allow"] = ", ".join(allowed)
        error: ConsortiumError = MethodNotAllowedProblem(
            f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}")
    else:
        error = NotFound(f"no route {request.path!r}")
    HTTP_REQUESTS.labels("unmatched", request.method, str(error.status)).inc()
    return problem(error, request.environ.get(REQUEST_ID), headers)


def _allowed(request: Request) -> list[str]:
    try:
        URL_MAP.bind_to_environ(request.environ).match(method="--")
    except MethodNotAllowed as exc:
        return sorted(exc.valid_methods or [])
    except HTTPException:
        pass
    return ["GET", "POST", "DELETE"]


class MethodNotAllowedProblem(ConsortiumError):
    status = 405
    title = "Method not allowed"


class ProblemsWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemsWsgiApp(self)

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
        def set_context(identity: Identity, key: str | None, if_match: int | None) -> None:
            worker_ctx.data[CONTEXT_KEY] = identity.to_header()
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
            if any(_has_control(v) for v in params.values()):
                raise NotFound(f"no object {request.path!r}")   # no id contains one
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
        HTTP_REQUESTS.labels(rule, method, str(response.status_code)).inc()
        HTTP_SECONDS.labels(rule, method).observe(time.perf_counter() - started)
        return response

    def _answer(self, route: Route, params: dict[str, str], request: Request) -> Response:
        identity = auth.authenticate(request.headers.get("Authorization"))
        if identity.role not in route.roles:
            raise Forbidden(f"role {identity.role} may not {route.method} {route.path}")
        expected_version = _if_match(request.headers.get("If-Match"))
        if expected_version is not None and not route.conditional:
            raise ValidationError("If-Match is not supported on this route",
                                  {"If-Match": ["not supported here"]})
        self.set_context(identity, request.headers.get("Idempotency-Key"), expected_version)
        media_type = request.accept_mimetypes.best_match(list(route.content)) or JSON
        if media_type not in route.content:
            media_type = next(iter(route.content))
        args, kwargs = route.arguments(params, self._body(route, request),
                                       _int_arg(request, "limit", 50), _after(request),
                                       media_type)
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
        if (request.content_length or 0) > limit:
            _discard(request)
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        uploaded = request.mimetype == "multipart/form-data"
        raw = request.get_data(cache=uploaded)   # kept for the form parser
        if len(raw) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        if uploaded:
            if not route.uploads:
                raise ValidationError(f"{route.method} {route.path} takes a JSON body",
                                      {"_body": ["JSON, not a multipart upload"]})
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
        return body

    # -- operations --------------------------------------------------------------------------

    @Api.decorator("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    @Api.decorator("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        checks: dict[str, dict[str, Any]] = {}
        self.set_context(Identity.service("gateway"), None, None)   # the platform asks itself
        for service in SERVICES:
            try:
                with eventlet.Timeout(3):
                    getattr(self, service).read_events([0, 0], 1)
                checks[service] = {"ok": True}
            except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - the answer is the check
                checks[service] = {"ok": False, "detail": type(exc).__name__}
        ready = all(c["ok"] for c in checks.values())
        return Response(json.dumps({"status": "ready" if ready else "not ready",
                                    "checks": checks}),
                        status=200 if ready else 503, content_type="application/json")

    @Api.decorator("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        identity = auth.authenticate(request.headers.get("Authorization"))
        if identity.role not in ("operator", "admin"):
            raise Forbidden("metrics are for operators")
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @Api.decorator("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return Response(openapi_document(), content_type="application/json")


# One RPC proxy per configured service, as class attributes where nameko finds dependencies.
for _service in SERVICES:
    # A request that waits in the service's queue longer than the gateway waits for its answer
    # expires there: it is never picked up after the 503.
    setattr(Gateway, _service, RpcProxy(_service, expiration=RPC_TIMEOUT_SECONDS))


@functools.cache
def openapi_document() -> str:
    return json.dumps(build_spec(ROUTES))


def _discard(request: Request) -> None:
    """Read (and drop) a refused body, so the client that is still sending it gets the 413
    instead of a broken connection; a body beyond 64 MB is not worth reading."""
    if (request.content_length or 0) <= 64 * MAX_BODY_BYTES:
        while request.stream.read(65536):
            pass


def _form(request: Request) -> dict[str, Any]:
    """A multipart upload (files such as orgs.csv, users.csv) as the JSON body it stands for:
    each file's text under its field name, plain fields as strings or booleans. werkzeug
    parses the body already read (and size-checked) by ``_body``."""
    body: dict[str, Any] = {}
    for name, upload in request.files.items():
        try:
            body[name] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(f"{name} is not UTF-8 text",
                                  {name: ["not UTF-8 text"]}) from None
    for name, value in request.form.items():
        body[name] = {"true": True, "false": False}.get(value.lower(), value)
    return body


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


def _after(request: Request) -> str | None:
    """The cursor of a list: the last id of the page before."""
    value = request.args.get("after")
    if value is not None and (len(value) > 127 or not ANY_ID.match(value)):
        raise ValidationError("after is the last id of the page before",
                              {"after": ["an id, as `next` gives it"]})
    return value


def _int_arg(request: Request, name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number",
                              {name: ["a whole number"]}) from None
    if not 1 <= number <= 200:
        raise ValidationError(f"{name} must be 1 to 200", {name: ["1 to 200"]})
    return number

