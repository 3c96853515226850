"""The resources service's entrypoints: each command is a named method that calls the domain,
each query asks the read model; the kernel loads, checks the caller, saves and answers.
Decisions live in the domain package (entries, experts, engagements, the split to the cent),
SQL in projections.py and library_search.py."""

from __future__ import annotations

from typing import Any

from eventstore.commands import Session
from eventstore.consumers import consumes
from eventstore.entrypoints import KernelEntrypoints, command, query
from eventstore.errors import Forbidden
from eventstore.identity import Identity, facilitators, hub_people, hub_writers
from eventstore.ids import id_for
from eventstore.kernel import Kernel
from eventstore.validation import load
from services.membership import directory
from services.membership.directory import MembershipDirectory, known_hub
from services.scheduling import contracts as scheduling

from . import schemas
from .domain import Engagement, Expert, LibraryEntry, SessionRequest
from .news import CyclesNews
from .projections import PROJECTIONS, ResourcesReadModel, agency_summary


def the_resource(service: Any, entry: LibraryEntry, session: Session) -> Any:
    return session.read_model.resource(entry.id)


def the_expert(service: Any, expert: Expert, session: Session) -> Any:
    return session.read_model.expert(expert.id)


def the_engagement(service: Any, engagement: Engagement, session: Session) -> Any:
    return session.read_model.engagement(engagement.id)


# Who may give a command, beyond the kernel's hub_writers (facilitators of the object's hub).

def readers_of_entry(caller: Identity, entry: LibraryEntry) -> None:
    """Whoever may read the entry: its hub's people, and every hub's for a shared entry."""
    if entry.visibility == "hub" or entry.retired:
        caller.require_read(entry.hub_id, f"resource {entry.id}")
    elif not caller.hubs or caller.role not in ("admin", "facilitator", "member"):
        raise Forbidden(f"role {caller.role} may not rate resources")


def acting_hub(session: Session, hub_id: str) -> directory.Hub:
    """The hub a body says its caller acts for, which the caller must facilitate."""
    hub = known_hub(session, hub_id)
    hub_writers(session.caller, hub)
    return hub


def member_facts(session: Session, hub_id: str) -> dict[str, tuple[str, int]]:
    """What membership said of a hub's members (its directory): each one's hub and enrollment,
    the facts an engagement's split needs."""
    return {member.id: (member.hub_id, member.enrollment or 0)
            for member in session.read_model.members(hub_id, active_only=True)}


