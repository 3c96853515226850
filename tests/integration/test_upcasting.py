"""One event store per service, with its upcasters, passed to everything that reads the log:
an event recorded in an old shape reaches aggregates, projections and the bus in the new one."""

from __future__ import annotations

import threading

from eventstore.aggregate import Aggregate, applies
from eventstore.events import NewEvent, Upcasters
from eventstore.projections import Projection, ProjectionRunner, handles
from eventstore.relay import Relay
from eventstore.repository import Repository
from eventstore.store import EventStore
from tests.support import bind_queue, drain, wait_until

UPCASTERS = Upcasters()


@UPCASTERS.register("EntryMade", 1)
def _entries_gained_a_label(data):
    return {**data, "label": f"entry {data['n']}"}


class Entry(Aggregate):
    stream_type = "entry"

    @applies("EntryMade")
    def _made(self, data):
        self.label = data["label"]


class Labels(Projection):
    name = "labels"
    seen: list = []

    @handles("EntryMade")
    def made(self, cur, event):
        Labels.seen.append((event.schema_version, event.data["label"]))


def test_an_old_event_reaches_aggregates_projections_and_the_bus_upcast(db, database_url,
                                                                        amqp_uri):
    EventStore(db, "ledger").append("entry-1", "entry", 0,
                                    [NewEvent("EntryMade", {"n": 1}, hub_id="h")])
    store = EventStore(db, "ledger", UPCASTERS)    # the service's one store
    assert Repository(store, Entry).load("entry-1").label == "entry 1"
    ProjectionRunner(db, store, [Labels()]).catch_up()
    assert Labels.seen == [(2, "entry 1")]
    bind_queue(amqp_uri, "test-upcast", "ledger.events")
    relay = Relay("ledger", database_url, amqp_uri, store=store)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        (published,) = wait_until(lambda: drain(amqp_uri, "test-upcast"), what="the relay")
    finally:
        relay.stop()
        thread.join(10)
    assert (published["schema_version"], published["data"]) == (2, {"n": 1, "label": "entry 1"})
