"""The AsyncAPI 3.0 document of what leaves the platform (issue 19), served as
``GET /asyncapi.json`` next to ``/openapi.json``: every public event as the message it is on
the agencies' exchange (and in the pull feed), generated from the services' contracts and
their public forms (eventstore.contracts), so the document cannot say other than what is sent.

One channel, the public topic exchange, addressed ``{state}.{service}.{type}``; one operation,
an agency receiving; one message per public contract, a CloudEvent whose ``data`` holds
exactly the fields of its public form (counts of people nullable, with ``suppressed``).
"""

from __future__ import annotations

import importlib
import types
import typing
from typing import Any

from eventstore.broker import PUBLIC_EXCHANGE
from eventstore.contracts import (
    EVENT_SOURCE,
    EVENT_TYPE,
    Published,
    contracts_of,
)


def public_contracts(services: list[str]) -> list[type[Published]]:
    """Every contract of these services that has a public form, service by service."""
    found = []
    for service in sorted(services):
        try:
            module = importlib.import_module(f"services.{service}.contracts")
        except ModuleNotFoundError:
            continue   # a service with no contracts publishes nothing public
        found += [c for c in contracts_of(module) if c.public is not None]
    return found


def json_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a contract field's declared type."""
    if hint is Any:
        return {}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(arm) for arm in typing.get_args(hint)]}
    simple = {type(None): "null", bool: "boolean", int: "integer", float: "number",
              str: "string"}
    if hint in simple:
        return {"type": simple[hint]}
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": json_schema(item)}
    if origin is dict:
        _, item = typing.get_args(hint) or (str, Any)
        return {"type": "object", "additionalProperties": json_schema(item)}
    raise TypeError(f"no JSON Schema for {hint!r}")


def data_schema(contract: type[Published]) -> dict[str, Any]:
    form = contract.public
    assert form is not None
    declared = contract.fields()
    properties = {name: json_schema(declared[name]) for name in form.fields}
    # A count of people, or what derives from one, is null when suppressed.
    for name in (*form.counts, *(name for name, _ in form.derived)):
        properties[name] = {"anyOf": [json_schema(declared[name]), {"type": "null"}],
                            "description": "null when suppressed (a count of 1 to 10 "
                                           "people, or derived from one)"}
    if form.counts or form.derived:
        properties["suppressed"] = {
            "type": "array", "items": {"type": "string", "enum": sorted(
                [*form.counts, *(name for name, _ in form.derived)])},
            "description": "the fields suppressed in this event"}
    return {"type": "object", "required": form.names(), "properties": properties,
            "additionalProperties": False}


def cloud_event(contract: type[Published]) -> dict[str, Any]:
    form = contract.public
    assert form is not None
    required = ["specversion", "id", "source", "type", "time", "datacontenttype",
                "dataschema", "data"]
    properties: dict[str, Any] = {
        "specversion": {"type": "string", "const": "1.0"},
        "id": {"type": "string", "description": "the event's id: a redelivery has the same"},
        "source": {"type": "string", "const": EVENT_SOURCE.format(service=contract.source)},
        "type": {"type": "string", "const": EVENT_TYPE.format(service=contract.source,
                                                             type=contract.type)},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string", "const": "application/json"},
        "dataschema": {"type": "string", "description": "the contract and its schema "
                                                        "version"},
        "hub": {"type": "string", "description": "extension: the event's hub"},
        "data": data_schema(contract)}
    if form.subject:
        properties["subject"] = {"type": "string", "description": "the stream's id"}
    return {"type": "object", "required": required, "properties": properties,
            "additionalProperties": False}


def message_id(contract: type[Published]) -> str:
    return f"{contract.source}.{contract.type}"


def build(services: list[str], version: str = "1.0.0") -> dict[str, Any]:
    contracts = public_contracts(services)
    messages = {message_id(c): {
        "name": c.type, "title": f"{c.source}: {c.type}",
        "summary": " ".join((c.__doc__ or c.type).split()),
        "contentType": "application/cloudevents+json",
        "payload": {"$ref": f"#/components/schemas/{message_id(c)}"}} for c in contracts}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Consortium platform: public events for state education agencies",
            "version": version,
            "description": (
                "The public form of every service's events for the hubs of a state, as "
                "CloudEvents 1.0: no person's name, email or id, no words people wrote, "
                "counts of 1 to 10 people suppressed. The same events are read over HTTP "
                "from `GET /v1/feed` (see openapi.json) or received here, on the agencies' "
                "topic exchange, with an agency's own broker user, which may bind only its "
                "own queues (`agency-<state>.<name>`) and only to its own state's routing "
                "keys. Delivery is at least once, in each service's log order; the "
                "CloudEvent `id` tells a redelivery.")},
        "defaultContentType": "application/cloudevents+json",
        "servers": {"broker": {
            "host": "localhost:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "RabbitMQ of the deployment",
            "security": [{"$ref": "#/components/securitySchemes/agencyUser"}]}},
        "channels": {"publicEvents": {
            "address": "{state}.{service}.{type}",
            "title": "The agencies' exchange",
            "description": f"The topic exchange `{PUBLIC_EXCHANGE}`: bind a queue of your "
                           "own with `<your state>.#`, or narrower.",
            "parameters": {
                "state": {"description": "the two-letter state of the event's hub"},
                "service": {"enum": sorted({c.source for c in contracts}),
                            "description": "the service that recorded it"},
                "type": {"enum": sorted({c.type for c in contracts}),
                         "description": "the event's type"}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": PUBLIC_EXCHANGE, "type": "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0"}}}},
        "operations": {"receivePublicEvents": {
            "action": "receive", "channel": {"$ref": "#/channels/publicEvents"},
            "summary": "An agency receives its state's public events",
            "messages": [{"$ref": f"#/channels/publicEvents/messages/{key}"}
                         for key in messages]}},
        "components": {
            "messages": messages,
            "schemas": {message_id(c): cloud_event(c) for c in contracts},
            "securitySchemes": {"agencyUser": {
                "type": "userPassword",
                "description": "the agency's own broker user, made by the deployment per "
                               "state (`consortium-agency-<state>`)"}}}}
