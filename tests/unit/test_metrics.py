"""Deferred metrics: what a scrape shows is what observing one by one would have shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

from eventstore import metrics

BUCKETS = (.0005, .001, .01, .1, 1)


def samples(registry, name):
    return [line.split(" ", 1)[1] for line in generate_latest(registry).decode().splitlines()
            if line.startswith(name) and "_created" not in line]


@given(st.lists(st.floats(min_value=0, max_value=10), max_size=50))
def test_observe_many_equals_observing_one_by_one(values):
    registry = CollectorRegistry()
    one = Histogram("one_seconds", "x", buckets=BUCKETS, registry=registry)
    many = Histogram("many_seconds", "x", buckets=BUCKETS, registry=registry)
    for value in values:
        one.observe(value)
    metrics.observe_many(many, values)
    assert samples(registry, "one_seconds") == samples(registry, "many_seconds")


def test_deferred_observations_are_all_visible_at_the_next_scrape():
    counter = Counter("deferred_test_total", "x")
    deferred = metrics.Deferred(lambda batch: counter.inc(sum(n for (n,) in batch)), batch=10)
    for _ in range(25):
        deferred.observe(1)
    assert counter._value.get() == 20          # two full batches applied as they filled
    assert "deferred_test_total 25.0" in generate_latest(REGISTRY).decode()
