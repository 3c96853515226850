"""Cycles' request and response shapes: validated here and in the gateway, and the source of
the OpenAPI document."""

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from eventstore.ids import ANY_ID, ID_RULE
from eventstore.validation import Boolean, Float, Integer, IsoDate, Parts

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

# A new object's own id (the service checks it is in the hub's namespace), and any id a body
# names (eventstore/ids.py).
ID = validate.Regexp(ANY_ID, error=ID_RULE)

# Contact data that slips into notes (decision 005): an email address, and a North American
# phone number as people write one — 530-555-0123, (530) 555-0123, 530.555.0123,
# 530 555 0123, +1 530 555 0123, 5305550123 — but not the numbers of findings: years (2016-17),
# dates, ranges (grades 3-8, 2190-2489), counts (n=212), amounts, percentages, CDS codes.
# An address is tried only where a run of the characters of its name starts, each run taken
# whole (possessive): tried from every place in a run, a 1 MB one took minutes (quadratic).
EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]++@(?:[A-Za-z0-9-]++\.)+[A-Za-z]{2,}")
PHONE = re.compile(r"""
    (?<![\w$.,/+-])                  # not inside a longer number, a word or an amount
    (?:\+?1[ .-]?)?                   # the country code
    (?:\([2-9][0-9]{2}\)\ ?[2-9][0-9]{2}[ .-]?             # (530) 555-0123
      |[2-9][0-9]{2}(?P<sep>[ .-]?)[2-9][0-9]{2}(?P=sep))  # 530-555-0123, 5305550123
    [0-9]{4}
    (?!\w|[.,/-][0-9])               # not followed by more of a number
    """, re.VERBOSE)


class NoContactData(validate.Validator):
    """Free text may hold no email address or phone number: erasure removes a person's
    contact data from membership's tables and the answers kept for Idempotency-Keys, never
    from the words of a project's events (decision 005)."""

    error = ("free text may not hold an email address or phone number: this holds {found}; "
             "a person's contact data belongs with the person (membership), which erasure "
             "reaches")

    def __call__(self, value: str) -> str:
        for pattern, found in ((EMAIL, "an email address"), (PHONE, "a phone number")):
            if pattern.search(value):
                raise ValidationError(self.error.format(found=found))
        return value


NO_CONTACT = NoContactData()
TITLE = [validate.Length(min=1, max=200), NO_CONTACT]
TEXT = [validate.Length(min=1, max=5000), NO_CONTACT]
NUMBER: dict[str, Any] = {"allow_nan": False, "validate": validate.Range(min=-1e12, max=1e12)}


class SupportingData(Schema):
    source = fields.String(required=True, validate=TITLE)
    finding = fields.String(required=True, validate=TEXT)


class ProblemCreate(Schema):
    id = fields.String(validate=ID)
    title = fields.String(required=True, validate=TITLE)
    statement = fields.String(required=True, validate=TEXT)
    supporting_data = fields.List(fields.Nested(SupportingData), required=True,
                                  validate=validate.Length(min=1, max=50))
    selection_criteria = fields.List(fields.String(validate=TITLE), required=True,
                                     validate=validate.Length(min=1, max=50))


class Ratification(Schema):
    on = IsoDate()
    votes_for = Integer(validate=validate.Range(min=0, max=100_000))
    votes_against = Integer(validate=validate.Range(min=0, max=100_000))


class ProblemOfPractice(Schema):
    id = fields.String()
    hub_id = fields.String()
    title = fields.String()
    statement = fields.String()
    supporting_data = fields.List(fields.Nested(SupportingData))
    selection_criteria = fields.List(fields.String())
    status = fields.String()
    ratified_on = IsoDate(allow_none=True)
    version = Integer()


class ProjectCreate(Schema):
    id = fields.String(validate=ID)
    problem_id = fields.String(required=True, validate=ID)


class GoalCreate(Schema):
    """Only shapes here: whether the goal is SMART is the domain's rule, which says why not."""
    id = fields.String(validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(GOAL_KINDS))
    statement = fields.String(required=True, validate=[validate.Length(max=5000), NO_CONTACT])
    measure = fields.String(validate=[validate.Length(max=200), NO_CONTACT])
    unit = fields.String(allow_none=True, validate=TITLE)
    baseline = Float(**NUMBER)
    target = Float(**NUMBER)
    due = IsoDate()


