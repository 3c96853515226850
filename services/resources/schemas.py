"""Resources' request and response shapes: validated here and in the gateway, and the source of
the OpenAPI document. The domain checks its rules again (a rating of 4.5, a link that is not
http(s)), naming the same fields."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from eventstore import querystring
from eventstore.ids import ANY_ID, ID_RULE
from eventstore.ids import HUB_ID as HUB_ID_PATTERN
from eventstore.validation import Boolean, Integer, ZonedDateTime

from .domain import KINDS, MAX_SESSIONS, SHARING, STARS, VISIBILITIES
from .domain.split import SPLIT_MODES

# Bounds of a library search (library_search.py checks them again, for direct RPC callers).
Q_MAX = 200              # characters of q
VALUE_MAX = 127          # characters of a tag, subject, grade band or problem id
TAGS_MAX = 20            # tags in one search

ID = validate.Regexp(ANY_ID, error=ID_RULE)
HUB_ID = validate.Regexp(HUB_ID_PATTERN, error="a hub's id")
TEXT = validate.Length(min=1, max=VALUE_MAX)
# A whole number of cents, up to ten million dollars.
CENTS = validate.Range(0, 1_000_000_000)
LINK = validate.URL(schemes={"http", "https"}, require_tld=False,
                    error="an http or https address")


def _words(most: int = TAGS_MAX) -> Any:
    return fields.List(fields.String(validate=TEXT), validate=validate.Length(max=most))


def _ids(most: int = 50) -> Any:
    return fields.List(fields.String(validate=ID), validate=validate.Length(max=most))


# -- the library ------------------------------------------------------------------------------

class ResourceContent(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    summary = fields.String(validate=validate.Length(max=4000), load_default="")
    link = fields.String(required=True, validate=[validate.Length(max=2000), LINK])
    tags = _words()
    subject = fields.String(allow_none=True, validate=TEXT)
    grade_band = fields.String(allow_none=True, validate=TEXT)
    problems = _ids()
    visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))


class ResourceCreate(ResourceContent):
    id = fields.String(validate=ID)
    hub_id = fields.String(required=True, validate=HUB_ID)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))


class ResourceRevision(Schema):
    """The fields that change (any of the content's), and why."""
    title = fields.String(validate=validate.Length(min=1, max=300))
    summary = fields.String(validate=validate.Length(max=4000))
    link = fields.String(validate=[validate.Length(max=2000), LINK])
    tags = _words()
    subject = fields.String(allow_none=True, validate=TEXT)
    grade_band = fields.String(allow_none=True, validate=TEXT)
    problems = _ids()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))


class Retirement(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))


class Rating(Schema):
    stars = Integer(required=True, validate=validate.Range(*STARS))


class RatingSummary(Schema):
    count = Integer(required=True)
    average = fields.Float(allow_none=True)


class Highlight(Schema):
    title = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)


class ContentShown(Schema):
    """An entry's content as an answer shows it (the entry, and each of its revisions)."""
    title = fields.String(required=True)
    summary = fields.String(required=True)
    link = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    subject = fields.String(allow_none=True)
    grade_band = fields.String(allow_none=True)
    problems = fields.List(fields.String())
    visibility = fields.String(required=True)


class Resource(ContentShown):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    kind = fields.String(required=True)
    retired = Boolean()
    revision = Integer(required=True)
    rating = fields.Nested(RatingSummary)
    created_at = ZonedDateTime()
    updated_at = ZonedDateTime()
    # In a search: how well it matched, and the matched words marked (<mark>…</mark>, the
    # text HTML-escaped); null without words.
    rank = fields.Float(allow_none=True)
    highlight = fields.Nested(Highlight, allow_none=True)


class Revision(ContentShown):
    revision = Integer(required=True)
    note = fields.String(allow_none=True)
    revised_at = ZonedDateTime(required=True)


