"""marshmallow at the edges: one way to turn a schema's complaints into a ValidationError."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow

from .errors import ValidationError


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": messages}
    return {prefix or "_body": [str(messages)]}


def unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store this text: a NUL character, or a lone surrogate (JSON may
    spell "\\ud800"; it is no character of any text, and not UTF-8)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not text)"
    return None


def _bad_text(value: Any, path: str = "") -> dict[str, list[str]]:
    """Every field of ``value`` whose text (or key) PostgreSQL could not store, and why."""
    if isinstance(value, str):
        why = unstorable(value)
        return {path or "_body": [why]} if why else {}
    if isinstance(value, dict):
        found: dict[str, list[str]] = {}
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            why = unstorable(str(key))
            found.update({name: [why]} if why else _bad_text(item, name))
        return found
    if isinstance(value, list):
        found = {}
        for i, item in enumerate(value):
            found.update(_bad_text(item, f"{path}[{i}]"))
        return found
    return {}


def load(schema: type[marshmallow.Schema], payload: Any) -> dict[str, Any]:
    """Validate ``payload``; unknown fields are refused, every bad field is named."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object", {"_body": ["not an object"]})
    try:
        bad = _bad_text(payload)
    except RecursionError:
        raise ValidationError("the body is nested too deeply",
                              {"_body": ["nested too deeply"]}) from None
    if bad:
        raise ValidationError("text that cannot be stored: " + ", ".join(sorted(bad)), bad)
    try:
        return schema().load(payload)
    except marshmallow.ValidationError as exc:
        errors = _flatten(exc.messages)
        raise ValidationError("invalid fields: " + ", ".join(sorted(errors)), errors) from None


_schemas: dict[tuple[type[marshmallow.Schema], bool], marshmallow.Schema] = {}


def dump(schema: type[marshmallow.Schema], obj: Any, many: bool = False) -> Any:
    """``obj`` (an aggregate, a read-model row, a list of them) as the response schema shows
    it: the documented fields only, in JSON types."""
    instance = _schemas.get((schema, many))
    if instance is None:
        instance = _schemas[(schema, many)] = schema(many=many)
    return instance.dump(obj)


def dump_page(schema: type[marshmallow.Schema], page: dict[str, Any],
              page_fields: type[marshmallow.Schema] | None = None) -> dict[str, Any]:
    """A list answer with its items dumped through ``schema`` (and what else the page holds,
    a search's facets, through ``page_fields``)."""
    extra = dump(page_fields, page) if page_fields is not None else {}
    return {**extra, "items": dump(schema, page["items"], many=True), "next": page["next"]}


def view(schema: type[marshmallow.Schema]) -> Any:
    """A command's answer: its result dumped through ``schema``."""
    return lambda result, session: dump(schema, result)


# Dates and times, one convention at the edge: a request's date or date-time is checked here and
# handed on as ISO text, which is what events keep and what answers show; the domain compares
# ISO text (it sorts as time does) and is given the clock (``Session.now``), never reads one.

class IsoDate(marshmallow.fields.Date):
    """A calendar date, ``2027-06-30``: in a request, checked and loaded as that text; in an
    answer, a date or its ISO text."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(value, attr, data, **kwargs).isoformat()

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class ZonedDateTime(marshmallow.fields.DateTime):
    """An instant, ``2027-02-09T09:00:00-08:00``: a request must say its offset (a time
    without one names no instant), loaded as ISO text in UTC; an answer shows an aware
    datetime or its ISO text as it is."""

    default_error_messages = {
        "naive": "a date and time with its offset from UTC (2027-02-09T09:00:00-08:00)"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.make_error("naive")
        try:
            return moment.astimezone(UTC).isoformat()
        except OverflowError:   # 9999-12-31T23:00-05:00 is past the last instant there is
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class Parts(marshmallow.fields.List):
    """An aggregate's parts by id (a dict), answered as a list."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict):
            value = list(value.values())
        return super()._serialize(value, attr, obj, **kwargs)


# Strict fields: a number is a JSON number and a yes is a JSON true. marshmallow would take
# "31" for a number and "yes" for true; a client that sends those has a bug worth hearing about.

class Integer(marshmallow.fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class Float(marshmallow.fields.Float):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(marshmallow.fields.Boolean):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
