"""The state agencies' pull feed, ``GET /v1/feed?after=&limit=&wait=`` (issue 19): the public
events of every service for the hubs of the agency's state, as CloudEvents 1.0, each service's
in its log order.

The gateway reads each service's ``public_events`` (eventstore.entrypoints: the service applies
its own public forms and its state's hubs) and keeps one position per service in an opaque
cursor, bound by HMAC to the agency that was given it (eventstore.cursors): a malformed cursor,
an edited one or another agency's is 422 naming ``after``, never a restart from zero. A reader
that sends each ``next`` back gets every event once: a service is asked to read no more of its
log than the page has room for, so everything it shows is taken, in its log order, and its
position is where it stopped reading (its events are passed on as the JSON text it made).
``next`` is always given, also when the reader has caught up. ``wait`` (0 to 30 seconds) holds
an empty answer until an event comes or the time is up, in the gateway (a green thread), asking
the services again every ``POLL_SECONDS``: no service's worker waits for a reader. A service
that cannot be reached is 503 and the reader asks again with the same cursor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, validate

from eventstore import cursors
from eventstore.identity import Identity
from eventstore.querystring import Integer
from eventstore.routes import Route

from .own import OwnRoutes

KIND = "gateway.feed.v1"
POLL_SECONDS = 0.2
# Log events each service is asked to read per call, and calls per service per answer: a
# reader of the whole history asks again; no answer reads without bound.
READ_PER_CALL = 1000
CALLS_PER_SERVICE = 5


class FeedQuery(Schema):
    wait = Integer(load_default=0, validate=validate.Range(0, 30), metadata={
        "description": "seconds to wait for an event when there is none yet (0 to 30)"})


class CloudEvent(Schema):
    """A public event (CloudEvents 1.0 JSON): its data is the event's public form."""
    specversion = fields.String(required=True)
    id = fields.String(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    time = fields.String(required=True)
    subject = fields.String(metadata={"description": "the stream's id, unless it names a "
                                                    "person"})
    datacontenttype = fields.String(required=True)
    dataschema = fields.String(required=True, metadata={
        "description": "the contract and its schema version"})
    hub = fields.String(metadata={"description": "extension: the event's hub"})
    data = fields.Dict(required=True)


FEED = Route("GET", "/v1/feed", "feed",
             "The public events of the agency's state, from every service, as CloudEvents: "
             "send each `next` back as `after`; `wait` holds an empty answer for new events",
             "feeds", query=FeedQuery, response=CloudEvent, paged=True, cursor="token",
             roles=("agency",), service="gateway", most=1000)


def page(services: list[str], ask: Callable[[str, list[int], int], dict[str, Any]],
         caller: Identity, after: str | None, limit: int, wait: int,
         sleep: Callable[[float], Any]) -> str:
    """One answer of the feed, as JSON text: ``ask(service, position, read)`` is the
    service's ``public_events`` (as text)."""
    positions = cursors.decode(KIND, after, caller) or {}
    if set(positions) - set(services) or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(n, int) for n in v)
            for v in positions.values()):
        raise cursors.refused()
    deadline = time.monotonic() + wait
    while True:
        count, parts = _read(services, ask, positions, limit)
        if count or time.monotonic() >= deadline:
            return (f'{{"items": [{",".join(parts)}], '
                    f'"next": {json.dumps(cursors.encode(KIND, positions, caller))}}}')
        sleep(POLL_SECONDS)


def _read(services: list[str], ask: Callable[[str, list[int], int], dict[str, Any]],
          positions: dict[str, list[int]], limit: int) -> tuple[int, list[str]]:
    """Each service's events in turn, up to ``limit`` in all: a service is asked to read no
    more log events than the page has room for, so all it shows is taken and its position is
    where it stopped reading. The events stay the JSON text the service made."""
    count, parts = 0, []
    for service in services:
        position = positions.get(service, [0, 0])
        for _ in range(CALLS_PER_SERVICE):
            room = limit - count
            if room <= 0:
                break
            answer = ask(service, position, min(READ_PER_CALL, room))
            if answer["count"]:
                parts.append(answer["events_json"][1:-1])   # the array's items
                count += answer["count"]
            position = answer["next"]
            if not answer["more"]:
                break
        positions[service] = position
    return count, parts


