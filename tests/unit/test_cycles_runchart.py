"""The run-chart rules against plain reference implementations written the obvious way
(property-based, with hypothesis), plus the worked examples a facilitator would recognise."""

from __future__ import annotations

import itertools
import statistics
import xml.etree.ElementTree as ET
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cycles.domain import runchart

# Small integers make ties, points on the median and repeated values common.
VALUES = st.lists(st.integers(min_value=0, max_value=12).map(float), min_size=0, max_size=40)


# -- reference implementations -----------------------------------------------------------------

def ref_shift_points(values, centre):
    """Every index that is in a shift: strip points on the median, group by side."""
    useful = [(i, v > centre) for i, v in enumerate(values) if v != centre]
    flagged = set()
    for _, group in itertools.groupby(useful, key=lambda p: p[1]):
        group = list(group)
        if len(group) >= 6:
            flagged |= {i for i, _ in group}
    return flagged


def ref_trend_points(values):
    """Drop repeats, then look at every window of 5 points for a monotone run."""
    kept = [i for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    # Equal neighbours after dropping repeats are impossible; windows of 5 strictly monotone.
    flagged = set()
    for start in range(len(kept) - 4):
        window = [values[i] for i in kept[start:start + 5]]
        pairs = list(zip(window, window[1:], strict=False))
        if all(a < b for a, b in pairs) or all(a > b for a, b in pairs):
            flagged |= set(kept[start:start + 5])
    return flagged


def ref_runs(values, centre):
    sides = [v > centre for v in values if v != centre]
    return len(list(itertools.groupby(sides))), sides.count(True), sides.count(False)


def ref_runs_probability(above, below):
    """P(number of runs = r) by enumerating every arrangement (small counts only)."""
    counts = {}
    total = 0
    for positions in itertools.combinations(range(above + below), above):
        sides = [i in positions for i in range(above + below)]
        r = len(list(itertools.groupby(sides)))
        counts[r] = counts.get(r, 0) + 1
        total += 1
    return {r: Fraction(c, total) for r, c in counts.items()}


# -- properties --------------------------------------------------------------------------------

@given(VALUES)
def test_shifts_match_the_reference(values):
    if not values:
        return
    centre = statistics.median(values)
    found = {i for group in runchart.shifts(values, centre) for i in group}
    assert found == ref_shift_points(values, centre)


@given(VALUES)
def test_trends_match_the_reference(values):
    found = {i for group in runchart.trends(values) for i in group}
    assert found == ref_trend_points(values)


@given(VALUES)
def test_runs_match_the_reference(values):
    if not values:
        return
    centre = statistics.median(values)
    assert runchart.runs(values, centre) == ref_runs(values, centre)


@settings(max_examples=60)
@given(st.integers(1, 8), st.integers(1, 8))
def test_the_runs_distribution_is_exact(above, below):
    assert runchart.runs_distribution(above, below) == ref_runs_probability(above, below)


@given(VALUES)
def test_too_few_or_too_many_runs_only_when_chance_is_below_the_limit(values):
    chart = runchart.analyse([{"on": str(i), "value": v} for i, v in enumerate(values)])
    rules = {s["rule"] for s in chart["signals"]}
    if not values:
        assert chart["median"] is None and not rules
        return
    count, above, below = ref_runs(values, statistics.median(values))
    if above + below < 10 or not above or not below:
        assert not rules & {"too_few_runs", "too_many_runs"}
        return
    p = runchart.runs_distribution(above, below)
    assert ("too_few_runs" in rules) == (sum(q for r, q in p.items() if r <= count)
                                         <= Fraction(25, 1000))
    assert ("too_many_runs" in rules) == (sum(q for r, q in p.items() if r >= count)
                                          <= Fraction(25, 1000))


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=5, max_size=40))
def test_an_astronomical_point_is_far_outside_the_quartiles(values):
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    iqr = q3 - q1
    expected = [] if iqr == 0 else [i for i, v in enumerate(values)
                                    if v < q1 - 3 * iqr or v > q3 + 3 * iqr]
    assert runchart.astronomical(values) == expected


# -- worked examples ---------------------------------------------------------------------------

def chart(values):
    return runchart.analyse([{"on": f"2017-10-{i + 1:02d}", "value": v}
                             for i, v in enumerate(values)])


def test_six_points_on_one_side_is_a_shift_five_is_not():
    assert [s["points"] for s in chart([1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9, 5])["signals"]
            if s["rule"] == "shift"] == [[5, 6, 7, 8, 9, 10]]
    assert not [s for s in chart([1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 5])["signals"]
                if s["rule"] == "shift"]


def test_points_on_the_median_neither_break_nor_make_a_shift():
    values = [1, 1, 1, 5, 1, 1, 1, 9, 9, 9, 9, 9, 9]   # median 5: six below around it
    assert [s["points"] for s in chart(values)["signals"] if s["rule"] == "shift"][0] == \
        [0, 1, 2, 4, 5, 6]


def test_five_points_going_up_is_a_trend_and_repeats_are_skipped():
    assert [s["points"] for s in chart([3, 4, 5, 6, 7])["signals"]
            if s["rule"] == "trend"] == [[0, 1, 2, 3, 4]]
    assert [s["points"] for s in chart([3, 4, 4, 5, 6, 7])["signals"]
            if s["rule"] == "trend"] == [[0, 1, 3, 4, 5]]
    assert not [s for s in chart([3, 4, 5, 6, 5])["signals"] if s["rule"] == "trend"]


def test_runs_limits_agree_with_the_published_table_within_one_run():
    # Perla, Provost & Murray 2011, table 1: useful points → (lower, upper) limits.
    published = {10: (3, 9), 14: (4, 12), 16: (5, 13), 18: (6, 14), 24: (8, 18),
                 26: (9, 19), 30: (11, 21), 12: (3, 11), 20: (6, 16)}
    for n, (low, high) in published.items():
        ours = runchart.runs_limits(n // 2, n - n // 2)
        assert abs(ours[0] - low) <= 1 and abs(ours[1] - high) <= 1, (n, ours)


def test_an_astronomical_point_is_flagged():
    signals = chart([10, 11, 10, 12, 11, 10, 80, 11])["signals"]
    assert {"rule": "astronomical_point", "points": [6],
            "detail": "point 7 (80) is far outside the others"} in signals


def test_the_picture_is_valid_svg_with_every_point_and_the_median():
    values = [38, 41, 40, 43, 45, 44, 52, 55, 54, 58, 57, 60]
    picture = runchart.svg(chart(values), "Persistence <grades 3-5> & more", "%", 60)
    root = ET.fromstring(picture)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert len(root.findall(f"{ns}circle")) == 12
    red = [c for c in root.findall(f"{ns}circle") if c.get("fill") == "#d33"]
    assert len(red) == 12          # two shifts cover every point
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "Persistence <grades 3-5> & more" in texts
    assert "median 48.5" in texts and "target 60" in texts
    empty = ET.fromstring(runchart.svg(chart([]), "Nothing yet", "%"))
    assert "No measurements yet" in [t.text for t in empty.iter(f"{ns}text")]
