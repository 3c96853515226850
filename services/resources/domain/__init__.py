"""Resources: the library of a hub (and what it shares with the consortium), the consortium's
pool of experts, and engagements of an expert by one or several hubs whose cost is split
across the participating members to the cent (DESIGN.md §7, issue 17).

Plain Python: aggregates decide and record events; no I/O, no clock. Who may call a command
(facilitators and admins of the owner hub, a member sharing into its hub) is checked by the
service; what follows from the caller's role is decided here, from facts the service passes
in (``by_member``, an Expert, each member's hub and enrollment). An expert's name, email and
phone never enter an event: they live in the service's personal-data table, erased with the
expert; events hold the expert's id, organisation, bio and numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from eventstore.aggregate import Aggregate, applies
from eventstore.errors import Conflict, Forbidden, NotFound, ValidationError

from .split import SPLIT_MODES, EngagementCosts, engagement_costs

KINDS = ("research", "toolkit", "literature_review", "meeting_material", "video",
         "member_share")
VISIBILITIES = ("hub", "consortium", "public")
SHARING = ("consortium", "hubs")
LINK_SCHEMES = ("http", "https")
STARS = (1, 5)
MAX_SESSIONS = 100
# What an entry's content is made of: published in full, and in full again by each revision.
ENTRY_FIELDS = ("title", "summary", "link", "tags", "subject", "grade_band", "problems",
                "visibility")
PROFILE_FIELDS = ("organisation", "bio", "expertise", "rate_cents", "languages", "travels",
                  "travel_cost_cents")
# Why a session of an engagement is refused (ExpertSessionRefused.reason), and the words the
# hub that asked is shown (ExpertSessionRefused.explanation).
NOT_CONFIRMED, CLOSED, HUB_NOT_IN_ENGAGEMENT = "not_confirmed", "closed", "hub_not_in_engagement"
EXPERT_RETIRED, EXPERT_NOT_SHARED, USED_UP = "expert_retired", "expert_not_shared", "used_up"
OTHER_EXPERT, CANCELLED = "other_expert", "cancelled"
REFUSALS = {
    NOT_CONFIRMED: "the engagement is not confirmed yet",
    CLOSED: "the engagement is closed",
    # Also the words for an engagement that does not exist: a hub learns nothing of another
    # county's engagements from a refusal.
    HUB_NOT_IN_ENGAGEMENT: "your hub is not in this engagement",
    OTHER_EXPERT: "this engagement is of another expert",
    EXPERT_RETIRED: "the expert has retired from the pool",
    EXPERT_NOT_SHARED: "the expert is no longer shared with your hub",
    USED_UP: "every session the engagement bought is used",
    CANCELLED: "the session was cancelled before it was counted",
}
# What became of a request, besides a refusal's reason.
RECORDED, RETURNED = "recorded", "returned"


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", {field: [message]})


def _whole(value: Any, field: str, least: int, most: int | None = None) -> int:
    """A whole number (never a bool, never 4.5 or 4.0) from ``least`` to ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least \
            or (most is not None and value > most):
        raise _refuse(field, f"a whole number from {least}"
                      + (f" to {most}" if most is not None else " up"))
    return value


def _text(value: Any, field: str, required: bool = False) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise _refuse(field, "required text" if required else "text")
    return value.strip()


