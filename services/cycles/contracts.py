"""The events the cycles service publishes for other services: their contracts
(eventstore.contracts). Membership hears of adoption and SMART goals (readiness); resources
matches experts and research to problems of practice; members' shared prototypes are news for
the whole network."""

from __future__ import annotations

from typing import Any

from eventstore.contracts import PublicForm, Published


class ProblemDrafted(Published, source="cycles"):
    """A hub drafted a problem of practice from shared data (the stream id is the problem's)."""
    hub_id: str
    title: str
    statement: str
    supporting_data: list[dict[str, Any]]
    selection_criteria: list[str]
    # That a hub drafted one; its words (title, statement, data, criteria) are the network's.
    public = PublicForm(fields=("hub_id",))


class ProblemRatified(Published, source="cycles"):
    """The network ratified a problem of practice; members may adopt it."""
    on: str
    votes_for: int | None
    votes_against: int | None
    public = PublicForm(fields=("on",), counts=("votes_for", "votes_against"))


class ProjectOpened(Published, source="cycles"):
    """A member adopted a ratified problem of practice: its improvement project opened."""
    hub_id: str
    member_id: str
    problem_id: str
    public = PublicForm(fields=("hub_id", "member_id", "problem_id"))


class SmartGoalsSet(Published, source="cycles"):
    """A member's project has its first impact and implementation goals."""
    member_id: str
    public = PublicForm(fields=("member_id",))


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
    # Which prototype of which member and problem; its name, summary and findings are words
    # written by people.
    public = PublicForm(fields=("prototype_id", "revision", "member_id", "problem_id"))


class PrototypeUnshared(Published, source="cycles"):
    """A member withdrew a prototype from the network: every shared revision of it is no
    longer found by other hubs (it may be shared again later)."""
    prototype_id: str
    member_id: str
    public = PublicForm(fields=("prototype_id", "member_id"))