class GoalRevision(Schema):
    statement = fields.String(validate=TEXT)
    measure = fields.String(validate=TITLE)
    unit = fields.String(allow_none=True, validate=TITLE)
    baseline = Float(**NUMBER)
    target = Float(**NUMBER)
    due = IsoDate()
    reason = fields.String(required=True, validate=TEXT)


class DataCreate(Schema):
    id = fields.String(validate=ID)
    method = fields.String(required=True, validate=validate.OneOf(DATA_METHODS))
    summary = fields.String(required=True, validate=TEXT)
    source = fields.String(allow_none=True, validate=TITLE)
    n = Integer(allow_none=True, validate=validate.Range(min=0))


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
    met = Boolean(required=True)
    note = fields.String(allow_none=True, validate=TEXT)


class Selection(Schema):
    criteria = fields.List(fields.Nested(Criterion), required=True,
                           validate=validate.Length(min=1, max=50))


class PhaseChange(Schema):
    phase = fields.String(required=True, validate=validate.OneOf(PHASES))
    reason = fields.String(allow_none=True, validate=TEXT)


class IndicatorCreate(Schema):
    id = fields.String(validate=ID)
    name = fields.String(required=True, validate=TITLE)
    kind = fields.String(required=True, validate=validate.OneOf(INDICATOR_KINDS))
    unit = fields.String(required=True, validate=TITLE)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    baseline = Float(allow_none=True, **NUMBER)
    target = Float(allow_none=True, **NUMBER)


class Plan(Schema):
    who = fields.String(required=True, validate=TEXT)
    starts = IsoDate(required=True)
    ends = IsoDate(required=True)
    how = fields.String(required=True, validate=TEXT)


class CycleCreate(Schema):
    id = fields.String(validate=ID)
    plan = fields.Nested(Plan, required=True)
    prediction = fields.String(required=True, validate=TEXT)


class MeasurementCreate(Schema):
    indicator_id = fields.String(required=True, validate=ID)
    value = Float(required=True, **NUMBER)
    n = Integer(required=True,
                       validate=validate.Range(min=MIN_GROUP_SIZE, max=10_000_000, error=(
                           f"the size of the group measured, at least {MIN_GROUP_SIZE}: "
                           "no student-level data")))
    on = IsoDate(required=True)
    note = fields.String(allow_none=True, validate=TEXT)


class Completion(Schema):
    findings = fields.String(required=True, validate=TEXT)
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))


class Sharing(Schema):
    summary = fields.String(required=True, validate=TEXT)


class GoalRevisionRecord(Schema):
    previous = fields.Dict(metadata={"description": "the goal's statement, measure, unit, "
                                                    "baseline, target and due date before"})
    reason = fields.String()


class Goal(Schema):
    id = fields.String()
    kind = fields.String()
    statement = fields.String()
    measure = fields.String()
    unit = fields.String(allow_none=True)
    baseline = Float()
    target = Float()
    due = IsoDate()
    revisions = fields.List(fields.Nested(GoalRevisionRecord))


class Data(Schema):
    id = fields.String()
    method = fields.String()
    summary = fields.String()
    source = fields.String(allow_none=True)
    n = Integer(allow_none=True)


class Insight(Schema):
    id = fields.String()
    text = fields.String()
    data_ids = fields.List(fields.String())


class Idea(Schema):
    id = fields.String()
    description = fields.String()
    source = fields.String()
    source_ref = fields.String(allow_none=True)


class PrototypeRevisionRecord(Schema):
    revision = Integer()
    reason = fields.String()