def _words(values: Any, field: str) -> list[str]:
    """Tags (and languages): lower case, trimmed, each once, sorted."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise _refuse(field, "a list of words")
    return sorted({v.strip().lower() for v in values} - {""})


def _one_of(value: Any, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise _refuse(field, f"one of {', '.join(choices)}")
    return value


def check_link(link: Any) -> str:
    """An http or https address with a host; anything else (javascript:, mailto:, ftp:, a bare
    path) is refused naming ``link``."""
    try:
        parts = urlsplit(link.strip())
    except (AttributeError, ValueError):
        parts = None
    if parts is None or parts.scheme not in LINK_SCHEMES or not parts.hostname:
        raise _refuse("link", "an http or https address")
    return link.strip()


def _ids(values: Any, field: str) -> list[str]:
    """Ids, each once, in the order given."""
    if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, str) and v for v in values):
        raise _refuse(field, "a list of ids")
    if len(set(values)) != len(values):
        raise _refuse(field, "each id once")
    return list(values)


# -- the library --------------------------------------------------------------------------------

class LibraryEntry(Aggregate):
    """A resource in a hub's library: its content, revised with every revision kept (the
    events are its history), its visibility, and its ratings (one per rater, changeable)."""

    stream_type = "library_entry"
    noun = "resource"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.kind = ""
        self.title = ""
        self.summary = ""
        self.link = ""
        self.tags: list[str] = []
        self.subject: str | None = None
        self.grade_band: str | None = None
        self.problems: list[str] = []
        self.visibility = ""
        self.revision = 0
        self.retired = False
        self.ratings: dict[str, int] = {}

    @staticmethod
    def content(title: Any, summary: Any, link: Any, tags: Any, subject: Any,
                grade_band: Any, problems: Any, visibility: Any) -> dict[str, Any]:
        """An entry's content as its events carry it, checked; refuses naming the field."""
        return {"title": _text(title, "title", required=True),
                "summary": _text(summary, "summary"), "link": check_link(link),
                "tags": _words(tags, "tags"),
                "subject": None if subject is None else _text(subject, "subject"),
                "grade_band": None if grade_band is None else _text(grade_band, "grade_band"),
                "problems": _ids(problems, "problems"),
                "visibility": _one_of(visibility, VISIBILITIES, "visibility")}

    def publish(self, hub_id: str, kind: str, title: str, summary: str, link: str,
                tags: list[str], subject: str | None, grade_band: str | None,
                problems: list[str], visibility: str, by_member: bool) -> None:
        """Publish into ``hub_id``'s library. ``by_member``: the caller is a member of the hub
        (not its facilitator or an admin), who shares only as kind member_share."""
        if self.exists:
            raise Conflict(f"resource {self.id} exists already")
        _one_of(kind, KINDS, "kind")
        if by_member and kind != "member_share":
            raise _refuse("kind", "a member shares into its hub's library as member_share")
        self.record("ResourcePublished", hub_id=hub_id, kind=kind, by_member=by_member,
                    revision=1, **self.content(title, summary, link, tags, subject,
                                               grade_band, problems, visibility))

    def revise(self, note: str | None = None, **changes: Any) -> None:
        """A new revision: the fields given (of ENTRY_FIELDS) replace the current ones."""
        self._require_current()
        unknown = sorted(set(changes) - set(ENTRY_FIELDS))
        if unknown:
            raise _refuse(unknown[0], "not a field of a resource")
        content = self.content(**{name: changes.get(name, getattr(self, name))
                                  for name in ENTRY_FIELDS})
        if all(content[name] == getattr(self, name) for name in ENTRY_FIELDS):
            raise Conflict(f"revision {self.revision} of resource {self.id} says that already")
        self.record("ResourceRevised", revision=self.revision + 1, note=note, **content)

    def retire(self, reason: str | None = None) -> None:
        self._require_current()
        self.record("ResourceRetired", reason=reason)

    def rate(self, rater_id: str, stars: int) -> None:
        """One rating per rater: a second rating by the same rater replaces the first."""
        self._require_current()
        _whole(stars, "stars", *STARS)
        self.record("ResourceRated", rater_id=rater_id, stars=stars,
                    previous=self.ratings.get(rater_id))

    @property
    def rating_count(self) -> int:
        return len(self.ratings)

    @property
    def rating_average(self) -> float | None:
        return sum(self.ratings.values()) / len(self.ratings) if self.ratings else None

    def _require_current(self) -> None:
        if self.retired:
            raise Conflict(f"resource {self.id} is retired")

    @applies("ResourcePublished")
    def _published(self, data: dict[str, Any]) -> None:
        self.hub_id, self.kind = data["hub_id"], data["kind"]
        self._revised(data)

    @applies("ResourceRevised")
    def _revised(self, data: dict[str, Any]) -> None:
        for name in ENTRY_FIELDS:
            setattr(self, name, data[name])
        self.revision = data["revision"]

    @applies("ResourceRetired")
    def _retired(self, data: dict[str, Any]) -> None:
        self.retired = True

    @applies("ResourceRated")
    def _rated(self, data: dict[str, Any]) -> None:
        self.ratings[data["rater_id"]] = data["stars"]


