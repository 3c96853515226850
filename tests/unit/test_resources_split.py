"""The cost split, to the cent: worked examples a facilitator can check by hand, and the
guarantees as hypothesis properties (sum exact, none negative, within one cent of the exact
proportion, permutation-invariant, deterministic)."""

from __future__ import annotations

import dataclasses
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.resources.domain.split import (
    EngagementCosts,
    HubCost,
    engagement_costs,
    split_cents,
)


def test_worked_example_by_enrollment():
    """$5,300.00 (4 sessions at $1,250.00, plus $300.00 travel) across Camino (503 students),
    Gold Trail (44) and an Alpine member (71): 618 students in all.

    exact shares: 431,375.40 / 37,734.63 / 60,889.97 cents; whole cents 431,375 / 37,734 /
    60,889 = 529,998; the 2 cents left go to the largest remainders, .97 (Alpine) and .63
    (Gold Trail)."""
    assert split_cents(530000, {"camino": 503, "gold": 44, "alpine": 71}) == {
        "camino": 431375, "gold": 37735, "alpine": 60890}


def test_worked_example_equally():
    """$100.00 across three members: 3,333 cents each and one cent left, which goes to the
    member id that sorts first (the remainders and weights are all equal)."""
    assert split_cents(10000, {"b": 1, "c": 1, "a": 1}) == {"a": 3334, "b": 3333, "c": 3333}
    assert split_cents(10001, {"b": 1, "c": 1, "a": 1}) == {"a": 3334, "b": 3334, "c": 3333}
    assert split_cents(9999, {"b": 1, "c": 1, "a": 1}) == {"a": 3333, "b": 3333, "c": 3333}


def test_ties_go_to_the_larger_weight_then_to_the_id_that_sorts_first():
    # 5 cents by 2:2:1:1 → exact 1.666…, 1.666…, 0.833…, 0.833…: floors 1, 1, 0, 0 and 3 cents
    # left; the remainders are 4/6, 4/6, 5/6, 5/6 → the two 5/6 first, then of the 4/6 the
    # id that sorts first.
    assert split_cents(5, {"w2b": 2, "w2a": 2, "w1b": 1, "w1a": 1}) == {
        "w2b": 1, "w2a": 2, "w1b": 1, "w1a": 1}
    # 2 cents by 3:1:1:1 (W 6) → remainders 0, 2, 2, 2 (in sixths): one cent to each of the two
    # ids that sort first among the weight-1 members, none to the weight-3 one (no remainder).
    assert split_cents(2, {"big": 3, "z": 1, "y": 1, "x": 1}) == {
        "big": 1, "z": 0, "y": 0, "x": 1}
    # 1 cent by 1:3 (W 4): remainders 1 and 3, the larger remainder takes it.
    assert split_cents(1, {"a": 1, "b": 3}) == {"a": 0, "b": 1}
    # 3 cents by 1:2:2:1 (W 6): floors 0, 1, 1, 0 and 1 cent left; remainders 3, 0, 0, 3 (in
    # sixths) tie between a and d, of equal weight: the id that sorts first, a.
    assert split_cents(3, {"d": 1, "c": 2, "b": 2, "a": 1}) == {"a": 1, "b": 1, "c": 1, "d": 0}
    # 3 cents by 1:3:2 (W 6): floors 0, 1, 1 and 1 cent left; remainders 3, 3, 0 tie between
    # a (weight 1) and b (weight 3): the larger weight first, b (though a sorts first).
    assert split_cents(3, {"a": 1, "b": 3, "c": 2}) == {"a": 0, "b": 2, "c": 1}


def test_a_zero_weight_gets_nothing_unless_every_weight_is_zero():
    assert split_cents(100, {"a": 0, "b": 1}) == {"a": 0, "b": 100}
    assert split_cents(100, {"a": 0, "b": 0, "c": 0}) == {"a": 34, "b": 33, "c": 33}
    assert split_cents(0, {"a": 0}) == {"a": 0}
    assert split_cents(7, {"only": 5}) == {"only": 7}


@pytest.mark.parametrize("total, weights", [
    (-1, {"a": 1}), (10, {}), (10, {"a": -1, "b": 2}), (10.0, {"a": 1}), (10, {"a": 1.5}),
    (True, {"a": 1}), (10, {"a": True}), ("10", {"a": 1}),
])
def test_bad_arguments_raise_value_error(total, weights):
    with pytest.raises(ValueError):
        split_cents(total, weights)


