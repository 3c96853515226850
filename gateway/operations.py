"""The operator's routes (issue 19): the controls every service's kernel answers
(eventstore/operations.py), reached through the gateway with an operator's or the admin's
token, for every service at once.

- ``GET /v1/dead-letters``: every service's parked messages, with why each was parked;
  ``GET /v1/dead-letters/{letter}`` one with its body; ``POST …/{letter}/replay`` one,
  ``POST /v1/dead-letters/replay`` all (of one service, or of every one).
- ``POST /v1/rebuilds`` starts rebuilding a service's projections (202);
  ``GET /v1/rebuilds/{rebuild}`` follows it.
- ``GET /v1/operations/lag``: relay, consumer and projection lag, the held-back log and waiting
  dead letters of each service, in one answer.
- ``GET /v1/operator-actions``: the record of what operators did (routes and CLI alike), newest
  first.

A dead letter's and a rebuild's id is ``<service>-<number>``: the service keeps them. A read
over every service answers with what the services that answered said and names those that did
not (``unreachable``): an operator needs the rest most when one is down. Actions are recorded
by the service that carries them out, whoever asked.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from eventstore.errors import NotFound
from eventstore.querystring import Boolean, Integer
from eventstore.routes import Route

from .own import OwnRoutes

OPERATORS = ("operator", "admin")


def split_id(value: str, services: list[str], what: str) -> tuple[str, str]:
    service, _, number = value.rpartition("-")
    if service not in services or not number.isdigit():
        raise NotFound(f"no {what} {value[:60]!r}")
    return service, number


# -- schemas ---------------------------------------------------------------------------------

class ServiceQuery(Schema):
    service = fields.String(metadata={"description": "one service only"})


class LettersQuery(ServiceQuery):
    replayed = Boolean(load_default=False, metadata={"description": "replayed letters too"})


class DeadLetter(Schema):
    id = fields.String(required=True, metadata={"description": "<service>-<number>"})
    service = fields.String(required=True)
    queue = fields.String(required=True, metadata={"description": "where it died"})
    exchange = fields.String(required=True)
    routing_key = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "why it was parked"})
    event_id = fields.String(allow_none=True)
    parked_at = fields.String(required=True)
    replayed_at = fields.String(allow_none=True)
    replays = fields.Integer(required=True)


class DeadLetterDetail(DeadLetter):
    body = fields.String(required=True, metadata={"description": "the message as parked"})
    headers = fields.Raw(required=True)


class DeadLetters(Schema):
    items = fields.List(fields.Nested(DeadLetter), required=True)
    unreachable = fields.List(fields.String(), required=True, metadata={
        "description": "services that did not answer: their letters are not in items"})


class Replayed(Schema):
    id = fields.String(required=True)
    replayed = fields.Boolean(required=True)


class ReplayAll(Schema):
    service = fields.String(metadata={"description": "only this service's letters"})


class Refusal(Schema):
    id = fields.String(required=True)
    detail = fields.String(required=True)


class ReplayedAll(Schema):
    replayed = fields.List(fields.String(), required=True)
    refused = fields.List(fields.Nested(Refusal), required=True)
    unreachable = fields.List(fields.String(), required=True)


class RebuildStart(Schema):
    service = fields.String(required=True)
    projections = fields.List(fields.String(validate=validate.Length(1, 100)),
                              validate=validate.Length(1, 50),
                              metadata={"description": "by name; every one by default"})


class Rebuild(Schema):
    id = fields.String(required=True, metadata={"description": "<service>-<number>"})
    service = fields.String(required=True)
    projections = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["running", "done", "failed", "interrupted"]))
    replayed = fields.Integer(required=True, metadata={"description": "events replayed"})
    total = fields.Integer(required=True, metadata={"description": "events in the log when "
                                                                   "it started"})
    percent = fields.Float(required=True)
    started_by = fields.String(required=True)
    started_at = fields.String(required=True)
    finished_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class HeldBack(Schema):
    events = fields.Integer(required=True)
    seconds = fields.Float(required=True)


class ServiceLag(Schema):
    service = fields.String(required=True)
    relay_lag_events = fields.Integer(required=True, metadata={
        "description": "committed events not yet published"})
    consumer_lag_messages = fields.Dict(fields.String(), fields.Integer(), required=True,
                                        metadata={"description": "by consumer queue"})
    projection_lag_events = fields.Dict(fields.String(), fields.Integer(), required=True)
    log_held_back = fields.Nested(HeldBack, required=True)
    dead_letters_waiting = fields.Integer(required=True)
    catch_up_positions = fields.Dict(fields.String(), fields.List(fields.Integer()),
                                     required=True, metadata={"description": "by source"})


class Lag(Schema):
    services = fields.List(fields.Nested(ServiceLag), required=True)
    unreachable = fields.List(fields.String(), required=True)


class ActionsQuery(ServiceQuery):
    last = Integer(load_default=100, validate=validate.Range(1, 500), metadata={
        "description": "how many of the newest actions (1 to 500)"})


class OperatorAction(Schema):
    service = fields.String(required=True)
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(
        ["done", "refused", "failed", "started"]))
    detail = fields.String(required=True)


class OperatorActions(Schema):
    items = fields.List(fields.Nested(OperatorAction), required=True)
    unreachable = fields.List(fields.String(), required=True)


def _route(method: str, path: str, rpc: str, summary: str, **options: Any) -> Route:
    return Route(method, path, rpc, summary, "operations", roles=OPERATORS, service="gateway",
                 **options)


ROUTES = [
    _route("GET", "/v1/dead-letters", "list_dead_letters",
           "Every service's dead letters, with why each was parked",
           query=LettersQuery, response=DeadLetters),
    _route("GET", "/v1/dead-letters/<letter>", "dead_letter",
           "One dead letter with its body and headers", response=DeadLetterDetail),
    _route("POST", "/v1/dead-letters/<letter>/replay", "replay_dead_letter",
           "Send one dead letter back to the queue it died in", response=Replayed),
    _route("POST", "/v1/dead-letters/replay", "replay_dead_letters",
           "Send every waiting dead letter back (of one service, or all)", body=ReplayAll,
           response=ReplayedAll),
    _route("POST", "/v1/rebuilds", "start_rebuild",
           "Rebuild a service's projections from its log beside the live ones; follow it",
           body=RebuildStart, response=Rebuild, status=202),
    _route("GET", "/v1/rebuilds/<rebuild>", "rebuild_progress", "A rebuild's progress",
           response=Rebuild),
    _route("GET", "/v1/operations/lag", "lag",
           "Relay, consumer and projection lag, held-back log and waiting dead letters of "
           "each service", response=Lag),
    _route("GET", "/v1/operator-actions", "operator_actions",
           "What operators did, newest first (routes and CLI)", query=ActionsQuery,
           response=OperatorActions),
]


class OperatorRoutes(OwnRoutes):
    """The operator's routes, by their ``rpc``."""

    routes = ROUTES

    def list_dead_letters(self, query: dict[str, Any]) -> dict[str, Any]:
        answers, unreachable = self.each("dead_letters", query.get("replayed", False),
                                         only=self.chosen(query))
        # Bodies are for one letter's page: a list of them may be long.
        items = [{**{k: v for k, v in letter.items() if k != "body"},
                  "id": f"{service}-{letter['id']}", "service": service}
                 for service, letters in answers.items() for letter in letters]
        return {"items": items, "unreachable": unreachable}

    def dead_letter(self, letter: str) -> dict[str, Any]:
        service, number = split_id(letter, self.services, "dead letter")
        found = self.call(service, "dead_letter", number)
        return {**found, "id": letter, "service": service}

    def replay_dead_letter(self, letter: str) -> dict[str, Any]:
        service, number = split_id(letter, self.services, "dead letter")
        self.call(service, "replay_dead_letter", number)
        return {"id": letter, "replayed": True}

    def replay_dead_letters(self, body: dict[str, Any]) -> dict[str, Any]:
        answers, unreachable = self.each("replay_dead_letters", only=self.chosen(body))
        return {"replayed": [f"{s}-{i}" for s, a in answers.items() for i in a["replayed"]],
                "refused": [{"id": f"{s}-{r['id']}", "detail": r["detail"]}
                            for s, a in answers.items() for r in a["refused"]],
                "unreachable": unreachable}

    def start_rebuild(self, body: dict[str, Any]) -> dict[str, Any]:
        (service,) = self.chosen(body)
        result: dict[str, Any] = self.call(service, "start_rebuild", body.get("projections"))
        return result

    def rebuild_progress(self, rebuild: str) -> dict[str, Any]:
        service, number = split_id(rebuild, self.services, "rebuild")
        result: dict[str, Any] = self.call(service, "rebuild_progress", number)
        return result

    def lag(self) -> dict[str, Any]:
        answers, unreachable = self.each("lag")
        return {"services": [answers[s] for s in self.services if s in answers],
                "unreachable": unreachable}

    def operator_actions(self, query: dict[str, Any]) -> dict[str, Any]:
        limit = query["last"]
        answers, unreachable = self.each("operator_actions", limit, only=self.chosen(query))
        items = sorted((a for actions in answers.values() for a in actions),
                       key=lambda a: (a["at"], a["service"], a["id"]), reverse=True)
        return {"items": items[:limit], "unreachable": unreachable}
