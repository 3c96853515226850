"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from eventstore.routes import Route

PROBLEM = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                          "items": {"type": "string"}}}}}


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
        operation: dict[str, Any] = {
            "summary": route.summary, "tags": [route.tag], "security": [{"bearer": []}],
            "operationId": route.rpc,
            "parameters": [{"name": name, "in": "path", "required": True,
                            "schema": {"type": "string"}}
                           for name in re.findall(r"<(\w+)>", route.path)],
            "responses": {},
        }
        if route.method in ("POST", "DELETE"):
            operation["parameters"].append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "schema": {"type": "string", "maxLength": 200},
                "description": "the same key and body return the first response"})
        if route.conditional:
            operation["parameters"].append({"name": "If-Match", "in": "header",
                                            "required": False, "schema": {"type": "string"}})
        if route.paged:
            operation["parameters"] += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": 200}},
                {"name": "after", "in": "query", "schema": {"type": "string"}}]
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": route.body}}}
            if route.uploads:
                operation["requestBody"]["content"]["multipart/form-data"] = {
                    "schema": {"type": "object", "properties": {
                        name: {"type": "string", "format": "binary"}
                        for name in route.body._declared_fields
                        if name != "dry_run"} | {"dry_run": {"type": "boolean"}}}}
        if route.response is not None:
            schema: Any = route.response
            if route.paged:
                schema = {"type": "object", "properties": {
                    "items": {"type": "array", "items": route.response},
                    "next": {"type": "string", "nullable": True}}}
            content: dict[str, Any] = {}
            for media_type in route.content:
                content[media_type] = {"schema": schema if media_type == "application/json"
                                       else {"type": "string"}}
            operation["responses"][str(route.status)] = {"description": "OK",
                                                         "content": content}
        for status, why in (("401", "no or invalid token"), ("403", "out of scope"),
                            ("404", "unknown, or another hub's"),
                            ("409", "conflict or refused by an invariant"),
                            ("412", "stale If-Match"), ("422", "invalid input")):
            operation["responses"][status] = {"description": why, "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        paths.setdefault(route.openapi_path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
