"""The resources service's read model: the library (searched by library_search.py), the pool
of experts with their personal data, and engagements with each hub's part of the cost. Every
projection is inline (a write's answer reads it) and rebuildable from the log."""

from __future__ import annotations

import json
from typing import Any

from eventstore import cursors
from eventstore.errors import NotFound
from eventstore.identity import Identity
from eventstore.personal import PersonalData
from eventstore.projections import Projection, handles
from eventstore.readmodel import ReadModel, page_limit
from services.membership.directory import DirectoryReads

from .domain import ENTRY_FIELDS, PROFILE_FIELDS
from .domain.split import engagement_costs
from .library_search import LibrarySearch
from .matches import MatchReads

_ENTRY_COLUMNS = ", ".join(ENTRY_FIELDS)
# An entry's revisions page by a token of the last revision number shown.
ENTRY_REVISIONS = "resources.entry-revisions.v1"
_PROFILE_COLUMNS = ", ".join(PROFILE_FIELDS)


class Library(Projection):
    """One row per library entry (library_view), and every revision of it."""

    name = "library"
    tables = ("library_view", "library_revisions")
    inline = True

    @handles("ResourcePublished")
    def published(self, cur: Any, event: Any) -> None:
        data = event.data
        cur.execute(f"""INSERT INTO library_view (id, hub_id, kind, {_ENTRY_COLUMNS}, revision,
                                                  created_at, updated_at)
                        VALUES (%s, %s, %s, {", ".join(["%s"] * len(ENTRY_FIELDS))}, %s, %s,
                                %s)""",
                    (event.stream_id, event.hub_id, data["kind"],
                     *(data[name] for name in ENTRY_FIELDS), data["revision"],
                     event.recorded_at, event.recorded_at))
        self._revision(cur, event, None)

    @handles("ResourceRevised")
    def revised(self, cur: Any, event: Any) -> None:
        data = event.data
        assignments = ", ".join(f"{name} = %s" for name in ENTRY_FIELDS)
        cur.execute(f"""UPDATE library_view SET {assignments}, revision = %s, updated_at = %s
                        WHERE id = %s""",
                    (*(data[name] for name in ENTRY_FIELDS), data["revision"],
                     event.recorded_at, event.stream_id))
        self._revision(cur, event, data.get("note"))

    @staticmethod
    def _revision(cur: Any, event: Any, note: str | None) -> None:
        cur.execute("""INSERT INTO library_revisions (resource_id, revision, hub_id, content,
                                                      note, revised_at)
                       VALUES (%s, %s, %s, %s, %s, %s)""",
                    (event.stream_id, event.data["revision"], event.hub_id,
                     json.dumps({name: event.data[name] for name in ENTRY_FIELDS}), note,
                     event.recorded_at))

    @handles("ResourceRetired")
    def retired(self, cur: Any, event: Any) -> None:
        cur.execute("UPDATE library_view SET retired = true, updated_at = %s WHERE id = %s",
                    (event.recorded_at, event.stream_id))

    @handles("ResourceRated")
    def rated(self, cur: Any, event: Any) -> None:
        # One rating per rater: a changed rating replaces the rater's previous one.
        previous = event.data.get("previous")
        cur.execute("""UPDATE library_view SET rating_sum = rating_sum + %s - %s,
                                               rating_count = rating_count + %s
                       WHERE id = %s""",
                    (event.data["stars"], previous or 0, 1 if previous is None else 0,
                     event.stream_id))