class Resources(CyclesNews, MembershipDirectory, KernelEntrypoints):
    """Hubs and members (their enrollment weighs cost splits) come from membership's directory
    (MembershipDirectory: its consumers and tables); problems of practice and shared prototypes
    from cycles' news (CyclesNews: news.py)."""

    name = "resources"
    kernel = Kernel(projections=PROJECTIONS, read_model=ResourcesReadModel)

    def summary_of(self, cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
        return agency_summary(cur, hubs)
    read_model: ResourcesReadModel
    command_answer = schemas.Resource
    command_shows = the_resource

    # -- the library ----------------------------------------------------------------------------

    @command(known_hub, schemas.ResourceCreate, target_in="hub_id", changes_target=False,
             access=hub_people)
    def publish_resource(self, hub: directory.Hub, data: dict, session: Session) -> Any:
        entry = session.create(LibraryEntry, id_for(hub.id, data.get("id"), "res"))
        entry.publish(hub.id, data["kind"], data["title"], data["summary"], data["link"],
                      data.get("tags", []), data.get("subject"), data.get("grade_band"),
                      data.get("problems", []), data["visibility"],
                      by_member=session.caller.role == "member")
        return entry

    @command(LibraryEntry, schemas.ResourceRevision)
    def revise_resource(self, entry: LibraryEntry, data: dict, session: Session) -> None:
        changes = dict(data)
        entry.revise(changes.pop("note", None), **changes)

    @command(LibraryEntry, schemas.Retirement)
    def retire_resource(self, entry: LibraryEntry, data: dict, session: Session) -> None:
        entry.retire(data.get("reason"))

    @command(LibraryEntry, schemas.Rating, access=readers_of_entry, changes_target=False)
    def rate_resource(self, entry: LibraryEntry, data: dict, session: Session) -> None:
        """One rating per rater (the token's subject), changeable."""
        entry.rate(session.caller.sub, data["stars"])

    @query(schemas.Resource)
    def get_resource(self, resource_id: str) -> Any:
        return self.read_model.resource(resource_id)

    @query(schemas.Revision, paged=True)
    def resource_revisions(self, resource_id: str, limit: int = 50,
                           after: str | None = None) -> Any:
        return self.read_model.revisions(resource_id, limit, after)

    @query(schemas.Resource, paged=True, page_fields=schemas.SearchSummary)
    def search_resources(self, search: dict, limit: int = 50, after: str | None = None) -> Any:
        # The read model checks the criteria by the route's schema, for its other callers too.
        return self.read_model.search(search, limit, after)

    # -- the pool of experts --------------------------------------------------------------------

    @command(known_hub, schemas.ExpertCreate, target_in="hub_id", changes_target=False,
             answer=schemas.Expert, shows=the_expert)
    def add_expert(self, hub: directory.Hub, data: dict, session: Session) -> Any:
        expert = session.create(Expert, id_for(hub.id, data.get("id"), "exp"))
        expert.add(hub.id, data["organisation"], data["bio"], data.get("expertise", []),
                   data["rate_cents"], data.get("languages", []), data["travels"],
                   data["travel_cost_cents"], data["sharing"], data.get("hubs", []))
        session.after_save(lambda: session.read_model.experts_contact.keep(
            expert.id, name=data["name"], email=data.get("email"), phone=data.get("phone")))
        return expert

    @command(Expert, schemas.ExpertRevision, answer=schemas.Expert, shows=the_expert)
    def revise_expert(self, expert: Expert, data: dict, session: Session) -> None:
        """The profile fields given change in the log; the contact data given, outside it."""
        profile = {k: v for k, v in data.items() if k not in schemas.CONTACT}
        contact = {k: v for k, v in data.items() if k in schemas.CONTACT}
        expert.revise(**profile)
        if contact:
            session.after_save(lambda: session.read_model.experts_contact.update(
                expert.id, **contact))

    @command(Expert, schemas.SharingChange, answer=schemas.Expert, shows=the_expert)
    def change_expert_sharing(self, expert: Expert, data: dict, session: Session) -> None:
        expert.change_sharing(data["sharing"], data.get("hubs", []))

    @command(Expert, schemas.Retirement, answer=schemas.Expert, shows=the_expert)
    def retire_expert(self, expert: Expert, data: dict, session: Session) -> None:
        expert.retire(data.get("reason"))

    @command(Expert, None, answer=schemas.Expert, shows=the_expert)
    def erase_expert(self, expert: Expert, data: dict, session: Session) -> None:
        """Remove an expert's name and contact data everywhere; the log keeps ids and numbers."""
        expert.erase()
        session.after_save(lambda: session.read_model.experts_contact.erase(expert.id))

    @query(schemas.Expert)
    def get_expert(self, expert_id: str) -> Any:
        return self.read_model.expert(expert_id)

    @query(schemas.Expert, paged=True)
    def list_experts(self, search: dict, limit: int = 50, after: str | None = None) -> Any:
        return self.read_model.experts(load(schemas.ExpertSearch, search), limit, after)

    # -- engagements ----------------------------------------------------------------------------

    @command(known_hub, schemas.EngagementCreate, target_in="hub_id", changes_target=False,
             answer=schemas.Engagement, shows=the_engagement)
    def propose_engagement(self, hub: directory.Hub, data: dict, session: Session) -> Any:
        engagement = session.create(Engagement, id_for(hub.id, data.get("id"), "eng"))
        engagement.propose(hub.id, session.load(Expert, data["expert_id"]),
                           data["members"], member_facts(session, hub.id), data["sessions"],
                           data["split"])
        return engagement

    @command(Engagement, schemas.EngagementJoin, access=facilitators,
             answer=schemas.Engagement, shows=the_engagement)
    def join_engagement(self, engagement: Engagement, data: dict, session: Session) -> None:
        """Another hub joins with its own members (its facilitator names them, no other)."""
        hub = acting_hub(session, data["hub_id"])
        engagement.join(hub.id, session.load(Expert, engagement.expert_id), data["members"],
                        member_facts(session, hub.id))

    @command(Engagement, schemas.Departure, access=facilitators, answer=schemas.Departed)
    def leave_engagement(self, engagement: Engagement, data: dict, session: Session) -> Any:
        """A hub that joined leaves with its members; the split is recomputed."""
        hub = acting_hub(session, data["hub_id"])
        engagement.leave(hub.id)
        return {"engagement_id": engagement.id, "hub_id": hub.id}

    @command(Engagement, None, answer=schemas.Engagement, shows=the_engagement)
    def confirm_engagement(self, engagement: Engagement, data: dict, session: Session) -> None:
        """The proposing hub's facilitator confirms: the split is final."""
        engagement.confirm(str(engagement.hub_id))

    @command(Engagement, schemas.Closure, answer=schemas.Engagement, shows=the_engagement)
    def close_engagement(self, engagement: Engagement, data: dict, session: Session) -> None:
        engagement.close(str(engagement.hub_id), data.get("reason"))

    @query(schemas.Engagement)
    def get_engagement(self, engagement_id: str) -> Any:
        return self.read_model.engagement(engagement_id)

    # -- the expert-session process: scheduling books, resources counts or refuses --------------

    @consumes(scheduling.ExpertSessionRequested)
    def on_expert_session_requested(self, session: Session,
                                    event: scheduling.ExpertSessionRequested) -> None:
        """Count the session against its engagement or refuse it; scheduling hears either."""
        request_id = event.recorded.stream_id
        engagement = session.find(Engagement, event.engagement_id)
        if engagement is None:
            session.create(SessionRequest, request_id).refuse(
                event.hub_id, event.engagement_id, event.expert_id)
            return
        engagement.decide_session(request_id, event.hub_id, event.expert_id, event.starts_at,
                                  session.load(Expert, engagement.expert_id))

    @consumes(scheduling.ExpertSessionCancelled)
    def on_expert_session_cancelled(self, session: Session,
                                    event: scheduling.ExpertSessionCancelled) -> None:
        engagement = session.find(Engagement, event.engagement_id)
        if engagement is not None:
            engagement.return_session(event.recorded.stream_id, event.hub_id, event.reason)

    # -- matches and what worked elsewhere ------------------------------------------------------

    @query(schemas.Matches)
    def problem_matches(self, problem_id: str) -> Any:
        return self.read_model.matches(problem_id)

    @query(schemas.NetworkPrototypes)
    def shared_prototypes(self, search: dict) -> Any:
        return self.read_model.shared_prototypes(load(schemas.NetworkPrototypeSearch, search))
