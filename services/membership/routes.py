"""Membership's part of the public HTTP API (API.md): the gateway serves this table."""

from eventstore.routes import Route

from . import schemas

WRITERS = ("admin", "facilitator")

ROUTES: list[Route] = [
    Route("POST", "/v1/hubs", "register_hub", "Register a county hub", "hubs",
          body=schemas.HubCreate, response=schemas.Hub, status=201, roles=("admin",),
          links={"hub": "/id"}),
    Route("GET", "/v1/hubs", "list_hubs", "Hubs the caller may see", "hubs",
          response=schemas.Hub, paged=True, links={"hub": "/items/0/id"}),
    Route("GET", "/v1/hubs/<hub>", "get_hub", "One hub", "hubs", response=schemas.Hub),
    Route("POST", "/v1/hubs/<hub>/facilitation", "hand_over_facilitation",
          "Hand facilitation over (external → co_facilitation → county_office)", "hubs",
          body=schemas.FacilitationHandOver, response=schemas.Hub, conditional=True,
          roles=WRITERS),
    Route("POST", "/v1/hubs/<hub>/members", "enroll_member", "Enroll a member organization",
          "members", body=schemas.MemberCreate, response=schemas.Member, status=201,
          roles=WRITERS, links={"member": "/id"}),
    Route("GET", "/v1/hubs/<hub>/members", "list_members", "Members of a hub", "members",
          response=schemas.Member, paged=True),
    Route("GET", "/v1/members/<member>", "get_member", "One member with its roles", "members",
          response=schemas.Member),
    Route("POST", "/v1/members/<member>/offboarding", "offboard_member", "Off-board a member",
          "members", body=schemas.Offboarding, response=schemas.Member, conditional=True,
          roles=WRITERS),
    Route("POST", "/v1/members/<member>/roles", "assign_role",
          "Give a person a role: sponsor, driver, design_team (representing a group), "
          "facilitator", "members", body=schemas.RoleAssignment, response=schemas.Member,
          conditional=True, roles=WRITERS),
    Route("POST", "/v1/members/<member>/onboarding", "complete_onboarding",
          "Record that onboarding is complete", "members", body=schemas.Onboarding,
          response=schemas.Member, conditional=True, roles=WRITERS),
    Route("GET", "/v1/members/<member>/readiness", "readiness",
          "Pre-work checklist and what is missing", "members", response=schemas.Readiness),
    Route("POST", "/v1/hubs/<hub>/people", "add_person", "Add a person to a hub", "people",
          body=schemas.PersonCreate, response=schemas.Person, status=201, roles=WRITERS,
          links={"person": "/id"}),
    Route("POST", "/v1/members/<member>/staff-imports", "import_staff",
          "Import a member's staff from a OneRoster 1.1 export (orgs.csv, users.csv; JSON or "
          "multipart upload): good rows are added, bad rows counted by file and field and "
          "the first 100 reported by file and line, students and families never imported",
          "people", body=schemas.StaffImport,
          response=schemas.StaffImportReport, roles=WRITERS, uploads=True,
          max_body=schemas.ROSTER_MAX_BYTES + 100_000),
    Route("GET", "/v1/members/<member>/people", "list_staff",
          "A member's staff (people imported or added for the member)", "people",
          response=schemas.Person, paged=True),
    Route("GET", "/v1/people/<person>", "get_person", "One person", "people",
          response=schemas.Person),
    Route("DELETE", "/v1/people/<person>", "erase_person",
          "Erase a person's personal data everywhere (the log keeps only the id)", "people",
          response=schemas.Person, roles=WRITERS, conditional=True),
]
