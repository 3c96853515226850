"""The public HTTP API as one table: dispatch, validation and the OpenAPI document all read it,
so they cannot disagree. Each route names the service and RPC method that answers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema

from services.membership import schemas as membership


@dataclass
class Call:
    params: dict[str, str]
    body: dict[str, Any]
    key: str | None
    expected_version: int | None
    limit: int
    after: str | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str                      # werkzeug rule: /v1/hubs/<hub>
    service: str
    rpc: str
    args: Callable[[Call], tuple[list[Any], dict[str, Any]]]
    summary: str
    tag: str
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    paged: bool = False
    conditional: bool = False      # honours If-Match
    roles: tuple[str, ...] = field(default=("admin", "facilitator", "member"))

    @property
    def openapi_path(self) -> str:
        return self.path.replace("<", "{").replace(">", "}")


def _key(c: Call) -> dict[str, Any]:
    return {"key": c.key}


def _cond(c: Call) -> dict[str, Any]:
    return {"key": c.key, "expected_version": c.expected_version}


ROUTES: list[Route] = [
    Route("POST", "/v1/hubs", "membership", "register_hub",
          lambda c: ([c.body], _key(c)), "Register a county hub", "hubs",
          body=membership.HubCreate, response=membership.Hub, status=201, roles=("admin",)),
    Route("GET", "/v1/hubs", "membership", "list_hubs",
          lambda c: ([], {"limit": c.limit, "after": c.after}), "Hubs the caller may see",
          "hubs", response=membership.Hub, paged=True),
    Route("GET", "/v1/hubs/<hub>", "membership", "get_hub",
          lambda c: ([c.params["hub"]], {}), "One hub", "hubs", response=membership.Hub),
    Route("POST", "/v1/hubs/<hub>/facilitation", "membership", "hand_over_facilitation",
          lambda c: ([c.params["hub"], c.body], _cond(c)),
          "Hand facilitation over (external → co_facilitation → county_office)", "hubs",
          body=membership.FacilitationHandOver, response=membership.Hub, conditional=True,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/hubs/<hub>/members", "membership", "enroll_member",
          lambda c: ([c.params["hub"], c.body], _key(c)), "Enroll a member organization",
          "members", body=membership.MemberCreate, response=membership.Member, status=201,
          roles=("admin", "facilitator")),
    Route("GET", "/v1/hubs/<hub>/members", "membership", "list_members",
          lambda c: ([c.params["hub"]], {"limit": c.limit, "after": c.after}),
          "Members of a hub", "members", response=membership.Member, paged=True),
    Route("GET", "/v1/members/<member>", "membership", "get_member",
          lambda c: ([c.params["member"]], {}), "One member with its roles", "members",
          response=membership.Member),
    Route("POST", "/v1/members/<member>/offboarding", "membership", "offboard_member",
          lambda c: ([c.params["member"], c.body], _cond(c)), "Off-board a member", "members",
          body=membership.Offboarding, response=membership.Member, conditional=True,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/roles", "membership", "assign_role",
          lambda c: ([c.params["member"], c.body], _cond(c)),
          "Give a person a role: sponsor, driver, design_team (representing a group), "
          "facilitator", "members", body=membership.RoleAssignment,
          response=membership.Member, conditional=True, roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/onboarding", "membership", "complete_onboarding",
          lambda c: ([c.params["member"]], _cond(c)), "Record that onboarding is complete",
          "members", body=membership.Onboarding, response=membership.Member,
          conditional=True, roles=("admin", "facilitator")),
    Route("GET", "/v1/members/<member>/readiness", "membership", "readiness",
          lambda c: ([c.params["member"]], {}), "Pre-work checklist and what is missing",
          "members", response=membership.Readiness),
    Route("POST", "/v1/hubs/<hub>/people", "membership", "add_person",
          lambda c: ([c.params["hub"], c.body], _key(c)), "Add a person to a hub", "people",
          body=membership.PersonCreate, response=membership.Person, status=201,
          roles=("admin", "facilitator")),
    Route("POST", "/v1/members/<member>/staff-imports", "membership", "import_staff",
          lambda c: ([c.params["member"], c.body], _key(c)),
          "Import a member's staff from a OneRoster 1.1 export (orgs.csv, users.csv; JSON "
          "or multipart upload): good rows are added, bad rows reported by file and line, "
          "students and families never imported", "people", body=membership.StaffImport,
          response=membership.StaffImportReport, roles=("admin", "facilitator")),
    Route("GET", "/v1/members/<member>/people", "membership", "list_staff",
          lambda c: ([c.params["member"]], {"limit": c.limit, "after": c.after}),
          "A member's staff (people imported or added for the member)", "people",
          response=membership.Person, paged=True),
    Route("GET", "/v1/people/<person>", "membership", "get_person",
          lambda c: ([c.params["person"]], {}), "One person", "people",
          response=membership.Person),
    Route("DELETE", "/v1/people/<person>", "membership", "erase_person",
          lambda c: ([c.params["person"]], _key(c)),
          "Erase a person's personal data everywhere (the log keeps only the id)", "people",
          response=membership.Person, roles=("admin", "facilitator")),
]
