"""HTTP routes as data. Each service owns its route table (``services/<name>/routes.py``,
a ``ROUTES`` list); the gateway loads the tables of the services it is configured with, and
dispatch, validation, response shaping and the OpenAPI document all read them, so they cannot
disagree and a new service touches no gateway code.

    Route("POST", "/v1/hubs/<hub>/members", "enroll_member", "Enroll a member organization",
          "members", body=schemas.MemberCreate, response=schemas.Member, status=201,
          roles=("admin", "facilitator"))

The RPC method is called with the path parameters in order, then the body when the route takes
one, then the query when the route declares one (``query=schemas.X``: a dict of the parameters
as sent, each a text, a list of texts for a ``List`` field; the gateway has checked it against
the schema and the service loads it again with ``eventstore.validation.load``), then, as
keywords, ``limit``/``after`` for a paged list and ``format`` when the route answers more than
one content type. Idempotency-Key and If-Match travel in the call context, not as arguments.

    Route("GET", "/v1/hubs/<hub>/meetings", "hub_meetings", "A hub's meetings", "meetings",
          query=schemas.MeetingWindow, response=schemas.Meeting, paged=True, cursor="token")
    Route("GET", "/v1/calendars/<link>.ics", "calendar_feed", "A calendar, for calendar apps",
          "meetings", content={"text/calendar": "ics"}, access="link")

A paged list's ``after`` is the last id of the page before (``cursor="id"``), or an opaque
token the service made with ``eventstore.cursors`` (``cursor="token"``: a ranked search, a list
ordered by time). A route with ``access="link"`` is reached without a bearer token, by the
secret in its ``<link>`` path parameter (``eventstore.links``): the gateway authenticates no
one and sends no identity; the RPC resolves the secret itself.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

from marshmallow import Schema

from .config import route_modules

JSON = "application/json"
READERS = ("admin", "facilitator", "member")
# How a paged list's ``after`` reads: the last id of the page before, or a token of
# eventstore.cursors (bound to the caller and the list; a ranked search has no id order).
CURSORS = ("id", "token")
# Who may reach a route: a bearer token's holder (of ``roles``), or anyone holding the secret
# in its ``<link>`` path parameter (a calendar app, which sends no token).
ACCESS = ("token", "link")
LINK_PARAMETER = "link"
# Query parameters every route reads for itself (paging): no query schema may declare them.
PAGING_PARAMETERS = ("limit", "after")
# Route tables outside services/ (a test fixture's), by service: "desk=tests.fixtures.desk.routes"
# (comma separated). Unset in a deployment, where every table is services/<name>/routes.py.


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
    # Query parameters the route takes, as a marshmallow schema (eventstore.querystring has
    # fields that read text: numbers, yes/no; a ``List`` field is a repeated parameter).
    # Any other parameter is refused, naming it.
    query: type[Schema] | None = None
    # A paged list's ``after``: "id" or "token" (CURSORS).
    cursor: str = "id"
    # The largest ``limit`` a page may ask for.
    most: int = 200
    # What a page holds besides ``items`` and ``next`` (a search's facets and total), as a
    # schema whose fields sit next to them.
    page_fields: type[Schema] | None = None
    # "token" or "link" (ACCESS). A link route is a GET whose ``<link>`` parameter is the
    # secret; ``roles`` do not apply to it.
    access: str = "token"
    # Filled in when the gateway loads the service's table.
    service: str = ""

    def __post_init__(self) -> None:
        # A table that cannot be served as written fails when it is loaded, not on a request.
        where = f"{self.method} {self.path}"
        if self.cursor not in CURSORS:
            raise ValueError(f"{where}: cursor is one of {', '.join(CURSORS)}")
        if self.cursor != "id" and not self.paged:
            raise ValueError(f"{where}: a cursor is for a paged list (paged=True)")
        if self.page_fields is not None and not self.paged:
            raise ValueError(f"{where}: page_fields are for a paged list (paged=True)")
        if self.access not in ACCESS:
            raise ValueError(f"{where}: access is one of {', '.join(ACCESS)}")
        if self.access == "link" and (
                self.method != "GET" or LINK_PARAMETER not in self.params or self.body is not None
                or self.conditional or self.paged):
            # A secret in a URL travels in logs and histories: it may read, never write; and
            # a page cursor is bound to a caller, which a link has none of.
            raise ValueError(f"{where}: a link route is a GET with a <{LINK_PARAMETER}> "
                             "parameter, no body, no If-Match and no paging")
        if self.query is not None:
            taken = set(self.query_fields()) & {*PAGING_PARAMETERS, *self.params}
            if taken:
                raise ValueError(f"{where}: the query may not declare {', '.join(taken)}")

    def query_fields(self) -> dict[str, Any]:
        """The query schema's fields by the parameter names a client sends (data keys)."""
        if self.query is None:
            return {}
        return {f.data_key or name: f for name, f in self.query().fields.items()
                if not f.dump_only}

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}")

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.path)

    def arguments(self, params: dict[str, str], body: Any, limit: int, after: str | None,
                  media_type: str, query: dict[str, Any] | None = None
                  ) -> tuple[list[Any], dict[str, Any]]:
        """The RPC call's arguments for one request."""
        args: list[Any] = [params[name] for name in self.params]
        if self.body is not None:
            args.append(body)
        if self.query is not None:
            args.append(query or {})
        kwargs: dict[str, Any] = {}
        if self.paged:
            kwargs.update(limit=limit, after=after)
        if len(self.content) > 1:
            kwargs["format"] = self.content[media_type]
        return args, kwargs


def route_module(service: str) -> str:
    """The module of a service's route table: ``services.<name>.routes``, unless
    CONSORTIUM_GATEWAY_ROUTE_MODULES names another (a test fixture's)."""
    return route_modules().get(service, f"services.{service}.routes")


def service_routes(service: str) -> list[Route]:
    """The route table of one service, each route marked with the service that answers it."""
    module = importlib.import_module(route_module(service))
    return [replace(route, service=service) for route in module.ROUTES]
