"""What resources learns from cycles' news (issue 17): problems of practice, for matches, and
prototypes members shared with the network, for every hub to find (what worked elsewhere).

``CyclesNews`` is included by the service class, as membership's directory is
(``class Resources(CyclesNews, MembershipDirectory, KernelEntrypoints)``): its ``@consumes``
methods keep ``problems_known`` and ``shared_prototypes`` (migrations/0003_matches.sql). A
consumer's state, not a projection of resources' own log: the service's catch-up reads cycles'
log from the beginning (at its first start with these consumers), and the inbox makes every
delivery count once. News is applied in whatever order it arrives (a ratification before its
draft keeps the hub and waits for the text).

A member may withdraw a shared prototype (``PrototypeUnshared``): every revision of it leaves
``shared_prototypes``, whichever of the share and the withdrawal is handled first (each row
keeps the version of cycles' stream that recorded it; migrations/0004).
"""

from __future__ import annotations

import json

from eventstore.commands import Session
from eventstore.consumers import consumes
from services.cycles import contracts as cycles

from .domain.matching import shareable_results


class CyclesNews:
    """Consumers of cycles' news; include in the service class."""

    @consumes(cycles.ProblemDrafted)
    def on_problem_drafted(self, session: Session, event: cycles.ProblemDrafted) -> None:
        session.cur.execute(
            """INSERT INTO problems_known (id, hub_id, title, statement)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,
                                              statement = EXCLUDED.statement""",
            (event.recorded.stream_id, event.hub_id, event.title, event.statement))

    @consumes(cycles.ProblemRatified)
    def on_problem_ratified(self, session: Session, event: cycles.ProblemRatified) -> None:
        session.cur.execute(
            """INSERT INTO problems_known (id, hub_id, ratified) VALUES (%s, %s, true)
               ON CONFLICT (id) DO UPDATE SET ratified = true""",
            (event.recorded.stream_id, event.recorded.hub_id))

    @consumes(cycles.PrototypeShared)
    def on_prototype_shared(self, session: Session, event: cycles.PrototypeShared) -> None:
        cur = session.cur
        hub_id = event.recorded.hub_id
        cur.execute("SELECT name FROM directory_members WHERE id = %s", (event.member_id,))
        member = cur.fetchone()
        cur.execute("SELECT name FROM directory_hubs WHERE id = %s", (hub_id,))
        hub = cur.fetchone()
        shared_by = (f"{member[0] if member and member[0] else event.member_id} "
                     f"({hub[0] if hub and hub[0] else hub_id})")
        cur.execute("SELECT title FROM problems_known WHERE id = %s", (event.problem_id,))
        problem = cur.fetchone()
        # Kept unless withdrawn after it was shared (the withdrawal may have come first).
        cur.execute(
            """INSERT INTO shared_prototypes (prototype_id, revision, hub_id, member_id,
                                              problem_id, problem_title, name, summary,
                                              results, shared_by, shared_at, stream_version)
               SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
               WHERE NOT EXISTS (SELECT 1 FROM prototypes_withdrawn
                                 WHERE prototype_id = %s AND stream_version > %s)
               ON CONFLICT (prototype_id, revision) DO UPDATE
                   SET stream_version = EXCLUDED.stream_version""",
            (event.prototype_id, event.revision, hub_id, event.member_id, event.problem_id,
             problem[0] if problem else None, event.name, event.summary,
             json.dumps(shareable_results(event.results)), shared_by,
             event.recorded.recorded_at, event.recorded.version, event.prototype_id,
             event.recorded.version))

    @consumes(cycles.PrototypeUnshared)
    def on_prototype_unshared(self, session: Session, event: cycles.PrototypeUnshared) -> None:
        version = event.recorded.version
        session.cur.execute(
            """INSERT INTO prototypes_withdrawn (prototype_id, stream_version) VALUES (%s, %s)
               ON CONFLICT (prototype_id) DO UPDATE
                   SET stream_version = greatest(prototypes_withdrawn.stream_version,
                                                 EXCLUDED.stream_version)""",
            (event.prototype_id, version))
        session.cur.execute("DELETE FROM shared_prototypes WHERE prototype_id = %s "
                            "AND stream_version < %s", (event.prototype_id, version))
