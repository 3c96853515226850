"""The events scheduling publishes for other services: their contracts (eventstore.contracts).

A hub books time on a shared expert's calendar for a session of an engagement and asks
resources to count the session against it; resources records it or refuses it, with a reason
(services/resources/contracts.py), and scheduling confirms the booking or releases it
(decisions 008 and 009).

Ids and times only: who is invited and why stays in scheduling.
"""

from __future__ import annotations

from eventstore.contracts import PublicForm, Published


class ExpertSessionRequested(Published, source="scheduling"):
    """A hub booked a shared expert's time for a session of an engagement and asks for it to
    be counted (the stream id is the booking's, which is the request's id in resources'
    answer). ``starts_at`` and ``ends_at`` are moments in UTC, ISO text."""
    hub_id: str
    engagement_id: str
    expert_id: str
    starts_at: str
    ends_at: str
    public = PublicForm(fields=("hub_id", "engagement_id", "starts_at", "ends_at"))


class ExpertSessionCancelled(Published, source="scheduling"):
    """A booked expert session will not take place (cancelled by its hub): a session counted
    for it goes back to its engagement."""
    hub_id: str
    engagement_id: str
    reason: str | None
    # Not the reason: words written by people.
    public = PublicForm(fields=("hub_id", "engagement_id"))