class ResourceSearch(Schema):
    """``?q=&tag=&kind=&subject=&grade_band=&problem=&visibility=``: words (a search box's:
    "a phrase", or, -not), entries with every tag, of any of the kinds."""
    q = fields.String(validate=validate.Length(max=Q_MAX))
    tag = fields.List(fields.String(validate=TEXT), validate=validate.Length(max=TAGS_MAX))
    kind = fields.List(fields.String(validate=validate.OneOf(KINDS)),
                       validate=validate.Length(max=len(KINDS)))
    subject = fields.String(validate=TEXT)
    grade_band = fields.String(validate=TEXT)
    problem = fields.String(validate=ID)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class Facets(Schema):
    kind = fields.Dict(keys=fields.String(), values=Integer())
    tag = fields.Dict(keys=fields.String(), values=Integer())
    subject = fields.Dict(keys=fields.String(), values=Integer())


class SearchSummary(Schema):
    """What a page of a search holds besides its entries: counts of the whole result."""
    facets = fields.Nested(Facets, required=True)
    total = Integer(required=True)
    # False when more than the entries ranked matched: "at least ``total``".
    total_exact = Boolean(required=True)


# -- the pool of experts ----------------------------------------------------------------------

NAME = validate.Length(min=1, max=200)
PHONE = [validate.Length(max=40), validate.Regexp(r"^\+?[0-9 ().-]{7,40}$",
                                                  error="a telephone number")]
# An expert's name and contact data: personal data, never in events.
CONTACT = ("name", "email", "phone")


class ExpertRevision(Schema):
    """The fields that change; the others stay as they are (the contact data too)."""
    organisation = fields.String(validate=NAME)
    bio = fields.String(validate=validate.Length(max=4000))
    expertise = _words()
    rate_cents = Integer(validate=CENTS)
    languages = _words(10)
    travels = Boolean()
    travel_cost_cents = Integer(validate=CENTS)
    name = fields.String(validate=NAME)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=PHONE)


class ExpertCreate(Schema):
    id = fields.String(validate=ID)
    hub_id = fields.String(required=True, validate=HUB_ID)
    name = fields.String(required=True, validate=NAME)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=PHONE)
    organisation = fields.String(required=True, validate=NAME)
    bio = fields.String(load_default="", validate=validate.Length(max=4000))
    expertise = _words()
    rate_cents = Integer(required=True, validate=CENTS)
    languages = _words(10)
    travels = Boolean(load_default=False)
    travel_cost_cents = Integer(load_default=0, validate=CENTS)
    sharing = fields.String(load_default="consortium", validate=validate.OneOf(SHARING))
    hubs = fields.List(fields.String(validate=HUB_ID), validate=validate.Length(max=100))


class SharingChange(Schema):
    sharing = fields.String(required=True, validate=validate.OneOf(SHARING))
    hubs = fields.List(fields.String(validate=HUB_ID), validate=validate.Length(max=100))


class Expert(Schema):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    # Shown to the facilitators of the hubs the expert may serve.
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    organisation = fields.String()
    bio = fields.String()
    expertise = fields.List(fields.String())
    rate_cents = Integer()
    languages = fields.List(fields.String())
    travels = Boolean()
    travel_cost_cents = Integer()
    sharing = fields.String()
    hubs = fields.List(fields.String())
    retired = Boolean()
    erased = Boolean()
    # Whether one of the caller's hubs may engage the expert, and whether some hub has (never
    # which, nor for what).
    may_engage = Boolean()
    engaged = Boolean()
    version = Integer()


class ExpertSearch(Schema):
    """``?expertise=math&expertise=persistence``: experts with every one of these tags."""
    expertise = fields.List(fields.String(validate=TEXT), validate=validate.Length(max=TAGS_MAX))
    retired = querystring.Boolean()


# -- engagements ------------------------------------------------------------------------------

class EngagementCreate(Schema):
    id = fields.String(validate=ID)
    hub_id = fields.String(required=True, validate=HUB_ID)
    expert_id = fields.String(required=True, validate=ID)
    members = fields.List(fields.String(validate=ID), required=True,
                          validate=validate.Length(min=1, max=200))
    sessions = Integer(required=True, validate=validate.Range(1, MAX_SESSIONS))
    split = fields.String(load_default="enrollment", validate=validate.OneOf(SPLIT_MODES))