class Table(Schema):
    """A table of counts as it may leave: its rows with a ``total`` column and a ``total`` row;
    a suppressed cell is null and listed under ``suppressed``."""
    rows = fields.Dict(fields.String(), fields.Dict(fields.String(),
                                                    fields.Integer(allow_none=True)),
                       required=True)
    suppressed = fields.List(fields.List(fields.String()), required=True, metadata={
        "description": "[row, column] of each suppressed cell"})


class HubFacts(Schema):
    name = fields.String(required=True)
    stage = fields.String(required=True)
    facilitator_org = fields.String(required=True)


class Feedback(Schema):
    raters = fields.Integer(allow_none=True, metadata={"description": "null: fewer than 11"})
    average_stars = fields.Float(allow_none=True)


class ExpertSessions(Schema):
    engagements = fields.Integer(required=True)
    sessions_used = fields.Integer(required=True)
    pooled_cost_cents = fields.Integer(required=True, metadata={
        "description": "the hub's shares of its engagements' cost"})
    saved_cents = fields.Integer(required=True, metadata={
        "description": "what the hub would have paid alone, less its shares"})


class HubSummary(Schema):
    id = fields.String(required=True)
    hub = fields.Nested(HubFacts)
    members = fields.Nested(Table, metadata={"description": "by kind and enrollment band"})
    projects_by_phase = fields.Nested(Table)
    test_cycles_completed = fields.Nested(Table, metadata={"description": "by decision"})
    meetings_held = fields.Nested(Table, metadata={"description": "by kind of meeting"})
    attendance = fields.Nested(Table, metadata={"description": "people attending, by kind"})
    feedback = fields.Dict(fields.String(), fields.Nested(Feedback), metadata={
        "description": "by kind of meeting"})
    expert_sessions = fields.Nested(ExpertSessions)


class Summary(Schema):
    state = fields.String(required=True)
    hubs = fields.List(fields.Nested(HubSummary), required=True)
    unreachable = fields.List(fields.String(), required=True, metadata={
        "description": "services that did not answer: their sections are missing"})


SUMMARY = Route("GET", "/v1/agency/summary", "agency_summary",
                "Each hub of the agency's state in aggregate, small cells suppressed so that "
                "none can be worked back out", "feeds", response=Summary, roles=("agency",),
                service="gateway")


def summary(state: str, answers: dict[str, dict[str, dict[str, Any]]],
            unreachable: list[str]) -> dict[str, Any]:
    """The services' parts of the summary (each suppressed by its owner) put together by
    hub."""
    hubs: dict[str, dict[str, Any]] = {}
    for service in sorted(answers):
        for hub, sections in answers[service].items():
            hubs.setdefault(hub, {"id": hub}).update(sections)
    return {"state": state, "hubs": [hubs[h] for h in sorted(hubs)],
            "unreachable": unreachable}


class AgencyRoutes(OwnRoutes):
    """The agencies' routes, by their ``rpc``."""

    routes = [FEED, SUMMARY]

    def feed(self, query: dict[str, Any], limit: int, after: str | None) -> str:
        """Each service's public events, one position per service in the cursor."""
        def ask(service: str, position: list[int], read: int) -> dict[str, Any]:
            answer: dict[str, Any] = self.call(service, "public_events", position, read, True)
            return answer
        return page(self.services, ask, self.identity, after, limit, query["wait"],
                    self.sleep)

    def agency_summary(self) -> dict[str, Any]:
        answers, unreachable = self.each("agency_summary")
        return summary(self.identity.state or "", answers, unreachable)
