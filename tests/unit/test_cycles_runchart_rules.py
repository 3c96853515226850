"""Every run-chart signal, present and absent, in worked examples a facilitator would recognise,
with the limits on both sides of each boundary."""

from __future__ import annotations

import pytest

from services.cycles.domain import runchart


def chart(values):
    result = runchart.analyse([{"on": "2017-10-01", "value": float(v)} for v in values])
    return result, {s["rule"]: s["points"] for s in result["signals"]}


def with_runs(runs, low=10, high=10):
    """low points at 1 and high points at 9 (median 5), in exactly ``runs`` runs, starting
    low: the points are dealt round the runs of each side as evenly as possible."""
    low_runs, high_runs = (runs + 1) // 2, runs // 2
    def deal(points, parts):
        return [points // parts + (1 if i < points % parts else 0) for i in range(parts)]
    lows, highs = deal(low, low_runs), deal(high, high_runs)
    values = []
    for i in range(runs):
        values += [1] * lows[i // 2] if i % 2 == 0 else [9] * highs[i // 2]
    return values


def test_a_shift_mid_series_flags_exactly_its_points_even_when_one_crosses_after():
    result, signals = chart([4, 6, 4, 6, 9, 9, 9, 9, 9, 9, 9, 1, 6, 4, 6, 4])
    assert result["median"] == 6
    assert signals["shift"] == [4, 5, 6, 7, 8, 9, 10]


def test_five_on_one_side_mid_series_is_no_shift():
    _, signals = chart([4, 6, 4, 6, 9, 9, 9, 9, 9, 1, 4, 6, 4, 6, 1])
    assert "shift" not in signals


def test_a_downward_trend_mid_series():
    _, signals = chart([5, 6, 5, 6, 9, 8, 7, 6, 5, 6, 5, 6])
    assert signals["trend"] == [4, 5, 6, 7, 8]
    _, signals = chart([5, 6, 5, 6, 9, 8, 7, 6, 6, 7, 5, 6])   # four steps down: no trend
    assert "trend" not in signals


@pytest.mark.parametrize("runs, signal", [(5, "too_few_runs"), (6, "too_few_runs"),
                                           (7, None), (8, None), (15, None),
                                           (16, "too_many_runs"), (19, "too_many_runs")])
def test_too_few_and_too_many_runs_on_both_sides_of_their_limits(runs, signal):
    result, signals = chart(with_runs(runs))
    assert result["runs"] == {"count": runs, "useful_points": 20, "limits": [7, 15]}
    assert {k for k in signals if k.endswith("_runs")} == ({signal} if signal else set())


def test_the_runs_rule_needs_ten_useful_points():
    result, signals = chart(with_runs(9, low=5, high=4))   # nine runs of nine points
    assert result["runs"]["limits"] is None and "too_many_runs" not in signals
    result, _ = chart(with_runs(10, low=5, high=5))
    assert result["runs"]["limits"] == [3, 9]


@pytest.mark.parametrize("above, below, limits", [
    (5, 5, (3, 9)), (6, 6, (4, 10)), (7, 7, (4, 12)), (10, 10, (7, 15)), (6, 9, (5, 12)),
    (9, 25, (10, 18)), (11, 21, (11, 20)), (13, 29, (14, 24)), (20, 27, (18, 30))])
def test_the_runs_limits_leave_two_and_a_half_percent_in_each_tail(above, below, limits):
    # Exact: a little more (or less) in the tails would move one of these limits.
    assert runchart.runs_limits(above, below) == limits
    p = runchart.runs_distribution(above, below)
    low, high = limits
    assert sum(v for r, v in p.items() if r < low) <= runchart.RUNS_ALPHA
    assert sum(v for r, v in p.items() if r <= low) > runchart.RUNS_ALPHA
    assert sum(v for r, v in p.items() if r > high) <= runchart.RUNS_ALPHA
    assert sum(v for r, v in p.items() if r >= high) > runchart.RUNS_ALPHA


def test_no_runs_rule_with_all_points_on_one_side():
    assert runchart.runs_limits(12, 0) is None and runchart.runs_limits(0, 12) is None


def test_an_astronomical_point_mid_series_and_none_without_one():
    _, signals = chart([10, 11, 10, 12, 11, 60, 10, 11, 12, 10])
    assert signals["astronomical_point"] == [5]
    _, signals = chart([10, 11, 10, 12, 11, 13, 10, 11, 12, 10])
    assert "astronomical_point" not in signals
    _, signals = chart([10, 10, 10, 10, 60])   # no spread: nothing is "far" outside it
    assert "astronomical_point" not in signals


def test_each_signal_says_which_way_it_goes():
    result, _ = chart([1, 1, 1, 1, 1, 1, 5, 9, 9, 9, 9, 9, 9])
    assert [s["detail"] for s in result["signals"] if s["rule"] == "shift"] == [
        "6 points in a row below the median", "6 points in a row above the median"]
    result, _ = chart([5, 6, 7, 8, 9, 3, 5, 4, 3, 2, 1])
    assert [s["detail"] for s in result["signals"] if s["rule"] == "trend"] == [
        "5 points in a row going up", "5 points in a row going down"]


@pytest.mark.parametrize("at", [3, 6])    # odd and even indexes
def test_an_astronomical_point_is_named_by_its_place_in_the_series(at):
    values = [10, 11, 10, 12, 11, 10, 12, 11]
    values[at] = 80
    result, signals = chart(values)
    assert signals["astronomical_point"] == [at]
    (signal,) = [s for s in result["signals"] if s["rule"] == "astronomical_point"]
    assert signal["detail"] == f"point {at + 1} (80) is far outside the others"


def test_a_long_shift_or_trend_is_one_signal_wherever_it_ends():
    # Seven below to the end of the series; seven above, then seven below, then one above.
    result, signals = chart([9, 9, 9, 9, 9, 1, 9, 9, 1, 9, 9, 1, 2, 1, 2, 1, 2, 1])
    assert result["median"] == 5.5
    assert signals["shift"] == [11, 12, 13, 14, 15, 16, 17]
    result, _ = chart([5, 4, 5, 4, 9, 9, 9, 9, 9, 9, 9, 1, 4, 1, 4, 1, 4, 1, 5])
    assert [s["points"] for s in result["signals"] if s["rule"] == "shift"] == [
        [4, 5, 6, 7, 8, 9, 10], [11, 12, 13, 14, 15, 16, 17]]
    # Six up, then six down to the end of the series.
    result, _ = chart([1, 2, 3, 4, 5, 6, 2, 9, 8, 7, 6, 5, 4])
    assert [s["points"] for s in result["signals"] if s["rule"] == "trend"] == [
        [0, 1, 2, 3, 4, 5], [7, 8, 9, 10, 11, 12]]


def test_a_point_exactly_three_interquartile_ranges_out_is_not_astronomical():
    # Quartiles 1 and 4.75 (inclusive): the far-out fences are -10.25 and 16.
    assert runchart.astronomical([0, 0, 4, 4, 5, 16]) == []
    assert runchart.astronomical([0, 0, 4, 4, 5, 16.5]) == [5]
    assert runchart.astronomical([-16, -5, -4, -4, 0, 0]) == []
    assert runchart.astronomical([-16.5, -5, -4, -4, 0, 0]) == [0]