class Experts(Projection):
    """The pool: one row per expert (no personal data: that is in experts_pii)."""

    name = "experts"
    tables = ("experts_view",)
    inline = True

    @handles("ExpertAdded")
    def added(self, cur: Any, event: Any) -> None:
        data = event.data
        cur.execute(f"""INSERT INTO experts_view (id, hub_id, {_PROFILE_COLUMNS}, sharing, hubs,
                                                  version)
                        VALUES (%s, %s, {", ".join(["%s"] * len(PROFILE_FIELDS))}, %s, %s, %s)""",
                    (event.stream_id, event.hub_id, *(data[name] for name in PROFILE_FIELDS),
                     data["sharing"], data["hubs"], event.version))

    @handles("ExpertProfileRevised")
    def revised(self, cur: Any, event: Any) -> None:
        assignments = ", ".join(f"{name} = %s" for name in PROFILE_FIELDS)
        cur.execute(f"UPDATE experts_view SET {assignments}, version = %s WHERE id = %s",
                    (*(event.data[name] for name in PROFILE_FIELDS), event.version,
                     event.stream_id))

    @handles("ExpertSharingChanged")
    def sharing_changed(self, cur: Any, event: Any) -> None:
        cur.execute("UPDATE experts_view SET sharing = %s, hubs = %s, version = %s WHERE id = %s",
                    (event.data["sharing"], event.data["hubs"], event.version, event.stream_id))

    @handles("ExpertRetired")
    def retired(self, cur: Any, event: Any) -> None:
        cur.execute("UPDATE experts_view SET retired = true, version = %s WHERE id = %s",
                    (event.version, event.stream_id))

    @handles("ExpertErased")
    def erased(self, cur: Any, event: Any) -> None:
        cur.execute("""UPDATE experts_view SET retired = true, erased = true, organisation = '',
                              bio = '', expertise = '{}', languages = '{}', version = %s
                       WHERE id = %s""", (event.version, event.stream_id))


class Engagements(Projection):
    """Each engagement, the hubs taking part with their part of the cost, and the members with
    their share; the split is recomputed by the domain's rule whenever a hub joins or leaves.
    Which hubs confirmed an engagement of an expert (expert_engaged_hubs): matches count them.
    """

    name = "engagements"
    tables = ("engagements_view", "engagement_hubs", "engagement_members",
              "expert_engaged_hubs")
    inline = True

    @handles("EngagementProposed")
    def proposed(self, cur: Any, event: Any) -> None:
        data = event.data
        cur.execute("""INSERT INTO engagements_view (id, hub_id, expert_id, status, sessions,
                                                     split, rate_cents, travel_cost_cents,
                                                     total_cents, hub_count, version)
                       VALUES (%s, %s, %s, 'proposed', %s, %s, %s, %s, 0, 0, %s)""",
                    (event.stream_id, event.hub_id, data["expert_id"], data["sessions"],
                     data["split"], data["rate_cents"], data["travel_cost_cents"],
                     event.version))
        cur.execute("UPDATE experts_view SET open_engagements = open_engagements + 1 "
                    "WHERE id = %s", (data["expert_id"],))
        self._joined(cur, event)

    @handles("EngagementJoined")
    def joined(self, cur: Any, event: Any) -> None:
        self._joined(cur, event)

    def _joined(self, cur: Any, event: Any) -> None:
        for member in event.data["members"]:
            cur.execute("""INSERT INTO engagement_members (engagement_id, member_id, hub_id,
                                                           enrollment, share_cents)
                           VALUES (%s, %s, %s, %s, 0)""",
                        (event.stream_id, member["member_id"], member["hub_id"],
                         member["enrollment"]))
        self._split(cur, event)

    @handles("EngagementLeft")
    def left(self, cur: Any, event: Any) -> None:
        cur.execute("DELETE FROM engagement_members WHERE engagement_id = %s "
                    "AND member_id = ANY(%s)", (event.stream_id, event.data["members"]))
        self._split(cur, event)

    @staticmethod
    def _split(cur: Any, event: Any) -> None:
        cur.execute("""SELECT rate_cents, sessions, travel_cost_cents, split
                       FROM engagements_view WHERE id = %s""", (event.stream_id,))
        rate, sessions, travel, mode = cur.fetchone()
        cur.execute("""SELECT member_id, hub_id, enrollment FROM engagement_members
                       WHERE engagement_id = %s""", (event.stream_id,))
        costs = engagement_costs(rate, sessions, travel,
                                 {m: (hub, enrollment) for m, hub, enrollment in cur.fetchall()},
                                 mode)
        for member, share in costs.members.items():
            cur.execute("""UPDATE engagement_members SET share_cents = %s
                           WHERE engagement_id = %s AND member_id = %s""",
                        (share, event.stream_id, member))
        cur.execute("DELETE FROM engagement_hubs WHERE engagement_id = %s", (event.stream_id,))
        for hub, cost in costs.hubs.items():
            cur.execute("""INSERT INTO engagement_hubs (engagement_id, hub_id, share_cents,
                                                        alone_cents, saving_cents)
                           VALUES (%s, %s, %s, %s, %s)""",
                        (event.stream_id, hub, cost.share_cents, cost.alone_cents,
                         cost.saving_cents))
        cur.execute("""UPDATE engagements_view SET total_cents = %s, hub_count = %s, version = %s
                       WHERE id = %s""",
                    (costs.total_cents, len(costs.hubs), event.version, event.stream_id))

    @handles("EngagementConfirmed", "EngagementClosed")
    def decided(self, cur: Any, event: Any) -> None:
        status = "confirmed" if event.type == "EngagementConfirmed" else "closed"
        cur.execute("UPDATE engagements_view SET status = %s, version = %s WHERE id = %s "
                    "RETURNING expert_id", (status, event.version, event.stream_id))
        (expert_id,) = cur.fetchone()
        if status == "confirmed":
            cur.execute("""INSERT INTO expert_engaged_hubs (expert_id, hub_id)
                           SELECT %s, hub_id FROM engagement_hubs WHERE engagement_id = %s
                           ON CONFLICT DO NOTHING""", (expert_id, event.stream_id))
        if status == "closed":
            cur.execute("UPDATE experts_view SET open_engagements = open_engagements - 1 "
                        "WHERE id = %s", (expert_id,))

    @handles("ExpertSessionRecorded", "ExpertSessionRefused", "ExpertSessionReturned")
    def session(self, cur: Any, event: Any) -> None:
        # A refusal changes no count (and may be on a session request's own stream: no row).
        used = event.data.get("number", event.data.get("sessions_used"))
        cur.execute("""UPDATE engagements_view SET sessions_used = coalesce(%s, sessions_used),
                              version = %s WHERE id = %s""",
                    (used, event.version, event.stream_id))


