"""The events resources publishes for other services: their contracts (eventstore.contracts).

Scheduling asks for an expert session of an engagement and learns here whether it was
recorded against the engagement or refused, and why. Ids and numbers only: an expert's name
and contact data stay in resources (erasure).
"""

from __future__ import annotations

from eventstore.contracts import Published


class ExpertSessionRecorded(Published, source="resources"):
    """A session of an engagement was recorded for the hub that asked (the stream id is the
    engagement's): ``number`` of the sessions bought, ``sessions_left`` after it."""
    request_id: str
    by_hub_id: str
    expert_id: str
    number: int
    sessions_left: int


class ExpertSessionRefused(Published, source="resources"):
    """A session asked for was refused, with the reason shown to the hub that asked (the
    engagement is closed or not confirmed, the hub is not in it, the expert is retired or not
    shared with the hub, its sessions are used up)."""
    request_id: str
    by_hub_id: str
    expert_id: str
    reason: str