# -- the expert pool ----------------------------------------------------------------------------

class Expert(Aggregate):
    """An expert of the consortium's pool, added by a hub (its owner) and shared with the whole
    consortium or with named hubs. The profile in events is organisation, bio, expertise,
    languages and numbers; name, email and phone are personal data kept outside the log."""

    stream_type = "expert"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.organisation = ""
        self.bio = ""
        self.expertise: list[str] = []
        self.rate_cents = 0
        self.languages: list[str] = []
        self.travels = False
        self.travel_cost_cents = 0
        self.sharing = ""
        self.hubs: list[str] = []
        self.retired = False
        self.erased = False

    @staticmethod
    def profile(organisation: Any, bio: Any, expertise: Any, rate_cents: Any, languages: Any,
                travels: Any, travel_cost_cents: Any) -> dict[str, Any]:
        """A profile as its events carry it, checked; refuses naming the field."""
        if not isinstance(travels, bool):
            raise _refuse("travels", "true or false")
        cost = _whole(travel_cost_cents, "travel_cost_cents", 0)
        if cost and not travels:
            raise _refuse("travel_cost_cents", "0 for an expert who does not travel")
        return {"organisation": _text(organisation, "organisation"),
                "bio": _text(bio, "bio"), "expertise": _words(expertise, "expertise"),
                "rate_cents": _whole(rate_cents, "rate_cents", 0),
                "languages": _words(languages, "languages"), "travels": travels,
                "travel_cost_cents": cost}

    @staticmethod
    def sharing_of(sharing: Any, hubs: Any) -> dict[str, Any]:
        _one_of(sharing, SHARING, "sharing")
        named = _ids(hubs, "hubs")
        if (sharing == "hubs") != bool(named):
            raise _refuse("hubs", "the hubs named, when (and only when) shared with named hubs")
        return {"sharing": sharing, "hubs": sorted(named)}

    def add(self, hub_id: str, organisation: str, bio: str, expertise: list[str],
            rate_cents: int, languages: list[str], travels: bool = False,
            travel_cost_cents: int = 0, sharing: str = "consortium",
            hubs: Sequence[str] = ()) -> None:
        """``hub_id`` adds the expert to the pool and owns the entry."""
        if self.exists:
            raise Conflict(f"expert {self.id} exists already")
        profile = self.profile(organisation, bio, expertise, rate_cents, languages, travels,
                               travel_cost_cents)
        shared = self.sharing_of(sharing, hubs)
        self.record("ExpertAdded", hub_id=hub_id, organisation=profile["organisation"],
                    bio=profile["bio"], expertise=profile["expertise"],
                    rate_cents=profile["rate_cents"], languages=profile["languages"],
                    travels=profile["travels"],
                    travel_cost_cents=profile["travel_cost_cents"],
                    sharing=shared["sharing"], hubs=shared["hubs"])

    def revise(self, **changes: Any) -> None:
        """The profile fields given (of PROFILE_FIELDS) replace the current ones."""
        self._require_current()
        unknown = sorted(set(changes) - set(PROFILE_FIELDS))
        if unknown:
            raise _refuse(unknown[0], "not a field of an expert's profile")
        self.record("ExpertProfileRevised", **self.profile(
            **{name: changes.get(name, getattr(self, name)) for name in PROFILE_FIELDS}))

    def change_sharing(self, sharing: str, hubs: Sequence[str] = ()) -> None:
        self._require_current()
        self.record("ExpertSharingChanged", **self.sharing_of(sharing, hubs))

    def retire(self, reason: str | None = None) -> None:
        self._require_current()
        self.record("ExpertRetired", reason=reason)

    def erase(self) -> None:
        """The expert's personal data is erased (by the service); the aggregate keeps ids and
        numbers only. An erased expert is retired too."""
        if self.erased:
            raise Conflict(f"expert {self.id} has been erased already")
        self.record("ExpertErased")

    def may_serve(self, hub_id: str) -> bool:
        """Whether ``hub_id`` may engage the expert now: its owner hub, every hub when shared
        with the consortium, the named hubs otherwise; no hub once retired or erased."""
        if self.retired or not self.exists:
            return False
        return hub_id == self.hub_id or self.sharing == "consortium" or hub_id in self.hubs

    def _require_current(self) -> None:
        if self.retired:
            raise Conflict(f"expert {self.id} is "
                           + ("erased" if self.erased else "retired"))

    @applies("ExpertAdded")
    def _added(self, data: dict[str, Any]) -> None:
        self.hub_id = data["hub_id"]
        self._revised(data)
        self._sharing_changed(data)

    @applies("ExpertProfileRevised")
    def _revised(self, data: dict[str, Any]) -> None:
        for name in PROFILE_FIELDS:
            setattr(self, name, data[name])

    @applies("ExpertSharingChanged")
    def _sharing_changed(self, data: dict[str, Any]) -> None:
        self.sharing, self.hubs = data["sharing"], data["hubs"]

    @applies("ExpertRetired")
    def _retired(self, data: dict[str, Any]) -> None:
        self.retired = True

    @applies("ExpertErased")
    def _erased(self, data: dict[str, Any]) -> None:
        self.retired = self.erased = True
        self.organisation, self.bio, self.expertise, self.languages = "", "", [], []


