"""How an engagement's cost is split across its members, to the cent (DESIGN.md §7).

Pure functions over whole cents. ``split_cents`` is the largest remainder (Hamilton) method:
each member first gets the whole cents of its exact proportion, then the cents left over go
one each to the members with the largest remainders. Its guarantees (property-tested in
tests/unit/test_resources_split.py):

- the shares sum exactly to the total, and none is negative;
- each share is within one cent of its exact proportion (|share − total·w/W| < 1);
- the same weights give the same cents to the same members whatever order they are listed
  in, every time (ties are broken by the rule below, never by listing order).

Bad arguments are the caller's bug, not a user's input (the Engagement aggregate refuses bad
input, naming the field, before it ever computes a split): they raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SPLIT_MODES = ("equal", "enrollment")


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number, 0 or more: {value!r}")
    return value


def split_cents(total_cents: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total_cents`` across the keys of ``weights`` in proportion to their weights.

    Each member gets floor(total × w / W) cents (W the sum of the weights); the cents left over
    (fewer than the members) go one each to the largest remainders (total × w mod W). **Ties**
    between equal remainders go to the larger weight first, then to the member id that sorts
    first (ascending): a rule about the members, never about the order they are listed in.
    When every weight is 0 the total is split equally (every weight counts as 1).

    Raises ``ValueError`` for a negative or non-integer total or weight, or no members.
    """
    _whole(total_cents, "the total in cents")
    if not weights:
        raise ValueError("a split needs at least one member")
    for member, weight in weights.items():
        _whole(weight, f"the weight of {member}")
    if not any(weights.values()):
        weights = dict.fromkeys(weights, 1)
    whole = sum(weights.values())
    shares = {member: total_cents * weight // whole for member, weight in weights.items()}
    left = total_cents - sum(shares.values())
    by_remainder = sorted(weights, key=lambda member: (
        -(total_cents * weights[member] % whole), -weights[member], member))
    for member in by_remainder[:left]:
        shares[member] += 1
    return shares


@dataclass(frozen=True)
class HubCost:
    """One hub's part of an engagement: what its members pay together, what engaging the
    expert alone for its own members would have cost it, and the difference it saves."""

    share_cents: int
    alone_cents: int
    saving_cents: int


@dataclass(frozen=True)
class EngagementCosts:
    total_cents: int
    members: dict[str, int]
    hubs: dict[str, HubCost]


def engagement_costs(rate_cents: int, sessions: int, travel_cost_cents: int,
                     members: Mapping[str, tuple[str, int]], mode: str) -> EngagementCosts:
    """The cost of an engagement (rate × sessions, plus travel once) split across its members,
    per member and per hub, with each hub's saving against engaging the expert alone.

    ``members`` maps each member id to (its hub id, its enrollment); ``mode`` is "equal" (one
    share each) or "enrollment" (in proportion to enrollment). Engaging the expert alone for a
    hub's own members would cost the hub the whole of rate × sessions + travel, so its saving
    is that minus what its members pay here (0 when it is the only hub)."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"a split is one of {', '.join(SPLIT_MODES)}, not {mode!r}")
    total = (_whole(rate_cents, "the rate in cents") * _whole(sessions, "the sessions")
             + _whole(travel_cost_cents, "the travel cost in cents"))
    weights = {member: 1 if mode == "equal" else enrollment
               for member, (_, enrollment) in members.items()}
    shares = split_cents(total, weights)
    hubs: dict[str, int] = {}
    for member, (hub, _) in members.items():
        hubs[hub] = hubs.get(hub, 0) + shares[member]
    return EngagementCosts(total, shares, {
        hub: HubCost(share, total, total - share) for hub, share in sorted(hubs.items())})