def test_engagement_costs_per_member_per_hub_and_savings():
    members = {"camino": ("el-dorado", 503), "gold": ("el-dorado", 44),
               "alpine-1": ("alpine", 71)}
    costs = engagement_costs(125000, 4, 30000, members, "enrollment")
    assert costs == EngagementCosts(530000, {"camino": 431375, "gold": 37735,
                                             "alpine-1": 60890}, {
        "alpine": HubCost(60890, 530000, 469110),
        "el-dorado": HubCost(469110, 530000, 60890)})
    assert list(costs.hubs) == ["alpine", "el-dorado"]
    equal = engagement_costs(125000, 4, 30000, members, "equal")
    # 530,000 / 3 = 176,666.67: the 2 cents left go to the ids that sort first.
    assert equal.members == {"camino": 176667, "gold": 176666, "alpine-1": 176667}
    assert equal.hubs["el-dorado"] == HubCost(353333, 530000, 176667)
    alone = engagement_costs(100, 3, 0, {"a": ("h", 0)}, "equal")
    assert alone == EngagementCosts(300, {"a": 300}, {"h": HubCost(300, 300, 0)})


@pytest.mark.parametrize("args", [
    (100, 1, 0, {"a": ("h", 1)}, "by-size"),
    (-100, 1, 0, {"a": ("h", 1)}, "equal"),
    (100, -1, 0, {"a": ("h", 1)}, "equal"),
    (100, 1, -5, {"a": ("h", 1)}, "equal"),
    (100.5, 1, 0, {"a": ("h", 1)}, "equal"),
    (100, 1, 0, {}, "equal"),
    (100, 1, 0, {"a": ("h", -1)}, "enrollment"),
])
def test_engagement_costs_refuse_bad_arguments(args):
    with pytest.raises(ValueError):
        engagement_costs(*args)


# -- properties ---------------------------------------------------------------------------------

TOTALS = st.integers(min_value=0, max_value=10**9)
WEIGHTS = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3),
                          st.integers(min_value=0, max_value=7000), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(TOTALS, WEIGHTS)
def test_the_shares_sum_to_the_total_and_none_is_negative(total, weights):
    shares = split_cents(total, weights)
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    assert all(isinstance(v, int) and v >= 0 for v in shares.values())


@settings(max_examples=200, deadline=None)
@given(TOTALS, WEIGHTS)
def test_each_share_is_within_one_cent_of_its_exact_proportion(total, weights):
    shares = split_cents(total, weights)
    counted = weights if any(weights.values()) else dict.fromkeys(weights, 1)
    whole = sum(counted.values())
    for member, weight in counted.items():
        assert abs(shares[member] - Fraction(total * weight, whole)) < 1


@settings(max_examples=200, deadline=None)
@given(TOTALS, WEIGHTS, st.randoms(use_true_random=False))
def test_the_same_members_get_the_same_cents_whatever_the_order(total, weights, rnd):
    listed = list(weights.items())
    rnd.shuffle(listed)
    assert split_cents(total, dict(listed)) == split_cents(total, weights)


@settings(max_examples=100, deadline=None)
@given(TOTALS, WEIGHTS)
def test_deterministic(total, weights):
    assert split_cents(total, weights) == split_cents(total, dict(weights))


@settings(max_examples=100, deadline=None)
@given(TOTALS, WEIGHTS)
def test_largest_remainder_an_extra_cent_never_skips_a_larger_remainder(total, weights):
    """Who gets an extra cent has a remainder at least as large as anyone who does not."""
    shares = split_cents(total, weights)
    counted = weights if any(weights.values()) else dict.fromkeys(weights, 1)
    whole = sum(counted.values())
    rest = {m: Fraction(total * w, whole) - total * w // whole for m, w in counted.items()}
    extra = [m for m in counted if shares[m] > total * counted[m] // whole]
    plain = [m for m in counted if m not in extra]
    assert all(rest[e] >= rest[p] for e in extra for p in plain)


def test_permutation_invariance_on_many_ties():
    weights = {f"m-{n:02d}": 1 + n % 3 for n in range(30)}
    expected = split_cents(1001, weights)
    listed = list(weights.items())
    for seed in range(20):
        random.Random(seed).shuffle(listed)
        assert split_cents(1001, dict(listed)) == expected


def test_costs_are_frozen_values():
    costs = engagement_costs(100, 1, 0, {"a": ("h", 1)}, "equal")
    with pytest.raises(dataclasses.FrozenInstanceError):
        costs.total_cents = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        costs.hubs["h"].share_cents = 1  # type: ignore[misc]
