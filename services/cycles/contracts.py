"""The events the cycles service publishes for other services: their contracts
(eventstore.contracts). Membership hears of adoption and SMART goals (readiness); resources
matches experts and research to problems of practice; members' shared prototypes are news for
the whole network."""

from __future__ import annotations

from typing import Any

from eventstore.contracts import Published


class ProblemDrafted(Published, source="cycles"):
    """A hub drafted a problem of practice from shared data (the stream id is the problem's)."""
    hub_id: str
    title: str
    statement: str
    supporting_data: list[dict[str, Any]]
    selection_criteria: list[str]


class ProblemRatified(Published, source="cycles"):
    """The network ratified a problem of practice; members may adopt it."""
    on: str
    votes_for: int | None
    votes_against: int | None


class ProjectOpened(Published, source="cycles"):
    """A member adopted a ratified problem of practice: its improvement project opened."""
    hub_id: str
    member_id: str
    problem_id: str


class SmartGoalsSet(Published, source="cycles"):
    """A member's project has its first impact and implementation goals."""
    member_id: str


class PrototypeShared(Published, source="cycles"):
    """A member published a prototype and its test cycles' results to the network (once per
    revision of the prototype)."""
    prototype_id: str
    revision: int
    member_id: str
    problem_id: str
    name: str
    summary: str
    results: list[dict[str, Any]]


class PrototypeUnshared(Published, source="cycles"):
    """A member withdrew a prototype from the network: every shared revision of it is no
    longer found by other hubs (it may be shared again later)."""
    prototype_id: str
    member_id: str
