"""marshmallow at the edges: every bad field named, NUL characters refused anywhere."""

import pytest
from marshmallow import Schema, fields

from eventstore.errors import ValidationError
from eventstore.validation import load


class Thing(Schema):
    name = fields.String(required=True)
    tags = fields.List(fields.String())
    extra = fields.Dict()


def test_valid_payload_loads():
    assert load(Thing, {"name": "Camino Union", "tags": ["math"]}) == {
        "name": "Camino Union", "tags": ["math"]}


@pytest.mark.parametrize("payload, field", [
    ({"name": "a\x00b"}, "name"),
    ({"name": "ok", "tags": ["fine", "bad\x00"]}, "tags[1]"),
    ({"name": "ok", "extra": {"k\x00": 1}}, "extra.k\x00"),
    ({"name": "ok", "extra": {"k": {"deep": "\x00"}}}, "extra.k.deep"),
])
def test_nul_characters_are_refused_naming_the_field(payload, field):
    with pytest.raises(ValidationError) as err:
        load(Thing, payload)
    assert field in err.value.errors


def test_every_bad_field_is_named():
    with pytest.raises(ValidationError) as err:
        load(Thing, {"name": 5, "tags": "x", "surprise": 1})
    assert set(err.value.errors) == {"name", "tags", "surprise"}


@pytest.mark.parametrize("payload", [[1], "text", None, 3])
def test_a_body_that_is_not_an_object_is_refused(payload):
    with pytest.raises(ValidationError) as err:
        load(Thing, payload)
    assert "_body" in err.value.errors


def test_a_refused_request_is_one_info_line_and_a_failure_keeps_its_traceback():
    import logging
    import sys

    from eventstore.errors import ConsortiumError, NotFound
    from eventstore.logs import ClientErrorsAreNotFailures

    def record_of(exc):
        try:
            raise exc
        except Exception:
            return logging.LogRecord("nameko.containers", logging.ERROR, __file__, 1,
                                     "error handling worker %s: %s", ("<worker>", exc),
                                     sys.exc_info())

    refused = record_of(NotFound("no member m-9"))
    assert ClientErrorsAreNotFailures().filter(refused)
    assert (refused.levelname, refused.exc_info) == ("INFO", None)
    assert refused.getMessage() == "refused <worker>: NotFound no member m-9"
    failed = record_of(ConsortiumError("the database went away"))
    assert ClientErrorsAreNotFailures().filter(failed)
    assert failed.levelname == "ERROR" and failed.exc_info is not None


def test_a_date_is_checked_and_handed_on_as_iso_text():
    from marshmallow import Schema

    from eventstore.validation import IsoDate

    class Due(Schema):
        due = IsoDate(required=True)

    assert load(Due, {"due": "2027-06-30"}) == {"due": "2027-06-30"}
    for bad in ("2027-02-30", "30/06/2027", "2027-06-30T09:00:00", 20270630):
        with pytest.raises(ValidationError) as refused:
            load(Due, {"due": bad})
        assert list(refused.value.errors) == ["due"]


def test_a_date_and_time_must_say_its_offset_and_is_handed_on_in_utc():
    from marshmallow import Schema

    from eventstore.validation import ZonedDateTime

    class Meeting(Schema):
        starts = ZonedDateTime(required=True)

    assert load(Meeting, {"starts": "2027-02-09T09:00:00-08:00"}) == {
        "starts": "2027-02-09T17:00:00+00:00"}
    assert load(Meeting, {"starts": "2027-07-09T09:00:00Z"})["starts"] == \
        "2027-07-09T09:00:00+00:00"
    with pytest.raises(ValidationError) as refused:
        load(Meeting, {"starts": "2027-02-09T09:00:00"})    # which 9:00? no offset, no instant
    assert refused.value.errors == {
        "starts": ["a date and time with its offset from UTC (2027-02-09T09:00:00-08:00)"]}


def test_an_answer_shows_a_date_and_time_as_iso_text_whether_it_is_text_or_a_datetime():
    from datetime import UTC, datetime

    from marshmallow import Schema

    from eventstore.validation import ZonedDateTime, dump

    class Meeting(Schema):
        starts = ZonedDateTime()

    moment = datetime(2027, 2, 9, 17, 0, tzinfo=UTC)
    assert dump(Meeting, {"starts": moment}) == {"starts": "2027-02-09T17:00:00+00:00"}
    assert dump(Meeting, {"starts": "2027-02-09T17:00:00+00:00"}) == {
        "starts": "2027-02-09T17:00:00+00:00"}


def test_an_instant_past_the_last_there_is_is_refused_not_a_500():
    from eventstore.validation import ZonedDateTime

    class Window(Schema):
        at = ZonedDateTime(required=True)

    for value in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00"):
        with pytest.raises(ValidationError) as refused:
            load(Window, {"at": value})
        assert "at" in refused.value.errors
