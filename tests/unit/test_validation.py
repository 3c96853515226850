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
