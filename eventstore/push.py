"""The agencies' push: the public form of each of a service's events, published by its relay on
the public topic exchange, routed ``<state>.<service>.<type>`` (issue 19).

The relay publishes an event to its service's own exchange and, when the event has a public
form and its hub's state is known, to ``consortium.public`` in the same batch, under the same
publisher confirms and the same checkpoint: at least once, in each service's log order, the
very CloudEvent the pull feed gives (its ``id`` lets a reader drop a redelivery). Each state
agency's broker user may bind its own queues to its state's routing keys only
(``eventstore.broker.agency_user``), so what a state reads is decided by RabbitMQ's topic
permissions, not by the agency's good manners.

An event of a hub the service's directory does not know (yet) is not pushed; it is counted
(``relay_public_unrouted_total``) and stays in the pull feed, which decides by the directory
when it is read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from . import metrics
from .broker import PUBLIC_EXCHANGE
from .contracts import Published, public_event
from .events import RecordedEvent

log = logging.getLogger("eventstore.push")

__all__ = ["PUBLIC_EXCHANGE", "HUB_STATES_SQL", "PublicPush", "routing_key"]
# Every service's directory of hubs has the hub's state; membership's own view overrides.
HUB_STATES_SQL = "SELECT id, state FROM directory_hubs"


def routing_key(state: str, service: str, type_: str) -> str:
    return f"{state.upper()}.{service}.{type_}"


class PublicPush:
    """What a service's relay publishes for the agencies: (routing key, CloudEvent) per event
    of a batch that has a public form and a hub of a known state."""

    def __init__(self, service: str, contracts: Iterable[type[Published]],
                 hub_states_sql: str = HUB_STATES_SQL) -> None:
        self.service = service
        self.forms = {c.type: c for c in contracts if c.public is not None}
        self.hub_states_sql = hub_states_sql
        self._states: dict[str, str] = {}

    def messages(self, batch: list[RecordedEvent], cur: Any) -> list[tuple[RecordedEvent, str,
                                                                            dict[str, Any]]]:
        found = []
        for event in batch:
            contract = self.forms.get(event.type)
            if contract is None:
                continue
            hub = event.hub_id or event.stream_id
            state = self._state_of(hub, cur)
            # A key the service's broker user may not publish with would close the relay's
            # channel on every retry: such a state is as good as unknown.
            if state is None or not re.fullmatch(r"[A-Z]{2}", state.upper()):
                metrics.RELAY_PUBLIC_UNROUTED.labels(self.service).inc()
                log.warning("%s %s of hub %r not pushed: the directory has no state for it",
                            self.service, event.type, hub)
                continue
            cloud_event = public_event(contract, event)
            if cloud_event is not None:
                found.append((event, routing_key(state, self.service, event.type),
                              cloud_event))
        return found

    def _state_of(self, hub: str, cur: Any) -> str | None:
        if hub not in self._states:
            # Hubs are few and new ones rare: the whole table, again only for a hub not seen.
            # The relay's own session reads every hub (row-level security scopes by caller).
            cur.execute("SELECT set_config('consortium.hubs', '*', false)")
            cur.execute(self.hub_states_sql)
            self._states = {row[0]: row[1] for row in cur.fetchall() if row[1]}
        return self._states.get(hub)
