"""The gateway: the only public HTTP surface. It authenticates, validates, authorizes and calls
services by RPC; it owns no domain data. Every route comes from gateway/routes.py."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from eventstore.dependencies import register_remote_errors
from eventstore.errors import (
    ConsortiumError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
)
from eventstore.identity import CONTEXT_KEY, Identity
from eventstore.validation import load

from . import auth
from .openapi import build_spec
from .routes import ROUTES, Call, Route

log = logging.getLogger("gateway")
register_remote_errors()

HTTP_REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("gateway_http_request_duration_seconds", "Time to answer a request",
                         ["route", "method"])
MAX_BODY_BYTES = 1_000_000
RPC_TIMEOUT_SECONDS = float(os.environ.get("CONSORTIUM_RPC_TIMEOUT", "10"))
SERVICES = sorted({r.service for r in ROUTES})

URL_MAP = Map([Rule(r.path, endpoint=i, methods=[r.method]) for i, r in enumerate(ROUTES)],
              strict_slashes=False)


def problem(error: ConsortiumError) -> Response:
    body = {"type": f"https://consortium.invalid/problems/{type(error).__name__}",
            "title": error.title, "status": error.status, "detail": error.detail}
    for key, value in error.extra.items():
        body[key] = value
    return Response(json.dumps(body), status=error.status,
                    content_type="application/problem+json")


class Api(HttpRequestHandler):
    """One entrypoint for every API route: errors become problem+json in one place."""

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ConsortiumError):
            return problem(exc)
        log.exception("unexpected error", exc_info=exc)
        return problem(ConsortiumError("the server failed; the error is logged"))


class Context(DependencyProvider):
    """Puts the authenticated caller into the worker's context, from where nameko carries it
    to every service called by RPC."""

    def get_dependency(self, worker_ctx):
        def set_caller(identity: Identity) -> None:
            worker_ctx.data[CONTEXT_KEY] = identity.to_header()
        return set_caller


class StartupCheck(DependencyProvider):
    def setup(self) -> None:
        reason = auth.check_secret()
        if reason:
            log.critical("gateway refuses to start: %s", reason)
            logging.shutdown()
            os._exit(2)


class Gateway:
    name = "gateway"
    startup = StartupCheck()
    set_caller = Context()
    membership = RpcProxy("membership")
    cycles = RpcProxy("cycles")

    @Api.decorator("GET,POST,DELETE,PUT,PATCH", "/<path:path>")
    def api(self, request: Request, path: str) -> Response:
        started = time.perf_counter()
        rule, method = "unmatched", request.method
        try:
            try:
                index, params = URL_MAP.bind_to_environ(request.environ).match()
            except RouteNotFound:
                raise NotFound(f"no route {request.path}") from None
            except MethodNotAllowed:
                raise ValidationError(f"{method} is not allowed on {request.path}") from None
            route = ROUTES[index]
            rule = route.path
            if any(_has_control(v) for v in params.values()):
                raise NotFound(f"no object {request.path!r}")   # no id contains one
            if any(_has_control(v) for v in request.args.values()):
                raise ValidationError("query parameters may not contain control characters",
                                      {k: ["contains a control character"]
                                       for k, v in request.args.items() if _has_control(v)})
            response = self._answer(route, params, request)
        except ConsortiumError as exc:
            response = problem(exc)
        HTTP_REQUESTS.labels(rule, method, str(response.status_code)).inc()
        HTTP_SECONDS.labels(rule, method).observe(time.perf_counter() - started)
        return response

    def _answer(self, route: Route, params: dict[str, str], request: Request) -> Response:
        identity = auth.authenticate(request.headers.get("Authorization"))
        if identity.role not in route.roles:
            raise Forbidden(f"role {identity.role} may not {route.method} {route.path}")
        self.set_caller(identity)
        call = Call(params=params, body=self._body(route, request),
                    key=request.headers.get("Idempotency-Key"),
                    expected_version=_if_match(request.headers.get("If-Match")),
                    limit=_int_arg(request, "limit", 50), after=request.args.get("after"))
        if call.expected_version is not None and not route.conditional:
            raise ValidationError("If-Match is not supported on this route",
                                  {"If-Match": ["not supported here"]})
        args, kwargs = route.args(call)
        picture = route.svg and request.accept_mimetypes.best_match(
            ["application/json", "image/svg+xml"]) == "image/svg+xml"
        if picture:
            kwargs["format"] = "svg"
        proxy = getattr(self, route.service)
        try:
            with eventlet.Timeout(RPC_TIMEOUT_SECONDS):
                result = getattr(proxy, route.rpc)(*args, **kwargs)
        except eventlet.Timeout:
            raise ServiceUnavailable(f"{route.service} did not answer in time") from None
        if picture:
            return Response(result, status=200, content_type="image/svg+xml")
        headers = {}
        if isinstance(result, dict) and "version" in result:
            headers["ETag"] = f'"{result["version"]}"'
        return Response(json.dumps(result, default=str), status=route.status,
                        headers=headers, content_type="application/json")

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
        if route.body is not None:
            load(route.body, body)   # refuse bad input here; the service checks again
        return body

    # -- operations --------------------------------------------------------------------------

    @Api.decorator("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return Response(json.dumps({"status": "ok"}), content_type="application/json")

    @Api.decorator("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        checks = {}
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
        return Response(json.dumps(build_spec()), content_type="application/json")


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

