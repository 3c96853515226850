"""Free text in cycles holds no contact data (decision 005): an email address or a phone number
in any free-text field of a request is refused naming the field; the numbers findings are made
of are not phone numbers."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from eventstore.errors import ValidationError
from eventstore.validation import load
from services.cycles import schemas

COMPLETION = {"decision": "adapt"}


@pytest.mark.parametrize("text, found", [
    ("ask jane.doe@eldoradocoe.org for the file", "an email address"),
    ("J.Doe+math@district.k12.ca.us", "an email address"),
    ("call 530-555-0123 after 3", "a phone number"),
    ("call (530) 555-0123", "a phone number"),
    ("(530)555-0123", "a phone number"),
    ("530.555.0123", "a phone number"),
    ("530 555 0123", "a phone number"),
    ("+1 530 555 0123", "a phone number"),
    ("1-800-555-0199", "a phone number"),
    ("+15305550123", "a phone number"),
    ("cell 5305550123.", "a phone number"),
    ("tel:530-555-0123", "a phone number"),
])
def test_free_text_with_contact_data_is_refused_naming_the_field(text, found):
    with pytest.raises(ValidationError) as refused:
        load(schemas.Completion, {**COMPLETION, "findings": text})
    assert refused.value.errors == {"findings": [
        f"free text may not hold an email address or phone number: this holds {found}; a "
        "person's contact data belongs with the person (membership), which erasure reaches"]}


@pytest.mark.parametrize("text", [
    "persistence rose from 31% to 44% in 2016-17",
    "CAASPP 2016-2017, grades 3-8, n=212",
    "measured 2017-10-03 and 10/03/2017, again on 10-24-2017",
    "scale scores 2190-2489; Lexile 420L-820L; ranges 350-1200",
    "CDS 09-61853-0000000, NCES 0612345 and school 061234512345",
    "budget $2,500,000 (4500000000 statewide), 3.14159265358979",
    "periods 3 4 5, sessions 8:30-9:15, ratio 212/530",
    "a school of 11 students; 24 of 530 persisted",
    "the coach @ the county office; email the coordinator",
    "grade 4 at 530 students: 555 tickets, 1234 minutes",
])
def test_the_numbers_of_findings_are_not_contact_data(text):
    assert load(schemas.Completion, {**COMPLETION, "findings": text})["findings"] == text


def free_text_fields():
    """Every string field a cycles request takes that is not an id or a choice."""
    for name in dir(schemas):
        schema = getattr(schemas, name)
        if not (isinstance(schema, type) and issubclass(schema, Schema)) or schema is Schema:
            continue
        for field_name, field in schema().fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if type(inner) is not fields.String or not inner.validators:
                continue    # answers' fields validate nothing; requests' fields do
            if any(isinstance(v, (validate.OneOf, validate.Regexp)) for v in inner.validators):
                continue
            yield f"{name}.{field_name}", inner


def test_every_free_text_field_of_a_request_refuses_contact_data():
    checked = dict(free_text_fields())
    assert {"ProblemCreate.statement", "SupportingData.finding", "GoalCreate.statement",
            "GoalCreate.measure", "GoalRevision.reason", "DataCreate.summary",
            "IdeaCreate.source_ref", "Criterion.note", "Plan.who", "CycleCreate.prediction",
            "MeasurementCreate.note", "Completion.findings", "Sharing.summary",
            "PhaseChange.reason", "ProblemCreate.selection_criteria"} <= set(checked)
    for name, field in checked.items():
        assert schemas.NO_CONTACT in field.validators, name


@pytest.mark.parametrize("text", [
    "x" * 1_000_000, "a@" + "b" * 1_000_000, "a@" + "b." * 500_000 + "1", "x@" * 500_000,
    "5" * 1_000_000, "530 " * 250_000,
])
def test_a_megabyte_of_text_is_checked_in_linear_time(text):
    # Bodies are up to 1 MB; an address pattern tried from every place in a run of name
    # characters took minutes for one such run (it held up the service's worker).
    import time
    started = time.perf_counter()
    assert schemas.NO_CONTACT(text) == text
    assert time.perf_counter() - started < 2.0
