"""The rules of eventstore.validation, each pinned: strict JSON types (a number is a number, a
yes is true), every bad field named in marshmallow's words, text PostgreSQL cannot store (NUL,
lone surrogates) refused, a body nested too deeply refused, and answers dumped through their
schemas. Payloads are decoded from JSON, as a request delivers them."""

from __future__ import annotations

import datetime
import json

import pytest
from marshmallow import Schema, fields, validates_schema
from marshmallow import ValidationError as MarshmallowError

from eventstore.errors import ValidationError
from eventstore.validation import (
    Boolean,
    Float,
    Integer,
    IsoDate,
    Parts,
    dump,
    dump_page,
    load,
    view,
)


def request(text: str):
    """A body as a service receives it: decoded from the request's JSON."""
    return json.loads(text)


def refused(schema, payload) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        load(schema, payload)
    return err.value


class Numbers(Schema):
    size = Integer()
    share = Float()
    active = Boolean()


class Period(Schema):
    """A schema whose own validator names fields with plain words, not lists of them."""

    starts = fields.String()
    ends = fields.String()

    @validates_schema
    def ends_after_start(self, data, **kwargs):
        if data.get("ends", "") < data.get("starts", ""):
            raise MarshmallowError({"ends": "before it starts"})


class Named(Schema):
    name = fields.String(required=True)


class Row(Schema):
    id = fields.String()
    on = IsoDate()


class Hub(Schema):
    id = fields.String()
    parts = Parts(fields.Nested(Row))


# --- strict numbers and yeses ------------------------------------------------------------

def test_json_numbers_and_true_load_as_themselves():
    assert load(Numbers, request('{"size": 31, "share": 0.5, "active": true}')) == {
        "size": 31, "share": 0.5, "active": True}


def test_an_integer_where_a_float_belongs_is_a_number():
    assert load(Numbers, request('{"share": 2, "active": false}')) == {
        "share": 2.0, "active": False}


def test_a_whole_number_sent_as_a_string_is_refused_naming_the_field():
    error = refused(Numbers, request('{"size": "31"}'))
    assert error.errors == {"size": ["Not a valid integer."]}


def test_a_fraction_sent_as_a_string_is_refused_naming_the_field():
    error = refused(Numbers, request('{"share": "0.5"}'))
    assert error.errors == {"share": ["Not a valid number."]}


@pytest.mark.parametrize("body", ['{"share": true}', '{"share": false}'])
def test_a_yes_or_no_where_a_number_belongs_is_refused(body):
    assert refused(Numbers, request(body)).errors == {"share": ["Not a valid number."]}


@pytest.mark.parametrize("body", ['{"active": "yes"}', '{"active": "true"}', '{"active": 1}',
                                  '{"active": 0}', '{"active": null}'])
def test_anything_but_true_or_false_where_a_yes_belongs_is_refused(body):
    error = refused(Numbers, request(body))
    assert set(error.errors) == {"active"}
    assert error.errors["active"] in (["Not a valid boolean."], ["Field may not be null."])


def test_every_bad_field_is_named_in_the_summary_in_order():
    error = refused(Numbers, request('{"size": "1", "share": "x", "active": "yes"}'))
    assert str(error) == "invalid fields: active, share, size"
    assert error.errors == {"active": ["Not a valid boolean."],
                            "share": ["Not a valid number."],
                            "size": ["Not a valid integer."]}


# --- field errors as marshmallow words them ------------------------------------------------

def test_a_field_error_keeps_marshmallows_words_as_a_list():
    error = refused(Named, request('{"name": 5}'))
    assert error.errors == {"name": ["Not a valid string."]}


def test_a_validator_that_names_a_field_in_plain_words_names_that_field():
    error = refused(Period, request('{"starts": "2026-03-01", "ends": "2026-02-01"}'))
    assert error.errors == {"ends": ["before it starts"]}
    assert str(error) == "invalid fields: ends"


def test_an_error_in_an_item_of_a_list_is_named_by_its_place():
    class Tags(Schema):
        tags = fields.List(fields.String())

    error = refused(Tags, request('{"tags": ["a", 2]}'))
    assert error.errors == {"tags.1": ["Not a valid string."]}