PROJECTIONS = [Library(), Experts(), Engagements()]


def _may_engage(caller: Identity, expert: dict[str, Any]) -> bool:
    """Whether one of the caller's hubs may engage the expert (as the domain's may_serve)."""
    if expert["retired"]:
        return False
    if caller.all_hubs:
        return True
    return any(caller.may_read_hub(hub) and (
        hub == expert["hub_id"] or expert["sharing"] == "consortium" or hub in expert["hubs"])
        for hub in caller.hubs)


class ResourcesReadModel(MatchReads, LibrarySearch, DirectoryReads, ReadModel):
    # An expert's name and contact data: kept outside the log, erased with the expert (and
    # then from every answer kept for an Idempotency-Key about the expert).
    experts_contact = PersonalData("experts_pii", subject="expert_id",
                                   fields=("name", "email", "phone"), erased={"erased": True})

    # -- the library --------------------------------------------------------------------------

    def resource(self, resource_id: str) -> dict[str, Any]:
        """One entry: its owner hub's people see it retired too; others see a shared, current
        entry, and another hub's hub-only entry is as missing as an unknown one."""
        row = self.row("""SELECT id, hub_id, kind, title, summary, link, tags, subject,
                                 grade_band, problems, visibility, retired, revision,
                                 rating_count, rating_sum, created_at, updated_at
                          FROM library_view WHERE id = %s""", resource_id)
        own = row is not None and self.caller.may_read_hub(row["hub_id"])
        if row is None or not (own or (row["visibility"] != "hub" and not row["retired"])):
            raise NotFound(f"no resource {resource_id}")
        count, total = row.pop("rating_count"), row.pop("rating_sum")
        row["rating"] = {"count": count, "average": round(total / count, 2) if count else None}
        return row

    def revisions(self, resource_id: str, limit: Any, after: str | None) -> dict[str, Any]:
        """A page of the revisions of an entry the caller may read, the first first (an
        entry revised for years has many: paged by a token of the revision number)."""
        self.resource(resource_id)
        kind = f"{ENTRY_REVISIONS}:{resource_id}"
        position = cursors.decode(kind, after, self.caller)
        limit = page_limit(limit)
        try:
            last = int(position["n"]) if position is not None else 0
        except (KeyError, TypeError, ValueError):
            raise cursors.refused() from None
        rows = self.rows("""SELECT revision, content, note, revised_at FROM library_revisions
                            WHERE resource_id = %s AND revision > %s
                            ORDER BY revision LIMIT %s""", resource_id, last, limit + 1)
        page = cursors.page(rows, limit, kind, self.caller, lambda row: {"n": row["revision"]})
        page["items"] = [{"revision": r["revision"], "note": r["note"],
                          "revised_at": r["revised_at"], **r["content"]}
                         for r in page["items"]]
        return page

    # -- the pool of experts ------------------------------------------------------------------

    def _expert_answer(self, row: dict[str, Any], contact: Any) -> dict[str, Any]:
        may_engage = _may_engage(self.caller, row)
        # Contact data: for the facilitators (and admins) of a hub the expert may serve.
        sees_contact = may_engage and self.caller.role in ("admin", "facilitator")
        name, email, phone = contact or (None, None, None)
        return {**row, "engaged": row["open_engagements"] > 0, "name": name,
                "email": email if sees_contact else None,
                "phone": phone if sees_contact else None, "may_engage": may_engage}

    def expert(self, expert_id: str) -> dict[str, Any]:
        """An expert of the pool (every hub sees the pool; an erased one answers with ids and
        numbers only, as its log does)."""
        row = self.row("SELECT * FROM experts_view WHERE id = %s", expert_id)
        if row is None or not self.caller.hubs:
            raise NotFound(f"no expert {expert_id}")
        return self._expert_answer(row, self.experts_contact.get(expert_id))

    def experts(self, criteria: dict[str, Any], limit: Any,
                after: str | None) -> dict[str, Any]:
        """The pool, by id; ``expertise``: experts with every one of these tags."""
        page = self.page("""SELECT e.* FROM experts_view e
                            WHERE NOT e.erased AND (NOT %s OR NOT e.retired)
                            AND e.expertise @> %s::text[] AND e.id > %s
                            ORDER BY e.id LIMIT %s""",
                         not criteria.get("retired", False), criteria.get("expertise", []),
                         after=after, limit=limit)
        contacts = self.experts_contact.of(row["id"] for row in page["items"])
        return {"items": [self._expert_answer(row, contacts.get(row["id"]))
                          for row in page["items"]], "next": page["next"]}

    # -- engagements --------------------------------------------------------------------------

    def engagement(self, engagement_id: str) -> dict[str, Any]:
        """An engagement as the caller's hubs take part in it: the engagement, and only their
        own hubs' part and members' shares (another hub's part is not shown, nor who it is);
        not taking part, it is as missing as an unknown one."""
        row = self.row("SELECT * FROM engagements_view WHERE id = %s", engagement_id)
        hubs = [h for h in self.rows("""SELECT hub_id, share_cents, alone_cents, saving_cents
                                        FROM engagement_hubs WHERE engagement_id = %s
                                        ORDER BY hub_id""", engagement_id)
                if self.caller.may_read_hub(h["hub_id"])]
        if row is None or not hubs:
            raise NotFound(f"no engagement {engagement_id}")
        members = [m for m in self.rows("""SELECT member_id, hub_id, enrollment, share_cents
                                           FROM engagement_members WHERE engagement_id = %s
                                           ORDER BY hub_id, member_id""", engagement_id)
                   if self.caller.may_read_hub(m["hub_id"])]
        return {**row, "sessions_left": row["sessions"] - row["sessions_used"], "hubs": hubs,
                "members": members}


def agency_summary(cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
    """Resources' part of the agencies' summary: each hub's engagements of shared experts,
    the sessions used of them, its share of their cost and what pooling saved it (sums of
    money and of sessions, no count of people)."""
    found: dict[str, dict[str, Any]] = {hub: {"expert_sessions": {
        "engagements": 0, "sessions_used": 0, "pooled_cost_cents": 0, "saved_cents": 0}}
        for hub in hubs}
    cur.execute("""SELECT h.hub_id, count(*), coalesce(sum(e.sessions_used), 0),
                          coalesce(sum(h.share_cents), 0), coalesce(sum(h.saving_cents), 0)
                   FROM engagement_hubs h JOIN engagements_view e ON e.id = h.engagement_id
                   WHERE h.hub_id = ANY(%s) AND e.status <> 'proposed'
                   GROUP BY 1""", (hubs,))
    for hub, engagements, sessions, cost, saved in cur.fetchall():
        found[hub]["expert_sessions"] = {
            "engagements": engagements, "sessions_used": int(sessions),
            "pooled_cost_cents": int(cost), "saved_cents": int(saved)}
    return found
