"""Matches for a problem of practice, and prototypes shared elsewhere (issue 17; decision 008).

``MatchReads`` is a read-model mixin (``class ResourcesReadModel(MatchReads, ...)``):

- ``matches(problem_id)`` answers ``GET /v1/problems/{problem}/matches``: the experts, library
  entries and shared prototypes that fit a problem of practice, best first, each with its
  reasons in words. The problem is its hub's (problems_known, row-level security by hub):
  another hub's is as missing as an unknown one. The ranking is the pure
  ``domain.matching.rank_matches``; this module only gathers what it ranks.
- ``shared_prototypes(criteria)`` answers ``GET /v1/prototypes/shared?q=&problem=``.

Bounded work. Each kind of candidate is found by a cheap first pass in SQL, then ranked in
Python: the problem's words (``matching.words`` of its title and statement, each a word of
``websearch_to_tsquery('english', 'w1 or w2 ...')``: stemmed, never an operator) against the
entries' weighted vector (title, summary, tags), the experts' profile (organisation, bio,
expertise) and the prototypes' (name, summary, problem title, findings). Entries that name the
problem among those they serve are candidates whatever their words. The first pass takes the
newest ``FIRST_PASS`` matches of each kind (the library's newest-first partial indexes, as a
search's first pass does), of which the ``CANDIDATES`` best by ``ts_rank_cd`` are ranked; the
answer holds the best ``MATCHES``.

Tags. Cycles' problems have none: a problem's tags are those of the candidates (the tags in
use for these words) that its text names (``matching.problem_tags``: a tag's words in order,
plurals folded); a prototype's tags are found the same way in its own text.

Visibility. Entries: ``library_search.visible_branches`` (the caller's hubs' entries of any
visibility, every hub's shared ones, never retired; another hub's hub-only entries are never
read). Experts: those one of the caller's hubs may engage, never retired or erased (the name
from the expert's personal data). Prototypes: every shared one (they are shared with every
hub), the newest revision of each. Past engagements: how many hubs confirmed an engagement of
the expert (a count, never which hubs), on problems taken to be the expert's expertise.
"""

from __future__ import annotations

from typing import Any

from eventstore.errors import NotFound, ValidationError
from eventstore.readmodel import ReadModel
from eventstore.validation import unstorable

from .domain import matching
from .domain.matching import Candidate, Outcome, PastEngagement, Problem
from .library_search import visible_branches
from .schemas import Q_MAX

FIRST_PASS = 1000    # newest matches of a kind read by the first pass
CANDIDATES = 200     # of those, the best by ts_rank_cd ranked by rank_matches
MATCHES = 25         # matches answered
LISTED = 50          # shared prototypes listed

_ENTRY = """v.id, v.title, v.summary, v.subject, v.tags, v.problems, v.rating_count,
            v.rating_sum, v.created_at, v.search_vector"""


def _query_text(problem: dict[str, Any]) -> str:
    """The problem's words as a search box's "or" of them (letters and digits only)."""
    return " or ".join(sorted(matching.words(f"{problem['title']} {problem['statement']}")))


