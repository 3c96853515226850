"""marshmallow at the edges: one way to turn a schema's complaints into a ValidationError."""

from __future__ import annotations

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


def _nul_fields(value: Any, path: str = "") -> list[str]:
    """Where a NUL character hides in ``value``: PostgreSQL text and jsonb cannot hold one."""
    if isinstance(value, str):
        return [path or "_body"] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found += [name] if "\x00" in str(key) else _nul_fields(item, name)
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _nul_fields(item, f"{path}[{i}]")]
    return []


def load(schema: type[marshmallow.Schema], payload: Any) -> dict[str, Any]:
    """Validate ``payload``; unknown fields are refused, every bad field is named."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object", {"_body": ["not an object"]})
    if nul := _nul_fields(payload):
        raise ValidationError("text may not contain NUL characters",
                              dict.fromkeys(nul, ["contains a NUL character"]))
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


def dump_page(schema: type[marshmallow.Schema], page: dict[str, Any]) -> dict[str, Any]:
    """A list answer with its items dumped through ``schema``."""
    return {"items": dump(schema, page["items"], many=True), "next": page["next"]}


def view(schema: type[marshmallow.Schema]) -> Any:
    """A command's answer: its result dumped through ``schema``."""
    return lambda result, session: dump(schema, result)


class IsoDate(marshmallow.fields.Date):
    """A date in an answer, whether the value is a date or already ISO text (events keep
    dates as text)."""

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
