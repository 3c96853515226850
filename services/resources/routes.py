"""The resources service's part of the public HTTP API (API.md): the gateway serves this table."""

from eventstore.routes import Route

from . import schemas

WRITERS = ("admin", "facilitator")
CONTRIBUTORS = ("admin", "facilitator", "member")
ON_RESOURCE: dict = {"response": schemas.Resource, "links": {"resource": "/id"}}
ON_EXPERT: dict = {"response": schemas.Expert, "links": {"expert": "/id"}}
ON_ENGAGEMENT: dict = {"response": schemas.Engagement, "links": {"engagement": "/id"}}

ROUTES: list[Route] = [
    # The library.
    Route("POST", "/v1/resources", "publish_resource",
          "Publish a library entry in a hub's library (a member shares as member_share)",
          "library", body=schemas.ResourceCreate, status=201, roles=CONTRIBUTORS,
          **ON_RESOURCE),
    Route("GET", "/v1/resources", "search_resources",
          "Search the library: words (\"a phrase\", or, -not), filters, facets; ranked, the "
          "matched words marked", "library", query=schemas.ResourceSearch,
          response=schemas.Resource, paged=True, cursor="token",
          page_fields=schemas.SearchSummary),
    Route("GET", "/v1/resources/<resource>", "get_resource", "One library entry", "library",
          response=schemas.Resource),
    Route("GET", "/v1/resources/<resource>/revisions", "resource_revisions",
          "Every revision of a library entry, the first first", "library",
          response=schemas.Revision, paged=True, cursor="token"),
    Route("POST", "/v1/resources/<resource>/revisions", "revise_resource",
          "Revise a library entry (its history is kept)", "library",
          body=schemas.ResourceRevision, status=201, conditional=True, roles=WRITERS,
          **ON_RESOURCE),
    Route("POST", "/v1/resources/<resource>/retirement", "retire_resource",
          "Retire a library entry", "library", body=schemas.Retirement, conditional=True,
          roles=WRITERS, **ON_RESOURCE),
    Route("POST", "/v1/resources/<resource>/ratings", "rate_resource",
          "Rate a library entry 1 to 5 (one rating per person; rating again changes it)",
          "library", body=schemas.Rating, roles=CONTRIBUTORS, **ON_RESOURCE),
    # The pool of experts.
    Route("POST", "/v1/experts", "add_expert",
          "Add an expert to the consortium's pool, shared with every hub or named hubs",
          "experts", body=schemas.ExpertCreate, status=201, roles=WRITERS, **ON_EXPERT),
    Route("GET", "/v1/experts", "list_experts", "The pool of experts, by expertise", "experts",
          query=schemas.ExpertSearch, response=schemas.Expert, paged=True),
    Route("GET", "/v1/experts/<expert>", "get_expert", "One expert of the pool", "experts",
          response=schemas.Expert),
    Route("POST", "/v1/experts/<expert>/profile", "revise_expert",
          "Revise an expert's profile or contact data (the fields given)", "experts",
          body=schemas.ExpertRevision,
          conditional=True, roles=WRITERS, **ON_EXPERT),
    Route("POST", "/v1/experts/<expert>/sharing", "change_expert_sharing",
          "Share an expert with the whole consortium or named hubs", "experts",
          body=schemas.SharingChange, conditional=True, roles=WRITERS, **ON_EXPERT),
    Route("POST", "/v1/experts/<expert>/retirement", "retire_expert",
          "Retire an expert from the pool", "experts", body=schemas.Retirement,
          conditional=True, roles=WRITERS, **ON_EXPERT),
    Route("DELETE", "/v1/experts/<expert>", "erase_expert",
          "Erase an expert's name and contact data everywhere", "experts",
          conditional=True, roles=WRITERS, **ON_EXPERT),
    # Matches for a problem of practice, and what worked elsewhere.
    Route("GET", "/v1/problems/<problem>/matches", "problem_matches",
          "Experts, library entries and prototypes shared elsewhere that fit a problem of "
          "practice, best first, each with its reasons in words", "matches",
          response=schemas.Matches),
    Route("GET", "/v1/prototypes/shared", "shared_prototypes",
          "Prototypes members shared with the network, by words and problem of practice "
          "(counts of a group under 11 suppressed)", "matches",
          query=schemas.NetworkPrototypeSearch, response=schemas.NetworkPrototypes),
    # Engagements.
    Route("POST", "/v1/engagements", "propose_engagement",
          "Propose engaging an expert for some of a hub's members and a number of sessions",
          "engagements", body=schemas.EngagementCreate, status=201, roles=WRITERS,
          **ON_ENGAGEMENT),
    Route("GET", "/v1/engagements/<engagement>", "get_engagement",
          "An engagement and the caller's hubs' part of its cost split", "engagements",
          response=schemas.Engagement),
    Route("POST", "/v1/engagements/<engagement>/hubs", "join_engagement",
          "Another hub joins with its own members (the split is recomputed)", "engagements",
          body=schemas.EngagementJoin, conditional=True, roles=WRITERS, **ON_ENGAGEMENT),
    Route("POST", "/v1/engagements/<engagement>/departure", "leave_engagement",
          "A hub that joined leaves with its members", "engagements",
          body=schemas.Departure, response=schemas.Departed, conditional=True,
          roles=WRITERS),
    Route("POST", "/v1/engagements/<engagement>/confirmation", "confirm_engagement",
          "The proposing hub confirms: the split is final", "engagements",
          conditional=True, roles=WRITERS, **ON_ENGAGEMENT),
    Route("POST", "/v1/engagements/<engagement>/closure", "close_engagement",
          "The proposing hub closes the engagement", "engagements", body=schemas.Closure,
          conditional=True, roles=WRITERS, **ON_ENGAGEMENT),
]