class MatchReads(ReadModel):
    def known_problem(self, problem_id: str) -> dict[str, Any]:
        row = self.row("""SELECT id, hub_id, title, statement, ratified FROM problems_known
                          WHERE id = %s AND title IS NOT NULL""", problem_id)
        if row is None or not self.caller.may_read_hub(row["hub_id"]):
            raise NotFound(f"no problem of practice {problem_id}")
        return row

    def matches(self, problem_id: str) -> dict[str, Any]:
        found = self.known_problem(problem_id)
        text = _query_text(found)
        entries = self._entry_candidates(problem_id, text)
        experts = self._expert_candidates(text)
        prototypes = self._prototype_candidates(text)
        vocabulary = {t for row in entries for t in row["tags"]} | {
            t for row in experts for t in row["expertise"]}
        problem = Problem(found["id"], found["title"], found["statement"], matching.problem_tags(
            f"{found['title']} {found['statement']}", vocabulary))
        engaged = self._engaged_hubs([row["id"] for row in experts])
        names = self.experts_contact.of(row["id"] for row in experts)  # type: ignore[attr-defined]
        titles: dict[tuple[str, str], str] = {}
        expert_candidates, entry_candidates, prototype_candidates = [], [], []
        engagements = []
        for row in experts:
            expertise = frozenset(row["expertise"])
            expert_candidates.append(Candidate(
                "expert", row["id"], expertise,
                f"{row['organisation']} {row['bio']} {' '.join(row['expertise'])}"))
            contact = names.get(row["id"])
            titles["expert", row["id"]] = (contact[0] if contact else None) or \
                row["organisation"]
            engagements += [PastEngagement(row["id"], hub, expertise)
                            for hub in engaged.get(row["id"], ())]
        for row in entries:
            entry_candidates.append(Candidate(
                "resource", row["id"], frozenset(row["tags"]),
                f"{row['title']} {row['summary']} {row['subject'] or ''}",
                row["rating_sum"] / row["rating_count"] if row["rating_count"] else 0.0,
                row["rating_count"], frozenset(row["problems"])))
            titles["resource", row["id"]] = row["title"]
        for row in prototypes:
            findings = " ".join(str(r.get("findings") or "") for r in row["results"]
                                if isinstance(r, dict))
            own_text = f"{row['name']} {row['summary']} {row['problem_title'] or ''} {findings}"
            decided = [r for r in row["results"] if isinstance(r, dict) and r.get("decision")]
            last = max(decided, key=lambda r: r.get("number") or 0) if decided else None
            outcome = (Outcome(str(last["decision"]), len(row["results"]), row["shared_by"])
                       if last is not None else None)
            prototype_candidates.append(Candidate(
                "prototype", row["prototype_id"], matching.problem_tags(own_text, vocabulary),
                own_text, problems=frozenset({row["problem_id"]}), outcome=outcome))
            titles["prototype", row["prototype_id"]] = row["name"]
        ranked = matching.rank_matches(problem, expert_candidates, entry_candidates,
                                       prototype_candidates, engagements, limit=MATCHES)
        return {"problem": {"id": found["id"], "hub_id": found["hub_id"],
                            "title": found["title"], "ratified": found["ratified"],
                            "tags": sorted(problem.tags)},
                "items": [{"kind": m.kind, "id": m.id, "title": titles[m.kind, m.id],
                           "score": m.score, "reasons": list(m.reasons), "reason": m.reason}
                          for m in ranked]}

    # -- the first passes ---------------------------------------------------------------------

    def _entry_candidates(self, problem_id: str, text: str) -> list[dict[str, Any]]:
        branches = visible_branches(self.caller)
        if not branches:
            return []
        parts, params = [], []
        for where, where_params in branches:
            parts.append(f"""(SELECT {_ENTRY} FROM library_view v
                              WHERE {where} AND (v.search_vector
                                    @@ websearch_to_tsquery('english', %s)
                                    OR v.problems @> ARRAY[%s]::text[])
                              ORDER BY v.created_at DESC, v.id DESC LIMIT %s)""")
            params += [*where_params, text, problem_id, FIRST_PASS]
        rows = self.rows(f"""
            WITH first AS MATERIALIZED (
                SELECT * FROM ({" UNION ALL ".join(parts)}) AS b
                ORDER BY created_at DESC, id DESC LIMIT %s)
            SELECT id, title, summary, subject, tags, problems, rating_count, rating_sum
            FROM first
            ORDER BY problems @> ARRAY[%s]::text[] DESC,
                     ts_rank_cd(search_vector, websearch_to_tsquery('english', %s), 1) DESC,
                     id
            LIMIT %s""", *params, FIRST_PASS, problem_id, text, CANDIDATES)
        return rows

    def _expert_candidates(self, text: str) -> list[dict[str, Any]]:
        if not self.caller.hubs or not text:
            return []
        hubs = sorted(h for h in self.caller.hubs if self.caller.may_read_hub(h))
        return self.rows("""
            WITH pool AS (
                SELECT e.id, e.organisation, e.bio, e.expertise,
                       to_tsvector('english', e.organisation || ' ' || e.bio || ' '
                                   || array_to_string(e.expertise, ' ')) AS profile
                FROM experts_view e
                WHERE NOT e.retired AND NOT e.erased
                  AND (%s OR e.sharing = 'consortium' OR e.hub_id = ANY(%s::text[])
                       OR e.hubs && %s::text[]))
            SELECT id, organisation, bio, expertise FROM pool
            WHERE profile @@ websearch_to_tsquery('english', %s)
            ORDER BY ts_rank_cd(profile, websearch_to_tsquery('english', %s), 1) DESC, id
            LIMIT %s""", self.caller.all_hubs, hubs, hubs, text, text, CANDIDATES)

    def _prototype_candidates(self, text: str) -> list[dict[str, Any]]:
        if not self.caller.hubs or not text:
            return []
        return self.rows("""
            WITH first AS MATERIALIZED (
                SELECT * FROM shared_prototypes s
                WHERE s.search_vector @@ websearch_to_tsquery('english', %s)
                ORDER BY s.shared_at DESC, s.prototype_id DESC LIMIT %s),
            newest AS (SELECT DISTINCT ON (prototype_id) * FROM first
                       ORDER BY prototype_id, revision DESC)
            SELECT prototype_id, revision, problem_id, problem_title, name, summary, results,
                   shared_by
            FROM newest
            ORDER BY ts_rank_cd(search_vector, websearch_to_tsquery('english', %s), 1) DESC,
                     prototype_id
            LIMIT %s""", text, FIRST_PASS, text, CANDIDATES)

    def _engaged_hubs(self, expert_ids: list[str]) -> dict[str, list[str]]:
        """The hubs that confirmed an engagement of each expert (for counting only)."""
        engaged: dict[str, list[str]] = {}
        for row in self.rows("""SELECT expert_id, hub_id FROM expert_engaged_hubs
                                WHERE expert_id = ANY(%s::text[])""", expert_ids):
            engaged.setdefault(row["expert_id"], []).append(row["hub_id"])
        return engaged

    # -- what worked elsewhere ----------------------------------------------------------------

    def shared_prototypes(self, criteria: dict[str, Any]) -> dict[str, Any]:
        """Prototypes shared with the network (the newest revision of each, with the revisions
        shared), found by words (``q``, a search box's) and by the problem of practice they
        were tested on (``problem``): the best ``LISTED`` by rank, newest first without
        words."""
        q = criteria.get("q") or None
        why = None if q is None else (unstorable(q) or (
            f"at most {Q_MAX} characters" if len(q) > Q_MAX else None))
        if why:
            raise ValidationError("invalid search: q", {"q": [why]})
        if not self.caller.hubs:
            return {"items": []}
        if q is not None:
            found = self.row("SELECT numnode(t) AS nodes, querytree(t) AS tree "
                             "FROM websearch_to_tsquery('english', %s) AS t", q)
            if found is None or found["nodes"] == 0 or found["tree"] == "T":
                return {"items": []}
        problem = criteria.get("problem")
        rows = self.rows("""
            WITH first AS MATERIALIZED (
                SELECT * FROM shared_prototypes s
                WHERE (%s::text IS NULL
                       OR s.search_vector @@ websearch_to_tsquery('english', %s))
                  AND (%s::text IS NULL OR s.problem_id = %s)
                ORDER BY s.shared_at DESC, s.prototype_id DESC LIMIT %s),
            newest AS (SELECT DISTINCT ON (prototype_id) *,
                              array_agg(revision) OVER (PARTITION BY prototype_id)
                                  AS revisions
                       FROM first ORDER BY prototype_id, revision DESC)
            SELECT prototype_id AS id, revision, revisions, hub_id, member_id, problem_id,
                   problem_title, name, summary, results, shared_by, shared_at,
                   CASE WHEN %s::text IS NULL THEN NULL ELSE
                        ts_rank_cd(search_vector, websearch_to_tsquery('english', %s), 1)
                   END AS rank
            FROM newest
            ORDER BY rank DESC NULLS LAST, shared_at DESC, id
            LIMIT %s""", q, q, problem, problem, FIRST_PASS, q, q, LISTED)
        for row in rows:
            row["revisions"] = sorted(row["revisions"])
        return {"items": rows}