# --- text PostgreSQL cannot store ----------------------------------------------------------

def test_a_nul_character_is_refused_in_the_words_of_the_reason():
    error = refused(Named, request('{"name": "a\\u0000b"}'))
    assert error.errors == {"name": ["contains a NUL character"]}
    assert str(error) == "text that cannot be stored: name"


def test_a_lone_surrogate_is_refused_naming_the_field():
    error = refused(Named, request('{"name": "half \\ud800 a character"}'))
    assert error.errors == {"name": ["contains a lone surrogate (not text)"]}


def test_a_lone_surrogate_in_a_key_is_refused_naming_the_key():
    payload = request('{"name": "ok", "\\udc00": 1}')
    assert refused(Named, payload).errors == {"\udc00": ["contains a lone surrogate (not text)"]}


def test_every_field_of_unstorable_text_is_named_before_the_schema_is_asked():
    payload = request('{"name": 5, "a": "\\u0000", "b": ["ok", "\\ud83d"], "c": {"d": "\\u0000"}}')
    error = refused(Named, payload)
    assert error.errors == {"a": ["contains a NUL character"],
                            "b[1]": ["contains a lone surrogate (not text)"],
                            "c.d": ["contains a NUL character"]}
    assert str(error) == "text that cannot be stored: a, b[1], c.d"


def test_a_whole_surrogate_pair_is_text_and_loads():
    assert load(Named, request('{"name": "\\ud83d\\ude00"}')) == {"name": "\U0001f600"}


def test_a_body_nested_too_deeply_is_refused_not_crashed():
    deep: list = []
    for _ in range(5000):      # deeper than the interpreter's recursion limit
        deep = [deep]
    payload = {"name": "ok", "deep": deep}
    error = refused(Named, payload)
    assert error.errors == {"_body": ["nested too deeply"]}
    assert str(error) == "the body is nested too deeply"


def test_a_body_that_is_not_an_object_says_so():
    error = refused(Named, request("[]"))
    assert error.errors == {"_body": ["not an object"]}
    assert str(error) == "the body must be a JSON object"


# --- answers -------------------------------------------------------------------------------

def test_dump_answers_one_object_through_its_schema():
    assert dump(Row, {"id": "r-1", "on": datetime.date(2026, 3, 1), "secret": "x"}) == {
        "id": "r-1", "on": "2026-03-01"}


def test_dump_answers_a_list_when_asked_for_many_and_again_alike():
    rows = [{"id": "r-1"}, {"id": "r-2"}]
    assert dump(Row, rows, many=True) == [{"id": "r-1"}, {"id": "r-2"}]
    assert dump(Row, rows, many=True) == [{"id": "r-1"}, {"id": "r-2"}]
    assert dump(Row, {"id": "r-3"}) == {"id": "r-3"}
    assert dump(Row, {"id": "r-3"}) == {"id": "r-3"}


def test_a_page_answers_its_items_through_the_schema_and_its_next_cursor():
    page = {"items": [{"id": "r-1", "secret": 1}, {"id": "r-2"}], "next": "r-2"}
    assert dump_page(Row, page) == {"items": [{"id": "r-1"}, {"id": "r-2"}], "next": "r-2"}


def test_a_commands_view_dumps_its_result():
    answer = view(Row)
    assert answer({"id": "r-1", "on": "2026-03-01", "secret": 1}, None) == {
        "id": "r-1", "on": "2026-03-01"}


def test_a_date_kept_as_text_is_answered_as_it_is():
    assert dump(Row, {"on": "2026-03-01"}) == {"on": "2026-03-01"}
    assert dump(Row, {"on": datetime.date(2026, 3, 1)}) == {"on": "2026-03-01"}


def test_parts_by_id_are_answered_as_a_list_and_a_list_as_itself():
    by_id = {"r-1": {"id": "r-1", "on": "2026-03-01"}, "r-2": {"id": "r-2"}}
    assert dump(Hub, {"id": "h", "parts": by_id}) == {
        "id": "h", "parts": [{"id": "r-1", "on": "2026-03-01"}, {"id": "r-2"}]}
    assert dump(Hub, {"id": "h", "parts": [{"id": "r-3"}]}) == {
        "id": "h", "parts": [{"id": "r-3"}]}
