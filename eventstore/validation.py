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


def load(schema: type[marshmallow.Schema], payload: Any) -> dict[str, Any]:
    """Validate ``payload``; unknown fields are refused, every bad field is named."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object", {"_body": ["not an object"]})
    try:
        return schema().load(payload)
    except marshmallow.ValidationError as exc:
        errors = _flatten(exc.messages)
        raise ValidationError("invalid fields: " + ", ".join(sorted(errors)), errors) from None
