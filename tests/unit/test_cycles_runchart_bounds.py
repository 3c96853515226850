"""The run chart's work is bounded: exact runs limits for small charts, the normal
approximation above, and a cap on the points one indicator may hold."""

from __future__ import annotations

import pytest

from eventstore.errors import Conflict
from eventstore.testing import given
from services.cycles.domain import MAX_POINTS_PER_INDICATOR, Project, runchart


@pytest.mark.parametrize("n1, n2", [(45, 56), (50, 51), (60, 41), (70, 70), (80, 30)])
def test_the_approximation_agrees_with_the_exact_limits_within_one_run(n1, n2):
    exact = runchart.runs_distribution(n1, n2)
    low, high = runchart.runs_limits_approximate(n1, n2)
    cumulative, exact_low = 0, None
    for r in sorted(exact):
        cumulative += exact[r]
        if cumulative > runchart.RUNS_ALPHA:
            exact_low = r
            break
    cumulative, exact_high = 0, None
    for r in sorted(exact, reverse=True):
        cumulative += exact[r]
        if cumulative > runchart.RUNS_ALPHA:
            exact_high = r
            break
    assert abs(low - exact_low) <= 1 and abs(high - exact_high) <= 1


def test_large_charts_never_sum_the_exact_distribution(monkeypatch):
    def exact(n1, n2):
        raise AssertionError(f"exact distribution for {n1 + n2} points")
    monkeypatch.setattr(runchart, "runs_distribution", exact)
    runchart.runs_limits.cache_clear()
    values = [float(v) for v in ([1, 9] * 300 + [1] * 50 + [9] * 50)]
    chart = runchart.analyse([{"on": "2017-01-01", "value": v} for v in values])
    assert chart["runs"]["limits"] is not None
    assert "too_many_runs" in {s["rule"] for s in chart["signals"]}
    runchart.runs_limits.cache_clear()


def test_up_to_the_exact_bound_the_limits_are_exact(monkeypatch):
    called = []
    real = runchart.runs_distribution
    monkeypatch.setattr(runchart, "runs_distribution",
                        lambda n1, n2: called.append(n1 + n2) or real(n1, n2))
    runchart.runs_limits.cache_clear()
    runchart.runs_limits(50, 50)
    runchart.runs_limits(51, 50)
    assert called == [100]
    runchart.runs_limits.cache_clear()


def measured_project(points):
    history = [
        ("ProjectOpened", {"hub_id": "h", "member_id": "m", "problem_id": "p"}),
        ("PhaseChanged", {"phase": "test", "previous": None, "reason": None}),
        ("ChangeIdeaRecorded", {"idea_id": "i", "description": "d", "source": "peer",
                                "source_ref": None}),
        ("PrototypeProposed", {"prototype_id": "pr", "name": "n", "description": "d",
                               "idea_ids": ["i"]}),
        ("PrototypeSelected", {"prototype_id": "pr", "criteria": []}),
        ("IndicatorDefined", {"indicator_id": "ind", "prototype_id": "pr", "name": "n",
                              "kind": "leading", "unit": "%", "direction": "up",
                              "baseline": None, "target": None}),
        ("CycleStarted", {"cycle_id": "c", "prototype_id": "pr", "revision": 1,
                          "plan": {}, "prediction": "p", "number": 1})]
    history += [("MeasurementRecorded", {"cycle_id": "c", "indicator_id": "ind", "value": 1,
                                         "n": 10, "on": "2017-01-01", "note": None})] * points
    return given(Project, "prj", history)


def test_an_indicator_holds_at_most_its_bound_of_points():
    measured_project(MAX_POINTS_PER_INDICATOR - 1).when(
        lambda p: p.record_measurement("c", "ind", 2, 10, "2017-01-02")).then([
            ("MeasurementRecorded", {"cycle_id": "c", "indicator_id": "ind", "value": 2,
                                     "n": 10, "on": "2017-01-02", "note": None})])
    measured_project(MAX_POINTS_PER_INDICATOR).when(
        lambda p: p.record_measurement("c", "ind", 2, 10, "2017-01-02")).then_raises(
            Conflict, "as many as a run chart holds")


def normal_limits(n1, n2):
    """The runs limits by the normal approximation, found by search rather than by the closed
    form: the fewest runs whose lower tail P(R <= r) (with a continuity correction) is over
    2.5%, and the most whose upper tail P(R >= r) is, within the runs that can happen."""
    import statistics
    n = n1 + n2
    mean = 1 + 2 * n1 * n2 / n
    sd = (2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1))) ** 0.5
    normal = statistics.NormalDist(mean, sd)
    alpha = float(runchart.RUNS_ALPHA)
    possible = range(2, 2 * min(n1, n2) + (n1 != n2) + 1)
    low = next(r for r in possible if normal.cdf(r + 0.5) > alpha)
    high = next(r for r in reversed(possible) if 1 - normal.cdf(r - 0.5) > alpha)
    return low, high


@pytest.mark.parametrize("n1, n2", [(45, 56), (50, 51), (60, 60), (70, 41), (80, 30),
                                    (120, 130), (8, 140), (15, 151), (300, 250), (2, 120),
                                    (9, 100), (20, 90), (40, 70)])
def test_above_the_exact_bound_the_limits_are_the_normal_approximations(n1, n2):
    assert runchart.runs_limits_approximate(n1, n2) == normal_limits(n1, n2)
    assert runchart.runs_limits(n1, n2) == normal_limits(n1, n2)


@pytest.mark.parametrize("n1, n2, most", [(5, 200, 11), (3, 150, 7), (1, 120, 3),
                                          (200, 5, 11), (150, 3, 7), (120, 1, 3)])
def test_the_approximate_limits_never_pass_the_runs_that_can_happen(n1, n2, most):
    # With few points on one side, the normal curve reaches past the most runs possible
    # (alternating as long as the smaller side lasts): the limit stops there.
    low, high = runchart.runs_limits_approximate(n1, n2)
    assert high == most == max(runchart.runs_distribution(n1, n2))
    assert 3 <= low <= high


def test_above_the_exact_bound_the_lower_limit_is_a_possible_count():
    # Fewer than two runs cannot happen; the approximation never asks for fewer than three.
    for n in (101, 150, 400, 2000):
        for n1 in (1, 2, 3, n // 4, n // 2):
            low, high = runchart.runs_limits_approximate(n1, n - n1)
            assert 3 <= low <= high, (n1, n - n1)
