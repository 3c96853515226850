"""The relay publishes the log at least once and in log order, whatever fails (DESIGN.md §4)."""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.request

import pytest

from eventstore.events import NewEvent
from tests.support import (
    Process,
    bind_queue,
    drain,
    free_port,
    http_get,
    python,
    queue_depth,
    wait_until,
)

SERVICE = "ledger"


def relay_process(name, database_url, amqp_uri, metrics_port=0):
    return Process(name, python("-m", "eventstore", "relay", "--service", SERVICE,
                                "--database-url", database_url, "--amqp-uri", amqp_uri,
                                "--metrics-port", str(metrics_port)),
                   env={"CONSORTIUM_RELAY_BATCH_SIZE": "50"})


def append_many(store, count, start=0):
    for n in range(start, start + count):
        store.append(f"entry-{n}", "entry", 0, [NewEvent("EntryMade", {"n": n}, hub_id="h")])


def assert_in_log_order(received, store):
    log = [e.event_id for e in store.iter_all()]
    first_seen, seen = [], set()
    for body in received:
        if body["event_id"] not in seen:
            seen.add(body["event_id"])
            first_seen.append(body["event_id"])
    assert first_seen == log, "the relay skipped or reordered events"


def vhost_of(amqp_uri):
    return amqp_uri.rsplit("/", 1)[1]


@pytest.fixture
def events_queue(amqp_uri):
    queue = f"test-relay-{time.monotonic_ns()}"
    bind_queue(amqp_uri, queue, f"{SERVICE}.events")
    return queue


def test_relay_publishes_in_nameko_format_and_checkpoints(store, database_url, amqp_uri,
                                                          events_queue):
    append_many(store, 120)
    relay = relay_process("relay-basic", database_url, amqp_uri, metrics_port=18931)
    try:
        wait_until(lambda: queue_depth(amqp_uri, events_queue) >= 120, what="120 published")
        received = drain(amqp_uri, events_queue)
        assert len(received) == 120
        assert_in_log_order(received, store)
        first = received[0]
        assert first["type"] == "EntryMade" and first["source"] == SERVICE
        assert first["data"] == {"n": 0} and first["hub_id"] == "h"
        wait_until(lambda: store.checkpoint("relay")[1] == store.read_all(limit=200)[-1].position,
                   what="the checkpoint to reach the head")
        metrics = urllib.request.urlopen("http://127.0.0.1:18931/metrics").read().decode()
        assert 'relay_events_published_total{service="ledger"} 120.0' in metrics
        assert 'relay_active{service="ledger"} 1.0' in metrics
    finally:
        relay.stop()
    # A restarted relay resumes from the checkpoint: nothing is published twice after a clean stop.
    append_many(store, 5, start=120)
    relay = relay_process("relay-basic-2", database_url, amqp_uri)
    try:
        wait_until(lambda: queue_depth(amqp_uri, events_queue) >= 5, what="5 more published")
        assert [b["data"]["n"] for b in drain(amqp_uri, events_queue)] == list(range(120, 125))
    finally:
        relay.stop()


