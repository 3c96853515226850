"""The AsyncAPI 3.0 document of the public events (gateway/asyncapi.py), checked by the
published AsyncAPI 3.0.0 JSON schema (not by the code that wrote it), and every public event the
services can make, whatever its data, checked against its message in that document and against
the CloudEvents 1.0 JSON schema (tests/fixtures/schemas: both copied from their publishers)."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstore.contracts import public_event
from eventstore.events import RecordedEvent
from gateway import asyncapi
from tests.unit.test_public_forms import CONTRACTS, PRIVATE, name

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"
SERVICES = sorted({c.source for c in CONTRACTS})
DOCUMENT = asyncapi.build(SERVICES)
FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER


def schema(file_name):
    return json.loads((SCHEMAS / file_name).read_text())


def test_the_document_is_asyncapi_3_by_the_published_schema():
    validator = jsonschema.Draft7Validator(schema("asyncapi-3.0.0.json"))
    errors = sorted(validator.iter_errors(DOCUMENT), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]


def test_the_published_schema_refuses_what_is_not_asyncapi_3():
    """The check above can fail: the schema refuses a document that breaks it."""
    validator = jsonschema.Draft7Validator(schema("asyncapi-3.0.0.json"))
    broken = json.loads(json.dumps(DOCUMENT))
    broken["operations"]["receivePublicEvents"]["action"] = "consume"
    assert list(validator.iter_errors(broken))
    del broken["info"]
    assert list(validator.iter_errors(broken))


def test_every_public_contract_is_a_message_and_no_private_one_is():
    messages = set(DOCUMENT["components"]["messages"])
    public = {name(c) for c in CONTRACTS if c.public is not None}
    assert messages == public and not messages & set(PRIVATE)
    operation = DOCUMENT["operations"]["receivePublicEvents"]
    assert len(operation["messages"]) == len(public)
    binding = DOCUMENT["channels"]["publicEvents"]["bindings"]["amqp"]
    assert binding["exchange"]["name"] == "consortium.public"


def values(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of a contract field's declared type."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return st.none() | st.integers() | st.text(max_size=10)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(values(arm) for arm in typing.get_args(hint)))
    simple = {type(None): st.none(), bool: st.booleans(), int: st.integers(-5, 5000),
              float: st.floats(allow_nan=False, allow_infinity=False), str: st.text(max_size=30)}
    if hint in simple:
        return simple[hint]
    if origin is list:
        return st.lists(values(typing.get_args(hint)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), values(typing.get_args(hint)[1]),
                               max_size=3)
    raise TypeError(hint)


def events():
    def of(contract):
        return st.fixed_dictionaries({n: values(h) for n, h in contract.fields().items()}).map(
            lambda data: (contract, data))
    return st.sampled_from([c for c in CONTRACTS if c.public is not None]).flatmap(of)


CLOUDEVENTS = jsonschema.Draft7Validator(schema("cloudevents-1.0.json"),
                                         format_checker=FORMATS)


@settings(max_examples=300, deadline=None)
@given(events(), st.booleans())
def test_every_public_event_is_its_message_and_a_cloudevent_by_the_json_schemas(found, hub):
    contract, data = found
    event = RecordedEvent(7, 1, "3f0b5a52-54f4-4f54-8f6e-0f4a1ab2b3c4", "el-dorado.07",
                          "stream", 2, contract.type, contract.schema_version,
                          "el-dorado" if hub else None, data, {},
                          datetime(2027, 1, 14, 17, tzinfo=UTC))
    sent = public_event(contract, event)
    message = DOCUMENT["components"]["schemas"][asyncapi.message_id(contract)]
    jsonschema.validate(sent, message, format_checker=FORMATS)
    CLOUDEVENTS.validate(sent)


def test_the_cloudevents_schema_refuses_what_is_no_cloudevent():
    with pytest.raises(jsonschema.ValidationError):
        CLOUDEVENTS.validate({"specversion": "1.0", "id": "", "source": "x", "type": "t"})
    with pytest.raises(jsonschema.ValidationError):
        CLOUDEVENTS.validate({"specversion": "1.0", "id": "1", "source": "x", "type": "t",
                              "dataschema": "not a uri"})
