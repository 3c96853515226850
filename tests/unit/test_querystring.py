"""A route's query string, read against its schema: every value is text, so each field says
how it reads; a parameter the route does not take, or one given twice that is no list, is
refused by name, with every other bad one at once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, fields
from marshmallow.validate import OneOf, Range

from eventstore.errors import ValidationError
from eventstore.querystring import Boolean, Integer, parameters


class Search(Schema):
    q = fields.String()
    tag = fields.List(fields.String(validate=OneOf(["math", "ela"])))
    hours = Integer(validate=Range(1, 40))
    open_only = Boolean(data_key="open")


def read(*pairs, reserved=()):
    sent: dict[str, list[str]] = {}
    for name, value in pairs:
        sent.setdefault(name, []).append(value)
    return parameters(Search, sent.items(), reserved)


def refused(*pairs, reserved=()):
    with pytest.raises(ValidationError) as error:
        read(*pairs, reserved=reserved)
    return error.value.errors


def test_parameters_pass_as_sent_a_repeated_one_as_a_list():
    assert read(("q", "run charts"), ("tag", "math"), ("tag", "ela"), ("hours", "4"),
                ("open", "true")) == {"q": "run charts", "tag": ["math", "ela"],
                                      "hours": "4", "open": "true"}
    assert read(("tag", "math")) == {"tag": ["math"]}
    assert read() == {}


def test_every_bad_unknown_or_repeated_parameter_is_named_at_once():
    errors = refused(("q", "a"), ("q", "b"), ("hours", "four"), ("sort", "rank"),
                     ("tag", "art"), ("open", "yes"))
    assert set(errors) == {"q", "hours", "sort", "tag.0", "open"}
    assert errors["q"] == ["given more than once"]
    assert errors["sort"] == ["not a parameter of this route"]


def test_the_paging_parameters_a_route_reads_itself_are_not_the_schemas():
    assert read(("limit", "5"), ("after", "x"), reserved=("limit", "after")) == {}
    assert set(refused(("limit", "5"))) == {"limit"}


@pytest.mark.parametrize("text", ["4.0", "+4", " 4", "4 ", "4_0", "٤", "0x4", "",
                                  "1" * 19, "four"])
def test_a_whole_number_is_decimal_digits_only(text):
    assert list(refused(("hours", text))) == ["hours"]


@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_any_whole_number_of_up_to_18_digits_reads_as_itself(number):
    assert Integer().deserialize(str(number)) == number


def test_a_whole_number_is_checked_against_its_range_once_read():
    assert refused(("hours", "41")) == {"hours": ["Must be greater than or equal to 1 and "
                                                  "less than or equal to 40."]}


@pytest.mark.parametrize("text", ["yes", "1", "True", "on", ""])
def test_a_yes_is_true_and_a_no_is_false_as_written(text):
    assert list(refused(("open", text))) == ["open"]
    assert Boolean().deserialize("true") is True and Boolean().deserialize("false") is False