@pytest.mark.slow
def test_relay_survives_dropped_connections_kills_and_takeover(store, database_url, amqp_uri,
                                                               events_queue):
    total = 3000
    writer = threading.Thread(target=append_many, args=(store, total))
    writer.start()
    ports = {name: free_port() for name in ("relay-a", "relay-b")}
    first = relay_process("relay-a", database_url, amqp_uri, ports["relay-a"])
    second = third = None

    def active(name):
        status, text = http_get(f"http://127.0.0.1:{ports[name]}/metrics")
        return status == 200 and 'relay_active{service="ledger"} 1.0' in text

    try:
        wait_until(lambda: active("relay-a"), what="the first relay to be active")
        second = relay_process("relay-b", database_url, amqp_uri, ports["relay-b"])
        wait_until(lambda: http_get(f"http://127.0.0.1:{ports['relay-b']}/metrics")[0] == 200,
                   what="the standby to run")
        depth = lambda: queue_depth(amqp_uri, events_queue)  # noqa: E731
        for round_ in range(3):
            wait_until(lambda r=round_: depth() >= 300 * (r + 1), what="progress")
            subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "--vhost",
                            vhost_of(amqp_uri), "test: dropping connections"], check=True,
                           timeout=60)
        wait_until(lambda: depth() >= 1200, what="progress after dropped connections")
        # After the drops either relay may hold the lock; kill whichever is active now.
        holder = wait_until(lambda: next((n for n in ports if active(n)), None),
                            what="one relay to be active")
        assert not all(active(n) for n in ports), "two relays active at once"
        killed, standby = ((first, "relay-b") if holder == "relay-a" else (second, "relay-a"))
        killed.kill()                          # the active relay dies mid-stream ...
        wait_until(lambda: active(standby), what="the standby to take over")
        wait_until(lambda: depth() >= 1800, what="progress after the takeover")
        (first if standby == "relay-a" else second).kill()   # ... and so does its successor
        third = relay_process("relay-c", database_url, amqp_uri)
        writer.join()
        wait_until(lambda: depth() >= total, timeout=60, what="every event published")
        wait_until(lambda: store.checkpoint("relay")[1] == max(
            e.position for e in store.iter_all()), what="the checkpoint at the head")
        received = drain(amqp_uri, events_queue)
        assert len({b["event_id"] for b in received}) == total
        assert_in_log_order(received, store)
    finally:
        writer.join()
        for process in (first, second, third):
            if process is not None:
                process.stop()


FENCE = 4   # seconds a frozen relay may keep the lock in these tests (15 in use)


@pytest.mark.slow
def test_a_frozen_relay_is_replaced_within_its_fence_and_publishes_nothing_stale(
        store, database_url, amqp_uri, events_queue, monkeypatch):
    import signal as signals
    monkeypatch.setenv("CONSORTIUM_RELAY_FENCE_SECONDS", str(FENCE))
    monkeypatch.setenv("CONSORTIUM_RELAY_CONFIRM_SECONDS", "1")
    ports = {name: free_port() for name in ("relay-a", "relay-b")}

    def active(name):
        status, text = http_get(f"http://127.0.0.1:{ports[name]}/metrics", timeout=0.5)
        return status == 200 and 'relay_active{service="ledger"} 1.0' in text

    first = relay_process("relay-a", database_url, amqp_uri, ports["relay-a"])
    second = None
    try:
        wait_until(lambda: active("relay-a"), what="the first relay to be active")
        second = relay_process("relay-b", database_url, amqp_uri, ports["relay-b"])
        wait_until(lambda: http_get(f"http://127.0.0.1:{ports['relay-b']}/metrics")[0] == 200,
                   what="the standby to run")
        append_many(store, 200)
        wait_until(lambda: queue_depth(amqp_uri, events_queue) >= 200, what="published")
        first.proc.send_signal(signals.SIGSTOP)     # a hung host: alive, silent, holding on
        frozen_at = time.monotonic()
        append_many(store, 200, start=200)
        # PostgreSQL ends the frozen relay's idle session after the fence; the standby takes
        # the lock within its poll.
        wait_until(lambda: active("relay-b"), timeout=FENCE + 10,
                   what="the standby to take over from the frozen relay")
        took = time.monotonic() - frozen_at
        wait_until(lambda: queue_depth(amqp_uri, events_queue) >= 400, what="published again")
        first.proc.send_signal(signals.SIGCONT)      # it wakes up, its session long gone ...
        append_many(store, 200, start=400)
        wait_until(lambda: store.checkpoint("relay")[1] == max(
            e.position for e in store.iter_all()), what="the checkpoint at the head")
        wait_until(lambda: queue_depth(amqp_uri, events_queue) >= 600, what="all published")
        # ... and, fenced, published nothing out of order and is not active.
        wait_until(lambda: http_get(f"http://127.0.0.1:{ports['relay-a']}/metrics")[0] == 200,
                   what="the woken relay to answer")
        assert not active("relay-a") and active("relay-b")
        received = drain(amqp_uri, events_queue)
        assert len({b["event_id"] for b in received}) == 600
        assert_in_log_order(received, store)
        assert took <= FENCE + 5, f"takeover took {took:.1f}s"
    finally:
        first.proc.send_signal(signals.SIGCONT)
        for process in (first, second):
            if process is not None:
                process.stop()