# -- engagements --------------------------------------------------------------------------------

class Engagement(Aggregate):
    """An expert engaged for a number of sessions by one hub (the proposer, whose facilitator
    confirms and closes it) and the hubs that join it, each for its own chosen members. The
    expert's rate and travel cost are copied in when it is proposed, so its cost is fixed; the
    split is recomputed from the participating members (with their hub and enrollment)."""

    stream_type = "engagement"

    def __init__(self, id: str) -> None:  # noqa: A002
        super().__init__(id)
        self.expert_id = ""
        self.sessions = 0
        self.split = ""
        self.rate_cents = 0
        self.travel_cost_cents = 0
        # member id -> {"hub_id": …, "enrollment": …}, in the order they came in
        self.members: dict[str, dict[str, Any]] = {}
        self.status = ""
        self.sessions_used = 0
        # scheduling's request id -> RECORDED or the reason it was refused
        self.requests: dict[str, str] = {}

    @property
    def hubs(self) -> list[str]:
        """The participating hubs, the proposer first."""
        return list(dict.fromkeys(m["hub_id"] for m in self.members.values()))

    @property
    def sessions_left(self) -> int:
        return self.sessions - self.sessions_used

    def costs(self) -> EngagementCosts:
        """The split as it stands: per member, per hub, and each hub's saving."""
        return engagement_costs(self.rate_cents, self.sessions, self.travel_cost_cents, {
            member: (m["hub_id"], m["enrollment"]) for member, m in self.members.items()},
            self.split)

    def propose(self, hub_id: str, expert: Expert, members: list[str],
                directory: Mapping[str, tuple[str, int]], sessions: int, split: str) -> None:
        """``hub_id`` proposes engaging ``expert`` for ``members`` of its own; ``directory``
        gives what membership said of each member named: (its hub id, its enrollment)."""
        if self.exists:
            raise Conflict(f"engagement {self.id} exists already")
        _whole(sessions, "sessions", 1, MAX_SESSIONS)
        _one_of(split, SPLIT_MODES, "split")
        self._require_serves(expert, hub_id)
        self.record("EngagementProposed", hub_id=hub_id, expert_id=expert.id,
                    sessions=sessions, split=split, rate_cents=expert.rate_cents,
                    travel_cost_cents=expert.travel_cost_cents,
                    members=self._members_of(hub_id, members, directory))

    def join(self, hub_id: str, expert: Expert, members: list[str],
             directory: Mapping[str, tuple[str, int]]) -> None:
        """Another hub joins with its own members, before the engagement is confirmed."""
        self._require_proposed()
        if hub_id in self.hubs:
            raise Conflict(f"hub {hub_id} is in engagement {self.id} already")
        if expert.id != self.expert_id:
            raise _refuse("expert_id", f"engagement {self.id} is of expert {self.expert_id}")
        self._require_serves(expert, hub_id)
        self.record("EngagementJoined", by_hub_id=hub_id,
                    members=self._members_of(hub_id, members, directory))

    def leave(self, hub_id: str) -> None:
        """A hub that joined leaves with its members, before the engagement is confirmed."""
        self._require_proposed()
        if hub_id == self.hub_id:
            raise Conflict("the proposing hub does not leave its engagement: it closes it")
        if hub_id not in self.hubs:
            raise Conflict(f"hub {hub_id} is not in engagement {self.id}")
        self.record("EngagementLeft", by_hub_id=hub_id, members=[
            member for member, m in self.members.items() if m["hub_id"] == hub_id])

    def confirm(self, hub_id: str) -> None:
        """The proposing hub confirms: no hub joins or leaves after, the cost split is final."""
        self._require_proposer(hub_id, "confirms")
        self._require_proposed()
        costs = self.costs()
        self.record("EngagementConfirmed", total_cents=costs.total_cents,
                    shares=costs.members)

    def close(self, hub_id: str, reason: str | None = None) -> None:
        self._require_proposer(hub_id, "closes")
        if self.status == "closed":
            raise Conflict(f"engagement {self.id} is closed already")
        self.record("EngagementClosed", reason=reason, sessions_used=self.sessions_used)

    def decide_session(self, request_id: str, hub_id: str, expert_id: str, starts_at: str,
                       expert: Expert) -> str:
        """Scheduling asks for a session of this engagement for ``hub_id``, with ``expert_id``
        at ``starts_at``; ``expert`` is the engagement's. Record it (ExpertSessionRecorded) or
        refuse it with a reason (ExpertSessionRefused). Answers RECORDED or the reason; a
        request decided before is answered again, recording nothing (idempotent per request
        id)."""
        if request_id in self.requests:
            return self.requests[request_id]
        reason = (CLOSED if self.status == "closed" else
                  NOT_CONFIRMED if self.status != "confirmed" else
                  HUB_NOT_IN_ENGAGEMENT if hub_id not in self.hubs else
                  OTHER_EXPERT if expert_id != self.expert_id else
                  EXPERT_RETIRED if expert.retired else
                  EXPERT_NOT_SHARED if not expert.may_serve(hub_id) else
                  USED_UP if self.sessions_left < 1 else None)
        if reason is None:
            self.record("ExpertSessionRecorded", request_id=request_id, by_hub_id=hub_id,
                        engagement_id=self.id, expert_id=self.expert_id, starts_at=starts_at,
                        number=self.sessions_used + 1, sessions_left=self.sessions_left - 1)
        else:
            self._refuse_session(request_id, hub_id, expert_id, reason)
        return self.requests[request_id]

    def return_session(self, request_id: str, hub_id: str, reason: str | None) -> None:
        """Scheduling cancelled a booked session: one counted goes back to the engagement
        (ExpertSessionReturned); one not asked for yet (the cancellation came first) is
        refused now, so the request that follows is not counted. Once per request."""
        state = self.requests.get(request_id)
        if state == RECORDED:
            self.record("ExpertSessionReturned", request_id=request_id, by_hub_id=hub_id,
                        reason=reason, sessions_used=self.sessions_used - 1)
        elif state is None:
            self._refuse_session(request_id, hub_id, self.expert_id, CANCELLED)

    def _refuse_session(self, request_id: str, hub_id: str, expert_id: str,
                        reason: str) -> None:
        self.record("ExpertSessionRefused", request_id=request_id, by_hub_id=hub_id,
                    engagement_id=self.id, expert_id=expert_id, reason=reason,
                    explanation=REFUSALS[reason])

    def _members_of(self, hub_id: str, members: list[str],
                    directory: Mapping[str, tuple[str, int]]) -> list[dict[str, Any]]:
        chosen = _ids(members, "members")
        if not chosen:
            raise _refuse("members", "at least one member")
        strangers = [m for m in chosen if m not in directory or directory[m][0] != hub_id]
        if strangers:
            # The words of a missing member: another county's member tells nothing of it.
            raise _refuse("members", f"not members of hub {hub_id}: {', '.join(strangers)}")
        return [{"member_id": m, "hub_id": hub_id, "enrollment": directory[m][1]}
                for m in chosen]

    def _require_serves(self, expert: Expert, hub_id: str) -> None:
        if not expert.exists:
            raise NotFound(f"no expert {expert.id}")
        if expert.retired:
            raise Conflict(f"expert {expert.id} is retired")
        if not expert.may_serve(hub_id):
            raise _refuse("expert_id", f"expert {expert.id} is not shared with hub {hub_id}")

    def _require_proposed(self) -> None:
        if self.status != "proposed":
            raise Conflict(f"engagement {self.id} is {self.status}: hubs join, leave and "
                           "confirm only while it is proposed")

    def _require_proposer(self, hub_id: str, what: str) -> None:
        if hub_id != self.hub_id:
            raise Forbidden(f"only the proposing hub {what} engagement {self.id}")

    @applies("EngagementProposed")
    def _proposed(self, data: dict[str, Any]) -> None:
        self.hub_id, self.expert_id = data["hub_id"], data["expert_id"]
        self.sessions, self.split = data["sessions"], data["split"]
        self.rate_cents, self.travel_cost_cents = data["rate_cents"], data["travel_cost_cents"]
        self.status = "proposed"
        self._joined(data)

    @applies("EngagementJoined")
    def _joined(self, data: dict[str, Any]) -> None:
        for m in data["members"]:
            self.members[m["member_id"]] = {"hub_id": m["hub_id"],
                                            "enrollment": m["enrollment"]}

    @applies("EngagementLeft")
    def _left(self, data: dict[str, Any]) -> None:
        for member in data["members"]:
            del self.members[member]

    @applies("EngagementConfirmed")
    def _confirmed(self, data: dict[str, Any]) -> None:
        self.status = "confirmed"

    @applies("EngagementClosed")
    def _closed(self, data: dict[str, Any]) -> None:
        self.status = "closed"

    @applies("ExpertSessionRecorded")
    def _session_recorded(self, data: dict[str, Any]) -> None:
        self.sessions_used = data["number"]
        self.requests[data["request_id"]] = RECORDED

    @applies("ExpertSessionRefused")
    def _session_refused(self, data: dict[str, Any]) -> None:
        self.requests[data["request_id"]] = data["reason"]

    @applies("ExpertSessionReturned")
    def _session_returned(self, data: dict[str, Any]) -> None:
        self.sessions_used = data["sessions_used"]
        self.requests[data["request_id"]] = RETURNED


class SessionRequest(Aggregate):
    """A request for an expert session that names an engagement resources does not have: it
    is refused on a stream of its own (the request's id), in the words of a hub that is not in
    the engagement, so scheduling releases the booking and the hub learns nothing of whether
    another county has an engagement of that id."""

    stream_type = "session-request"
    noun = "session request"

    def refuse(self, hub_id: str, engagement_id: str, expert_id: str) -> None:
        if self.exists:
            return
        self.record("ExpertSessionRefused", request_id=self.id, by_hub_id=hub_id,
                    engagement_id=engagement_id, expert_id=expert_id,
                    reason=HUB_NOT_IN_ENGAGEMENT, explanation=REFUSALS[HUB_NOT_IN_ENGAGEMENT])

    @applies("ExpertSessionRefused")
    def _refused(self, data: dict[str, Any]) -> None:
        self.hub_id = data["by_hub_id"]