class EngagementJoin(Schema):
    hub_id = fields.String(required=True, validate=HUB_ID)
    members = fields.List(fields.String(validate=ID), required=True,
                          validate=validate.Length(min=1, max=200))


class HubPart(Schema):
    hub_id = fields.String(required=True)
    share_cents = Integer(required=True)
    alone_cents = Integer(required=True)
    saving_cents = Integer(required=True)


class MemberShare(Schema):
    member_id = fields.String(required=True)
    hub_id = fields.String(required=True)
    enrollment = Integer(required=True)
    share_cents = Integer(required=True)


class Engagement(Schema):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    expert_id = fields.String(required=True)
    status = fields.String(required=True)
    sessions = Integer(required=True)
    sessions_used = Integer(required=True)
    sessions_left = Integer(required=True)
    split = fields.String(required=True)
    rate_cents = Integer(required=True)
    travel_cost_cents = Integer(required=True)
    total_cents = Integer(required=True)
    hub_count = Integer(required=True)
    # The caller's own hubs' part, and their members' shares (never another hub's).
    hubs = fields.List(fields.Nested(HubPart))
    members = fields.List(fields.Nested(MemberShare))
    version = Integer(required=True)


class Departure(Schema):
    """A hub that joined leaves the engagement with its members (before it is confirmed)."""
    hub_id = fields.String(required=True, validate=HUB_ID)


class Departed(Schema):
    """What a hub that left an engagement is told (it no longer sees the engagement)."""
    engagement_id = fields.String(required=True)
    hub_id = fields.String(required=True)


class Closure(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=1000))


# -- matches and what worked elsewhere --------------------------------------------------------

class MatchedProblem(Schema):
    id = fields.String(required=True)
    hub_id = fields.String(required=True)
    title = fields.String(required=True)
    ratified = Boolean(required=True)
    # Derived: the tags in use (by entries and experts) that the problem's text names.
    tags = fields.List(fields.String(), required=True)


class Match(Schema):
    kind = fields.String(required=True, metadata={"enum": ["expert", "resource", "prototype"]})
    id = fields.String(required=True)
    # An entry's or prototype's title, an expert's name.
    title = fields.String(required=True)
    score = fields.Float(required=True)
    # Why it ranks where it does, in words, in order ("shares tags: math, persistence").
    reasons = fields.List(fields.String(), required=True)
    reason = fields.String(required=True, metadata={"description": "the reasons joined by '; '"})


class Matches(Schema):
    problem = fields.Nested(MatchedProblem, required=True)
    items = fields.List(fields.Nested(Match), required=True)


class NetworkPrototypeSearch(Schema):
    """``?q=&problem=``: words (a search box's), the problem of practice it was tested on."""
    q = fields.String(validate=validate.Length(max=Q_MAX))
    problem = fields.String(validate=ID)


class NetworkResult(Schema):
    """A test cycle's result as shared (counts of a group under 11 are null: suppressed)."""
    cycle_id = fields.String()
    number = Integer()
    decision = fields.String(allow_none=True)
    findings = fields.String(allow_none=True)
    n = Integer(allow_none=True)


class NetworkPrototype(Schema):
    id = fields.String(required=True)
    revision = Integer(required=True)
    revisions = fields.List(Integer(), required=True)
    hub_id = fields.String(required=True)
    member_id = fields.String(required=True)
    shared_by = fields.String(required=True)
    problem_id = fields.String(required=True)
    problem_title = fields.String(allow_none=True)
    name = fields.String(required=True)
    summary = fields.String(required=True)
    results = fields.List(fields.Nested(NetworkResult), required=True)
    shared_at = ZonedDateTime(required=True)
    rank = fields.Float(allow_none=True)


class NetworkPrototypes(Schema):
    items = fields.List(fields.Nested(NetworkPrototype), required=True)
