"""Membership's request and response shapes: validated here and in the gateway, and the source
of the OpenAPI document."""


from marshmallow import Schema, ValidationError, fields, validate

from eventstore.errors import ValidationError as DomainValidationError
from eventstore.ids import ANY_ID, ID_RULE
from eventstore.ids import HUB_ID as HUB_ID_PATTERN
from eventstore.validation import Boolean, Integer, IsoDate
from eventstore.zones import zone_named

from .domain import (
    DESIGN_TEAM_GROUPS,
    FACILITATION_STAGES,
    GRADE_SPAN,
    MEMBER_KINDS,
    ROLES,
    check_grade_span,
)
from .domain.oneroster import ECHO_MAX, ERRORS_REPORTED, PEOPLE_REPORTED

# A new object's own id (the service checks it is in the hub's namespace), and any id a body
# names (eventstore/ids.py).
ID = validate.Regexp(ANY_ID, error=ID_RULE)
HUB_ID = validate.Regexp(HUB_ID_PATTERN, error="lower-case letters, digits and dashes, 2 to "
                                                "63 characters, no dot")
NAME = validate.Length(min=1, max=200)


def time_zone(value: str) -> None:
    """An IANA time zone by its name (America/Los_Angeles): the zone a hub's meetings are
    planned in (eventstore.zones: a name, never a path or a machine's setting)."""
    if zone_named(value) is None:
        raise ValidationError("an IANA time zone, like America/Los_Angeles")


class HubCreate(Schema):
    id = fields.String(validate=HUB_ID)
    name = fields.String(required=True, validate=NAME)
    state = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$",
                                                                  error="two capital letters"))
    county_code = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{2}$"))
    facilitator_org = fields.String(required=True, validate=NAME)
    time_zone = fields.String(validate=time_zone, metadata={
        "description": "the IANA time zone the hub plans in; the main zone of its state when "
                       "not given (CA: America/Los_Angeles)"})


class Hub(Schema):
    id = fields.String()
    name = fields.String()
    state = fields.String()
    county_code = fields.String(allow_none=True)
    stage = fields.String()
    facilitator_org = fields.String()
    time_zone = fields.String(metadata={"description": "the IANA time zone the hub plans in"})
    version = Integer()


class FacilitationHandOver(Schema):
    stage = fields.String(required=True, validate=validate.OneOf(FACILITATION_STAGES))
    facilitator_org = fields.String(validate=NAME)
    on = IsoDate()


def grade_span(value: str) -> None:
    """The domain's rule, checked with the other fields so one answer names every bad one."""
    try:
        check_grade_span(value)
    except DomainValidationError as exc:
        raise ValidationError(exc.errors["grade_span"]) from None


class MemberCreate(Schema):
    id = fields.String(validate=ID)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(MEMBER_KINDS))
    grade_span = fields.String(required=True, validate=[
        validate.Regexp(GRADE_SPAN, error="like K-8, TK-5 or 9-12"), grade_span])
    enrollment = Integer(required=True,
                                validate=validate.Range(min=0, max=2_000_000))
    cds_code = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\d{14}$", error="the 14-digit California CDS code"))
    nces_id = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\d{7}(\d{5})?$", error="a 7-digit NCES district id or 12-digit school id"))


class Role(Schema):
    person_id = fields.String()
    role = fields.String()
    represents = fields.String(allow_none=True)


class Member(Schema):
    id = fields.String()
    hub_id = fields.String()
    name = fields.String()
    kind = fields.String()
    grade_span = fields.String()
    enrollment = Integer()
    cds_code = fields.String(allow_none=True)
    nces_id = fields.String(allow_none=True)
    status = fields.String()
    onboarded = Boolean()
    roles = fields.List(fields.Nested(Role))
    version = Integer()


class Offboarding(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class PersonCreate(Schema):
    id = fields.String(validate=ID)
    name = fields.String(required=True, validate=NAME)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))


class Person(Schema):
    id = fields.String()
    hub_id = fields.String()
    member_id = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    erased = Boolean()
    version = Integer()


class RoleAssignment(Schema):
    person_id = fields.String(required=True, validate=ID)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    represents = fields.String(allow_none=True, validate=validate.OneOf(DESIGN_TEAM_GROUPS))


class Onboarding(Schema):
    pass


class Readiness(Schema):
    member_id = fields.String()
    ready = Boolean()
    checks = fields.Dict(keys=fields.String(), values=Boolean())
    missing = fields.List(fields.String())
    details = fields.List(fields.String())


# A district's users.csv lists its students too (never imported, but in the file): a high
# school district of 6,649 students exports about 1 MB of them.
ROSTER_MAX_BYTES = 20_000_000
CSV_TEXT = validate.Length(min=1, max=ROSTER_MAX_BYTES)


class StaffImport(Schema):
    """A OneRoster 1.1 export: the text of orgs.csv and users.csv (or a multipart upload of
    the two files as fields ``orgs`` and ``users``)."""
    orgs = fields.String(required=True, validate=CSV_TEXT)
    users = fields.String(required=True, validate=CSV_TEXT)
    dry_run = Boolean(load_default=False)


class RowError(Schema):
    file = fields.String()
    line = Integer()
    sourced_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ImportedPerson(Schema):
    id = fields.String()
    sourced_id = fields.String()
    line = Integer()
    outcome = fields.String()


class StaffImportReport(Schema):
    """What an import did. Bounded whatever the files hold: every count is whole, but only
    the first 100 rejected rows and the first 100 people are listed (the member's staff:
    ``GET /v1/members/{member}/people``). A replay of an import whose answer was too large to
    keep (Idempotency-Key, or the same RPC message again) answers its summary: the counts,
    as many of the first errors as fit in 4 KB, no people, ``abridged: true``."""
    member_id = fields.String()
    dry_run = Boolean()
    imported = Integer()
    updated = Integer()
    unchanged = Integer()
    rejected = Integer(metadata={"description": "every rejected row"})
    rejected_by_field = fields.Dict(
        keys=fields.String(), values=Integer(),
        metadata={"description": "'<file> <field>' ('users.csv email', '_row' for a whole "
                                 "row) -> rows rejected for it; a row with several bad fields "
                                 "counts under each"})
    skipped = fields.Dict(keys=fields.String(), values=Integer())
    errors = fields.List(fields.Nested(RowError), metadata={
        "description": f"the first {ERRORS_REPORTED} rejected rows found (text repeated from "
                       f"the files cut to {ECHO_MAX} characters)"})
    people = fields.List(fields.Nested(ImportedPerson), metadata={
        "description": f"the first {PEOPLE_REPORTED} of people_total"})
    people_total = Integer(metadata={"description": "staff rows imported, updated or "
                                                    "unchanged"})
    abridged = Boolean(metadata={"description": "true in a replay's summary: people and all but "
                                                "the first errors left out"})
