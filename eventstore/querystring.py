"""Query strings at the edge: what a route's query schema (``Route(query=...)``) reads.

A query string's values are all text, so a query schema says how each one reads: text
(``marshmallow.fields.String``), a whole number (``Integer``), yes or no (``Boolean``), a date
or a date and time (``eventstore.validation.IsoDate``, ``ZonedDateTime``), and a parameter that
may be given several times (``?tag=a&tag=b``) is a ``marshmallow.fields.List`` of one of those.

    class BookingSearch(Schema):
        expert = fields.String(validate=Length(1, 127))
        min_hours = Integer(validate=Range(1, 40))
        status = fields.List(fields.String(validate=OneOf(STATUSES)))

The gateway reads the parameters (``parameters``), checks them against the schema (422 naming
each bad, unknown or repeated one) and passes them to the RPC as sent; the service loads them
again with ``eventstore.validation.load``, as it does a body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import marshmallow

from .errors import ValidationError
from .validation import load

# Decimal digits only: Python's int() would also take " 4", "4_0" and other scripts' digits.
# Eighteen of them fit a bigint, so no query of a service overflows in SQL.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


class Integer(marshmallow.fields.Integer):
    """A whole number written in decimal digits (``?min_hours=4``): not "4.0", "+4" or " 4"."""

    default_error_messages = {"invalid": "a whole number, in digits (at most 18)"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _WHOLE_NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        return int(value)


class Boolean(marshmallow.fields.Boolean):
    """``true`` or ``false``, as written: a query string has no other yes."""

    default_error_messages = {"invalid": "true or false"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value not in ("true", "false"):
            raise self.make_error("invalid")
        return value == "true"


def is_repeated(field: marshmallow.fields.Field) -> bool:
    """Whether a parameter may be given several times: a List field."""
    return isinstance(field, marshmallow.fields.List)


def parameters(schema: type[marshmallow.Schema], sent: Iterable[tuple[str, list[str]]],
               reserved: Iterable[str] = ()) -> dict[str, Any]:
    """The query string's parameters for ``schema`` as sent (each a text; a list of texts for
    a List field), checked against it: a parameter the schema does not declare (nor the route
    reads itself: ``reserved``), or one given twice that is not a list, is refused with every
    bad value at once, each named."""
    fields = {f.data_key or name: f for name, f in schema().load_fields.items()}
    ignored = set(reserved)
    errors: dict[str, list[str]] = {}
    found: dict[str, Any] = {}
    for name, values in sent:
        if name in ignored:
            continue
        field = fields.get(name)
        if field is None:
            errors[name] = ["not a parameter of this route"]
        elif is_repeated(field):
            found[name] = list(values)
        elif len(values) > 1:
            errors[name] = ["given more than once"]
        else:
            found[name] = values[0]
    try:
        load(schema, {k: v for k, v in found.items() if k not in errors})
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError("invalid query parameters: " + ", ".join(sorted(errors)), errors)
    return found