class Prototype(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    idea_ids = fields.List(fields.String())
    revision = Integer()
    selected = Boolean()
    criteria = fields.List(fields.Nested(Criterion))
    revisions = fields.List(fields.Nested(PrototypeRevisionRecord))
    shared = Boolean()


class Indicator(Schema):
    id = fields.String()
    prototype_id = fields.String()
    name = fields.String()
    kind = fields.String()
    unit = fields.String()
    direction = fields.String()
    baseline = Float(allow_none=True)
    target = Float(allow_none=True)


class PlanView(Schema):
    who = fields.String()
    starts = IsoDate()
    ends = IsoDate()
    how = fields.String()


class Measurement(Schema):
    indicator_id = fields.String()
    value = Float()
    n = Integer()
    on = IsoDate()
    note = fields.String(allow_none=True)


class TestCycle(Schema):
    id = fields.String()
    prototype_id = fields.String()
    revision = Integer()
    number = Integer()
    plan = fields.Nested(PlanView)
    prediction = fields.String()
    status = fields.String(metadata={"description": "running or completed"})
    measurements = fields.List(fields.Nested(Measurement), metadata={
        "description": "all of them when the project is read; in a command's answer, those "
                       "the command recorded"})
    measurement_count = Integer(metadata={"description": "how many measurements the cycle "
                                                         "holds in all"})
    findings = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)


class Project(Schema):
    """A project. Read, it holds all of its parts; a command's answer holds the project's own
    fields and, in each part list, only the parts the command changed."""
    id = fields.String()
    hub_id = fields.String()
    member_id = fields.String()
    problem_id = fields.String()
    phase = fields.String(allow_none=True)
    # GET only: what the phase still needs depends on the member's pre-work, which the read
    # adds; a project's own method of that name is not an answer field (hence the attribute).
    exit_criteria_missing = fields.List(fields.String(), attribute="exit_criteria_on_read",
                                        metadata={"description": "what the current phase "
                                                                 "still needs (GET only)"})
    goals = Parts(fields.Nested(Goal))
    data = Parts(fields.Nested(Data))
    insights = Parts(fields.Nested(Insight))
    ideas = Parts(fields.Nested(Idea))
    prototypes = Parts(fields.Nested(Prototype))
    indicators = Parts(fields.Nested(Indicator))
    cycles = Parts(fields.Nested(TestCycle))
    version = Integer()


class Signal(Schema):
    rule = fields.String(metadata={"description": "shift, trend, too_few_runs, too_many_runs "
                                                  "or astronomical_point"})
    points = fields.List(Integer(), metadata={"description": "indexes into points"})
    detail = fields.String()


class Point(Schema):
    on = IsoDate()
    value = Float()
    n = Integer()
    cycle_id = fields.String()


class Runs(Schema):
    count = Integer(metadata={"description": "runs: stretches on one side of the median"})
    useful_points = Integer(metadata={"description": "points not on the median"})
    limits = fields.List(Integer(), allow_none=True, metadata={
        "description": "fewer or more runs than these is unlikely by chance (10+ points)"})


class ChartIndicator(Indicator):
    project_id = fields.String()
    hub_id = fields.String()


class RunChart(Schema):
    indicator = fields.Nested(ChartIndicator)
    points = fields.List(fields.Nested(Point))
    median = Float(allow_none=True)
    runs = fields.Nested(Runs, allow_none=True)
    signals = fields.List(fields.Nested(Signal))


class IndicatorSignals(Schema):
    indicator_id = fields.String()
    indicator = fields.String(metadata={"description": "the indicator's name"})
    points = Integer()
    median = Float(allow_none=True)
    signals = fields.List(fields.String(), metadata={"description": "names of the rules"})


class ProjectProgress(Schema):
    project_id = fields.String()
    problem_id = fields.String()
    phase = fields.String(allow_none=True)
    cycles_completed = Integer()
    last_decision = fields.String(allow_none=True)
    signals = fields.List(fields.Nested(IndicatorSignals))


class MemberProgress(Schema):
    member_id = fields.String()
    name = fields.String()
    projects = fields.List(fields.Nested(ProjectProgress), metadata={
        "description": "one per problem of practice the member adopted"})


class SharedResult(Schema):
    cycle_id = fields.String()
    number = Integer()
    decision = fields.String()
    findings = fields.String()


class SharedPrototype(Schema):
    member_id = fields.String()
    prototype_id = fields.String()
    revision = Integer(allow_none=True, metadata={
        "description": "the prototype's revision shared (none for shares recorded before "
                       "shares named it)"})
    problem_id = fields.String()
    name = fields.String()
    summary = fields.String()
    results = fields.List(fields.Nested(SharedResult))
