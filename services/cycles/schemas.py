"""Cycles' request and response shapes: validated here and in the gateway, and the source of
the OpenAPI document."""

from marshmallow import Schema, fields, validate

from .domain import (
    DATA_METHODS,
    DECISIONS,
    DIRECTIONS,
    GOAL_KINDS,
    IDEA_SOURCES,
    INDICATOR_KINDS,
    MIN_GROUP_SIZE,
    PHASES,
)

ID = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$",
                     error="lower-case letters, digits and dashes, 2 to 63 characters")
TITLE = validate.Length(min=1, max=200)
TEXT = validate.Length(min=1, max=5000)
NUMBER = {"allow_nan": False, "validate": validate.Range(min=-1e12, max=1e12)}


class SupportingData(Schema):
    source = fields.String(required=True, validate=TITLE)
    finding = fields.String(required=True, validate=TEXT)


class ProblemCreate(Schema):
    id = fields.String(validate=ID)
    title = fields.String(required=True, validate=TITLE)
    statement = fields.String(required=True, validate=TEXT)
    supporting_data = fields.List(fields.Nested(SupportingData), required=True,
                                  validate=validate.Length(max=50))
    selection_criteria = fields.List(fields.String(validate=TITLE), required=True,
                                     validate=validate.Length(max=50))


class Ratification(Schema):
    on = fields.Date()
    votes_for = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000))
    votes_against = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000))


class ProblemOfPractice(Schema):
    id = fields.String()
    hub_id = fields.String()
    title = fields.String()
    statement = fields.String()
    supporting_data = fields.List(fields.Nested(SupportingData))
    selection_criteria = fields.List(fields.String())
    status = fields.String()
    ratified_on = fields.Date(allow_none=True)
    version = fields.Integer()


class ProjectCreate(Schema):
    id = fields.String(validate=ID)
    problem_id = fields.String(required=True, validate=ID)


class GoalCreate(Schema):
    """Only shapes here: whether the goal is SMART is the domain's rule, which says why not."""
    id = fields.String(validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(GOAL_KINDS))
    statement = fields.String(required=True, validate=validate.Length(max=5000))
    measure = fields.String(validate=validate.Length(max=200))
    unit = fields.String(allow_none=True, validate=TITLE)
    baseline = fields.Float(**NUMBER)
    target = fields.Float(**NUMBER)
    due = fields.Date()


class GoalRevision(Schema):
    statement = fields.String(validate=TEXT)
    measure = fields.String(validate=TITLE)
    unit = fields.String(allow_none=True, validate=TITLE)
    baseline = fields.Float(**NUMBER)
    target = fields.Float(**NUMBER)
    due = fields.Date()
    reason = fields.String(required=True, validate=TEXT)


class DataCreate(Schema):
    id = fields.String(validate=ID)
    method = fields.String(required=True, validate=validate.OneOf(DATA_METHODS))
    summary = fields.String(required=True, validate=TEXT)
    source = fields.String(allow_none=True, validate=TITLE)
    n = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0))


class InsightCreate(Schema):
    id = fields.String(validate=ID)
    text = fields.String(required=True, validate=TEXT)
    data_ids = fields.List(fields.String(validate=ID), load_default=list,
                           validate=validate.Length(max=100))


class IdeaCreate(Schema):
    id = fields.String(validate=ID)
    description = fields.String(required=True, validate=TEXT)
    source = fields.String(required=True, validate=validate.OneOf(IDEA_SOURCES))
    source_ref = fields.String(allow_none=True, validate=TITLE)


class PrototypeCreate(Schema):
    id = fields.String(validate=ID)
    name = fields.String(required=True, validate=TITLE)
    description = fields.String(required=True, validate=TEXT)
    idea_ids = fields.List(fields.String(validate=ID), required=True,
                           validate=validate.Length(max=50))


class Criterion(Schema):
    criterion = fields.String(required=True, validate=TITLE)
    met = fields.Boolean(required=True)
    note = fields.String(allow_none=True, validate=TEXT)


class Selection(Schema):
    criteria = fields.List(fields.Nested(Criterion), required=True,
                           validate=validate.Length(max=50))


class PhaseChange(Schema):
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    reason = fields.String(allow_none=True, validate=TEXT)


class IndicatorCreate(Schema):
    id = fields.String(validate=ID)
    name = fields.String(required=True, validate=TITLE)
    kind = fields.String(required=True, validate=validate.OneOf(INDICATOR_KINDS))
    unit = fields.String(required=True, validate=TITLE)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    baseline = fields.Float(allow_none=True, **NUMBER)
    target = fields.Float(allow_none=True, **NUMBER)


class Plan(Schema):
    who = fields.String(required=True, validate=TEXT)
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)
    how = fields.String(required=True, validate=TEXT)


class CycleCreate(Schema):
    id = fields.String(validate=ID)
    plan = fields.Nested(Plan, required=True)
    prediction = fields.String(required=True, validate=TEXT)


class MeasurementCreate(Schema):
    indicator_id = fields.String(required=True, validate=ID)
    value = fields.Float(required=True, **NUMBER)
    n = fields.Integer(required=True, strict=True,
                       validate=validate.Range(min=MIN_GROUP_SIZE, max=10_000_000, error=(
                           f"the size of the group measured, at least {MIN_GROUP_SIZE}: "
                           "no student-level data")))
    on = fields.Date(required=True)
    note = fields.String(allow_none=True, validate=TEXT)


class Completion(Schema):
    findings = fields.String(required=True, validate=TEXT)
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))


class Sharing(Schema):
    summary = fields.String(required=True, validate=TEXT)


class Project(Schema):
    id = fields.String()
    hub_id = fields.String()
    member_id = fields.String()
    problem_id = fields.String()
    phase = fields.String(allow_none=True)
    exit_criteria_missing = fields.List(fields.String())
    goals = fields.List(fields.Dict())
    data = fields.List(fields.Dict())
    insights = fields.List(fields.Dict())
    ideas = fields.List(fields.Dict())
    prototypes = fields.List(fields.Dict())
    indicators = fields.List(fields.Dict())
    cycles = fields.List(fields.Dict())
    version = fields.Integer()


class Signal(Schema):
    rule = fields.String(metadata={"description": "shift, trend, too_few_runs, too_many_runs "
                                                  "or astronomical_point"})
    points = fields.List(fields.Integer(), metadata={"description": "indexes into points"})
    detail = fields.String()


class Point(Schema):
    on = fields.Date()
    value = fields.Float()
    n = fields.Integer()
    cycle_id = fields.String()


class RunChart(Schema):
    indicator = fields.Dict()
    points = fields.List(fields.Nested(Point))
    median = fields.Float(allow_none=True)
    runs = fields.Dict(allow_none=True)
    signals = fields.List(fields.Nested(Signal))


class MemberProgress(Schema):
    member_id = fields.String()
    name = fields.String()
    project_id = fields.String(allow_none=True)
    problem_id = fields.String(allow_none=True)
    phase = fields.String(allow_none=True)
    cycles_completed = fields.Integer()
    last_decision = fields.String(allow_none=True)
    signals = fields.List(fields.Dict())


class HubProgress(Schema):
    hub_id = fields.String()
    members = fields.List(fields.Nested(MemberProgress))
    shares = fields.List(fields.Dict())
