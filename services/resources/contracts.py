"""The events resources publishes for other services: their contracts (eventstore.contracts).

Scheduling asks for an expert session of an engagement (services/scheduling/contracts.py:
ExpertSessionRequested) and learns here whether it was recorded against the engagement or
refused, and why; a session it cancels goes back to the engagement (ExpertSessionCancelled),
which scheduling needs not hear of. Ids and numbers only: an expert's name
and contact data stay in resources (erasure).
"""

from __future__ import annotations

from eventstore.contracts import PublicForm, Published


class ExpertAdded(Published, source="resources"):
    """A hub added an expert to the consortium's pool (the stream id is the expert's): that hub
    keeps the expert's calendar in scheduling (unavailability)."""
    hub_id: str
    # An expert is a person: the stream id (the expert's id) does not leave either.
    public = PublicForm(fields=("hub_id",), subject=False)


class ExpertSessionRecorded(Published, source="resources"):
    """A session of an engagement was recorded for the hub that asked (the stream id is the
    engagement's): ``number`` of the sessions bought, ``sessions_left`` after it.
    ``request_id`` is the id of scheduling's booking."""
    request_id: str
    by_hub_id: str
    engagement_id: str
    expert_id: str
    starts_at: str
    number: int
    sessions_left: int
    public = PublicForm(fields=("by_hub_id", "engagement_id", "starts_at", "number",
                                "sessions_left"))


class ExpertSessionRefused(Published, source="resources"):
    """A session asked for was refused, with the reason shown to the hub that asked (the
    engagement is closed or not confirmed, the hub is not in it, the expert is retired or not
    shared with the hub, its sessions are used up, the booking was cancelled first): ``reason``
    a code (services/resources/domain: REFUSALS), ``explanation`` its words for a county
    office. The stream id is the engagement's, or the request's when it named an engagement
    resources does not have (refused as one the hub is not in)."""
    request_id: str
    by_hub_id: str
    engagement_id: str
    expert_id: str
    reason: str
    explanation: str
    public = PublicForm(fields=("by_hub_id", "engagement_id", "reason"))
