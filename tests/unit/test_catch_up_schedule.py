"""When a service reads each source's log again (eventstore.kernel.CatchUpSchedule): a source
that is down, or not deployed yet, is retried on its own growing wait, and the others keep
their schedule."""

from __future__ import annotations

from eventstore.kernel import CatchUpSchedule


def test_every_source_is_due_at_start_then_every_period_after_a_catch_up():
    schedule = CatchUpSchedule(["cycles", "membership"], every=30.0)
    assert schedule.due(0.0) == ["cycles", "membership"]
    schedule.succeeded("cycles", 1.0)
    schedule.succeeded("membership", 1.0)
    assert schedule.due(30.9) == [] and schedule.next_due() == 31.0
    assert schedule.due(31.0) == ["cycles", "membership"]


def test_a_source_that_fails_is_retried_sooner_doubling_up_to_the_period():
    schedule = CatchUpSchedule(["scheduling"], every=30.0)
    waits, logged, now = [], [], 0.0
    for _ in range(7):
        logged.append(schedule.failed("scheduling", now))
        waits.append(schedule.next_due() - now)
        now = schedule.next_due()
    assert waits == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    # A line for the first failure, then once per period: not one every two seconds.
    assert logged == [True, False, False, False, True, True, True]


def test_a_source_that_fails_leaves_the_others_on_their_schedule():
    schedule = CatchUpSchedule(["membership", "scheduling"], every=30.0)
    schedule.succeeded("membership", 0.0)
    schedule.failed("scheduling", 0.0)
    assert schedule.due(2.0) == ["scheduling"]
    schedule.failed("scheduling", 2.0)
    assert schedule.due(6.0) == ["scheduling"] and schedule.due(29.9) == ["scheduling"]
    assert schedule.due(30.0) == ["membership", "scheduling"]


def test_a_source_back_up_returns_to_the_period_and_starts_over_when_it_fails_again():
    schedule = CatchUpSchedule(["scheduling"], every=30.0)
    schedule.failed("scheduling", 0.0)
    schedule.failed("scheduling", 2.0)
    schedule.succeeded("scheduling", 6.0)
    assert schedule.next_due() == 36.0
    assert schedule.failed("scheduling", 36.0) is True
    assert schedule.next_due() == 38.0


def test_a_period_shorter_than_the_first_retry_bounds_the_retry():
    schedule = CatchUpSchedule(["scheduling"], every=0.5)
    schedule.failed("scheduling", 0.0)
    assert schedule.next_due() == 0.5
