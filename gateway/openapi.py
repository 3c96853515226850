"""The OpenAPI 3 document, generated from the services' route tables and their marshmallow
schemas: every constraint a request is checked against (bodies, query parameters, cursors),
every status and media type a route can answer, the headers that come with them, who may call
it (a bearer token, or the secret of a link), and links from the routes that create an object
to the routes that use its id (so a client, or schemathesis, can follow them)."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from eventstore import cursors, links
from eventstore.ids import ANY_ID
from eventstore.routes import JSON, LINK_PARAMETER, Route

PROBLEM_JSON = "application/problem+json"
PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "request_id": {"type": "string",
                       "description": "quote it to an operator: every log line of the "
                                      "request carries it"},
        "errors": {"type": "object", "description": "each bad field and what is wrong",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
    "additionalProperties": True}
REQUEST_ID = {"description": "the request's id: the caller's X-Request-ID, or a new one",
              "schema": {"type": "string"}}
ID_PARAMETER = {"type": "string", "pattern": ANY_ID.pattern, "maxLength": 127}
LINK_SECRET = {"type": "string", "pattern": links.PATTERN.pattern,
               "description": "the link's secret, as it was issued; a rotated one opens "
                              "nothing (404, as an unknown object)"}
CURSOR_TOKEN = {"type": "string", "pattern": cursors.PATTERN.pattern,
                "maxLength": cursors.MAX_LENGTH}


def _problem(why: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": why, "content": {PROBLEM_JSON: {
        "schema": {"$ref": "#/components/schemas/Problem"}}},
        "headers": {"X-Request-ID": REQUEST_ID, **(headers or {})}}
    return answer


def _statuses(route: Route) -> dict[str, dict[str, Any]]:
    """The refusals a route can answer, beside its success."""
    answers = {
        "400": _problem("a request the gateway could not read: a body cut short, or broken "
                        "chunked encoding"),
        "408": _problem("the request stopped arriving, or arrived slower than the minimum "
                        "rate; the connection is closed"),
        "401": _problem("no token, or not a valid one"),
        "403": _problem("the caller's role may not use this route"),
        "404": _problem("unknown, or another hub's"),
        "405": _problem("a method this path does not take", {"Allow": {
            "description": "the methods it takes", "schema": {"type": "string"}}}),
        "414": _problem("a request line (path and query) over 8 KB: refused unread, and the "
                        "connection is closed"),
        "422": _problem("invalid input: each bad field is named"),
        "431": _problem("a header line over 8 KB, or headers over 64 KB together: refused "
                        "unread, and the connection is closed"),
        "503": _problem("a service or the broker cannot be reached, or did not answer in "
                        "time: the request was not applied and never will be; retry (with "
                        "the same Idempotency-Key)", {"Retry-After": {
                            "description": "seconds to wait", "schema": {"type": "integer"}}}),
    }
    if route.access == "link":
        # No token is read: the secret in the path is the whole of the access.
        del answers["401"], answers["403"]
        answers["404"] = _problem("the link opens nothing: an unknown, malformed or rotated "
                                  "secret, or an object that is gone")
        answers["503"]["description"] += ("; or the gateway is answering as many requests "
                                          "without a token as it takes at once")
    if route.method in ("POST", "PUT", "PATCH", "DELETE"):
        answers["409"] = _problem("refused by a rule of the domain, or a conflicting change")
    if route.body is not None:
        answers["413"] = _problem("the body is too large")
    if route.conditional:
        answers["412"] = _problem("If-Match names a version that is not the current one")
    return answers


def build_spec(routes: list[Route]) -> dict[str, Any]:
    spec = APISpec(title="Consortium platform", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "County hubs, members, the improvement process, "
                                        "experts, meetings and state agency feeds."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        link = route.access == "link"
        operation: dict[str, Any] = {
            "summary": route.summary, "tags": [route.tag],
            "security": [] if link else [{"bearer": []}],
            "operationId": route.rpc,
            "parameters": [{"name": name, "in": "path", "required": True,
                            "schema": LINK_SECRET if link and name == LINK_PARAMETER
                            else ID_PARAMETER} for name in route.params],
            "responses": _statuses(route),
        }
        if route.query is not None:
            # The marshmallow plugin makes one query parameter of each field, with its type
            # and constraints (a List field: a parameter given once per value).
            operation["parameters"].append({"in": "query", "schema": route.query})
        # The operator's actions (the gateway's own POSTs) are not keyed: a replay sent twice
        # is handled once by the consumers' inbox, a second rebuild while one runs is 409.
        if route.method in ("POST", "DELETE") and route.service != "gateway":
            operation["parameters"].append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": "the same key and body return the first answer and change "
                               "nothing; the same key with another body is 422"})
        if route.conditional:
            operation["parameters"].append({
                "name": "If-Match", "in": "header", "required": False,
                "schema": {"type": "string", "pattern": r'^(W/)?"?\d{1,9}"?$'},
                "description": "the ETag of the version the change is based on"})
        if route.paged:
            after: dict[str, Any] = {"name": "after", "in": "query", "schema": ID_PARAMETER}
            if route.cursor == "token":
                after.update(schema=CURSOR_TOKEN, description=(
                    "the `next` of the page before, as it came: a token good only for this "
                    "list and the caller it was given to"))
            operation["parameters"] += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": route.most}},
                after]
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                JSON: {"schema": route.body}}}
            if route.uploads:
                operation["requestBody"]["content"]["multipart/form-data"] = {
                    "schema": {"type": "object", "properties": {
                        name: {"type": "string", "format": "binary"}
                        for name in route.body._declared_fields
                        if name != "dry_run"} | {"dry_run": {"type": "boolean"}}}}
        success: dict[str, Any] = {"description": "OK", "headers": {"X-Request-ID": REQUEST_ID}}
        if route.response is None and any(m != JSON for m in route.content):
            # Text only (a calendar, a plain-text list): no schema to dump it through.
            success["content"] = {media_type: {"schema": {"type": "string"}}
                                  for media_type in route.content if media_type != JSON}
        if route.response is not None:
            schema: Any = route.response
            if route.paged:
                schema = {"type": "object", "required": ["items", "next"], "properties": {
                    "items": {"type": "array", "items": route.response},
                    "next": {**(CURSOR_TOKEN if route.cursor == "token" else {"type": "string"}),
                             "nullable": True,
                             "description": "the cursor of the next page (?after=)"}}}
                if route.page_fields is not None:
                    schema = _page_with_fields(route)
            success["content"] = {media_type: {"schema": schema if media_type == JSON
                                               else {"type": "string"}}
                                  for media_type in route.content}
            if route.method != "GET" or route.conditional:
                success["headers"]["ETag"] = {"description": "the version, for If-Match",
                                              "schema": {"type": "string"}}
        if route.links:
            success["links"] = _links(route, routes)
        operation["responses"][str(route.status)] = success
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _page_with_fields(route: Route) -> type[Schema]:
    """A page that holds more than its items and cursor (a search's facets): one object of
    the page's fields and the route's ``page_fields`` (every schema here refuses what it does
    not name, so the two cannot be combined by ``allOf``)."""
    assert route.page_fields is not None and route.response is not None
    token = route.cursor == "token"
    return type(f"{route.response.__name__}{route.page_fields.__name__}Page",
                (route.page_fields,), {
                    "items": fields.List(fields.Nested(route.response), required=True),
                    "next": fields.String(
                        required=True, allow_none=True,
                        validate=(validate.Regexp(cursors.PATTERN),
                                  validate.Length(max=cursors.MAX_LENGTH)) if token else (),
                        metadata={"description": "the cursor of the next page (?after=)"})})


def _links(route: Route, routes: list[Route]) -> dict[str, Any]:
    """From a route's answer to every operation that takes one of the ids in it."""
    links: dict[str, Any] = {}
    for other in routes:
        params = other.params
        if len(params) != 1 or params[0] not in route.links:
            continue
        name = re.sub(r"\W|_", "", f"{other.rpc.title()}")
        links[name] = {"operationId": other.rpc,
                       "parameters": {params[0]: f"$response.body#{route.links[params[0]]}"}}
    return links
