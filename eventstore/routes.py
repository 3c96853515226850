"""HTTP routes as data. Each service owns its route table (``services/<name>/routes.py``,
a ``ROUTES`` list); the gateway loads the tables of the services it is configured with, and
dispatch, validation, response shaping and the OpenAPI document all read them, so they cannot
disagree and a new service touches no gateway code.

    Route("POST", "/v1/hubs/<hub>/members", "enroll_member", "Enroll a member organization",
          "members", body=schemas.MemberCreate, response=schemas.Member, status=201,
          roles=("admin", "facilitator"))

The RPC method is called with the path parameters in order, then the body when the route takes
one, then ``limit``/``after`` for a paged list and ``format`` when the route answers more than
one content type. Idempotency-Key and If-Match travel in the call context, not as arguments.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from marshmallow import Schema

JSON = "application/json"
READERS = ("admin", "facilitator", "member")


@dataclass(frozen=True)
class Route:
    method: str
    path: str                      # werkzeug rule: /v1/hubs/<hub>
    rpc: str
    summary: str
    tag: str
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    paged: bool = False
    conditional: bool = False      # honours If-Match
    roles: tuple[str, ...] = READERS
    # What the route answers, by media type, and the ``format`` the RPC is asked for: the
    # gateway picks by the request's Accept header, the first one by default.
    content: dict[str, str] = field(default_factory=lambda: {JSON: "json"})
    # Also takes a multipart/form-data upload: each file's text under its field name.
    uploads: bool = False
    # Bytes a body may have; 0 is the gateway's default (1 MB).
    max_body: int = 0
    # Ids the answer holds, by the path parameter that names them elsewhere, as JSON pointers
    # into the answer ({"member": "/id"}): the OpenAPI document links to the routes that take
    # them.
    links: dict[str, str] = field(default_factory=dict)
    # Filled in when the gateway loads the service's table.
    service: str = ""

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}")

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.path)

    def arguments(self, params: dict[str, str], body: Any, limit: int, after: str | None,
                  media_type: str) -> tuple[list[Any], dict[str, Any]]:
        """The RPC call's arguments for one request."""
        args: list[Any] = [params[name] for name in self.params]
        if self.body is not None:
            args.append(body)
        kwargs: dict[str, Any] = {}
        if self.paged:
            kwargs.update(limit=limit, after=after)
        if len(self.content) > 1:
            kwargs["format"] = self.content[media_type]
        return args, kwargs


def service_routes(service: str) -> list[Route]:
    """The route table of one service, each route marked with the service that answers it."""
    module = importlib.import_module(f"services.{service}.routes")
    return [replace(route, service=service) for route in module.ROUTES]
