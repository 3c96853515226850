"""Full-text search of the shared library (issue 17; the table: migrations/0001_library.sql).

``LibrarySearch`` is a read-model mixin: the resources read model includes it
(``class ResourcesReadModel(LibrarySearch, ...)``) and ``search(criteria, limit, after)``
answers ``GET /v1/resources`` (``Route(..., paged=True, cursor="token")``)::

    {"items": [entry, ...], "next": token | None,
     "facets": {"kind": {kind: n}, "tag": {tag: n}, "subject": {subject: n}},
     "total": n, "total_exact": bool}

What a caller sees. Its own hubs' entries of any visibility, every hub's 'consortium' and
'public' entries, never a retired entry. ``library_view`` has no row-level security (the
migration says why: with it PostgreSQL cannot use the GIN index for ``@@``), so visibility is
stated here, in every query's WHERE, and nowhere else: ``visible_branches``. A search is a
UNION ALL of one branch for the shared entries and one per hub of the caller for its hub-only
entries, each on a partial index of its own, so another hub's hub-only entries are never read,
counted, faceted or highlighted, and do not change what a search costs.

The text. ``q`` goes through ``websearch_to_tsquery('english', q)`` (never ``to_tsquery``):
words are stemmed ("persist" finds "persistence"), "quoted words" are a phrase, ``or`` and a
leading ``-`` work as a search box's do, anything else is a word or ignored, and nothing a
user types is a syntax error. At most ``Q_MAX`` (200) characters: longer is a ValidationError
naming ``q`` (every criterion is checked by the route's schema, ``schemas.ResourceSearch``,
once, here). A blank ``q`` is no text: the library,
newest first. A ``q`` with nothing to look for (only stop words such as "the", only
punctuation or operators such as ``& | ! :*``, or only excluded words such as ``-math``)
finds nothing: an empty answer, never an error and never the whole library.

Ranking. ``ts_rank_cd`` over the weighted vector (title A, summary B, tags C), length
normalised (``RANK_NORMALISATION``), then the id; without ``q``, newest first (``created_at``,
then the id, both descending).

Common words. A search ranks at most ``CANDIDATES`` (1,000) entries: a cheap first pass takes
the newest ``CANDIDATES`` + 1 entries that match (each branch ordered by ``created_at`` with a
LIMIT, so the planner walks the "newest" index for a word that is everywhere and the GIN index
for a rare one), and only those are ranked, paged and counted into the facets. When more
match, ``total`` is ``CANDIDATES`` and ``total_exact`` is false: "at least 1,000; narrow your
search". Ranked search costs what the number of ranked rows costs (measured 482 ms to rank all
of 100,000 entries), so this bounds every search; a selective query (below the cap) is exact.
The first pass is ordered, so the candidates, and therefore the pages, are the same on every
request.

Highlights. ``ts_headline`` runs on the returned page only (never on every match: measured
1,186 ms instead of 20). Each item's ``highlight`` is ``{"title", "summary"}``: HTML-escaped
text in which each matched word is wrapped in ``<mark>`` and ``</mark>``, the summary cut to
its best fragments joined by " … "; ``None`` without ``q``. In SQL the markers are the private
use characters U+E000 and U+E001 (removed from the stored text first), so no text an author
wrote can forge or break a marker.

Paging. ``after`` is an ``eventstore.cursors`` token of the last row's rank (or time) and id,
bound to the caller and to the criteria (their digest is part of the token's kind): a token of
another query, another caller or an edited one is a ValidationError naming ``after``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

from eventstore import cursors
from eventstore.identity import Identity
from eventstore.readmodel import ReadModel, page_limit
from eventstore.validation import load

from .schemas import ResourceSearch

SHARED = ("consortium", "public")

CANDIDATES = 1000        # entries ranked at most (see "Common words")
FACET_TAGS = 50          # the most frequent tags, the rest left out of the facet
# ts_rank_cd's normalisation: 1 divides the rank by 1 + log(document length), so a long
# summary that mentions a word once does not outrank a short entry about it.
RANK_NORMALISATION = 1

CURSOR_KIND = "resources.library-search.v1"
START, STOP = "\ue000", "\ue001"   # what ts_headline marks with; <mark>, </mark> in answers
TITLE_HEADLINE = f'StartSel="{START}", StopSel="{STOP}", HighlightAll=true'
SUMMARY_HEADLINE = (f'StartSel="{START}", StopSel="{STOP}", MaxWords=30, MinWords=12, '
                    'MaxFragments=2, FragmentDelimiter=" … "')

_MARKERS = re.compile(f"([{START}{STOP}])")

Criteria = dict[str, Any]


# -- pure helpers ------------------------------------------------------------------------------

def normalise(criteria: Any) -> Criteria:
    """The criteria of a search, checked by the route's own schema (schemas.ResourceSearch: a
    ValidationError naming every bad one), in one spelling: lists sorted without repeats,
    blank values left out (a token is bound to this spelling)."""
    loaded = load(ResourceSearch, criteria if criteria is not None else {})
    found: Criteria = {}
    for name, value in loaded.items():
        if isinstance(value, list):
            value = sorted({v for v in value if v.strip()})
        if value and (not isinstance(value, str) or value.strip()):
            found[name] = value
    return found


def cursor_kind(criteria: Criteria) -> str:
    """The token kind of a search: its criteria's digest, so a token serves only its query."""
    digest = hashlib.sha256(json.dumps(criteria, sort_keys=True, separators=(",", ":"))
                            .encode()).hexdigest()[:32]
    return f"{CURSOR_KIND}:{digest}"


def marked_html(text: str | None) -> str | None:
    """ts_headline's output as HTML: the text escaped, matches in <mark>…</mark>."""
    if text is None:
        return None
    out: list[str] = []
    inside = False
    for part in _MARKERS.split(text):
        if part == START:
            if not inside:
                out.append("<mark>")
            inside = True
        elif part == STOP:
            if inside:
                out.append("</mark>")
            inside = False
        elif part:
            out.append(html.escape(part))
    if inside:
        out.append("</mark>")
    return "".join(out)


def visible_branches(caller: Identity, visibility: str | None = None
                     ) -> list[tuple[str, list[Any]]]:
    """Who sees which rows of ``library_view`` (alias ``v``), as the WHERE of each branch of a
    UNION ALL, with its parameters: the shared entries, then the hub-only entries of each hub
    the caller reads (one branch for every hub when the caller reads every hub). Each branch
    matches one partial index of the migration. ``visibility`` narrows to one visibility."""
    branches: list[tuple[str, list[Any]]] = []
    if visibility in (None, *SHARED):
        where = "v.visibility IN ('consortium', 'public') AND NOT v.retired"
        branches.append((where + (" AND v.visibility = %s" if visibility else ""),
                         [visibility] if visibility else []))
    if visibility in (None, "hub"):
        hub_only = "v.visibility = 'hub' AND NOT v.retired"
        if caller.all_hubs:
            branches.append((hub_only, []))
        else:
            for hub in sorted({h for h in caller.hubs if caller.may_read_hub(h)}):
                branches.append((hub_only + " AND v.hub_id = %s", [hub]))
    return branches


def visible_where(caller: Identity) -> tuple[str, list[Any]]:
    """The same rule as one condition (for reading known ids, not for searching)."""
    if caller.all_hubs:
        return "NOT v.retired", []
    hubs = sorted({h for h in caller.hubs if caller.may_read_hub(h)})
    return ("NOT v.retired AND (v.visibility IN ('consortium', 'public') "
            "OR (v.visibility = 'hub' AND v.hub_id = ANY(%s::text[])))", [hubs])


def _filters(criteria: Criteria) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if "q" in criteria:
        where.append("v.search_vector @@ websearch_to_tsquery('english', %s)")
        params.append(criteria["q"])
    if "tag" in criteria:
        where.append("v.tags @> %s::text[]")
        params.append(criteria["tag"])
    if "kind" in criteria:
        if len(criteria["kind"]) == 1:
            where.append("v.kind = %s")
            params.append(criteria["kind"][0])
        else:
            where.append("v.kind = ANY(%s::text[])")
            params.append(criteria["kind"])
    for name in ("subject", "grade_band"):
        if name in criteria:
            where.append(f"v.{name} = %s")
            params.append(criteria[name])
    if "problem" in criteria:
        where.append("v.problems @> ARRAY[%s]::text[]")
        params.append(criteria["problem"])
    return "".join(f" AND {w}" for w in where), params


def _empty() -> dict[str, Any]:
    return {"items": [], "next": None, "facets": {"kind": {}, "tag": {}, "subject": {}},
            "total": 0, "total_exact": True}


# -- the read model ----------------------------------------------------------------------------

class LibrarySearch(ReadModel):
    candidates = CANDIDATES   # a test may lower it to see the cap at work

    def search(self, criteria: Any, limit: Any = 50, after: str | None = None
               ) -> dict[str, Any]:
        criteria = normalise(criteria)
        kind = cursor_kind(criteria)
        position = cursors.decode(kind, after, self.caller)
        limit = page_limit(limit)
        q = criteria.get("q")
        tree: str | None = None
        if q is not None:
            found = self.row("SELECT numnode(t) AS nodes, querytree(t) AS tree "
                             "FROM websearch_to_tsquery('english', %s) AS t", q)
            if found is None or found["nodes"] == 0 or found["tree"] == "T":
                return _empty()   # nothing to look for: stop words, operators, only -words
            tree = found["tree"]
        after_sql, after_params = self._after(q is not None, position)
        branches = visible_branches(self.caller, criteria.get("visibility"))
        if not branches:
            return _empty()
        filters, filter_params = _filters(criteria)
        cap = self.candidates
        parts, params = [], []
        # The first pass is the planner's: for a word that is everywhere it walks the
        # "newest" index testing rows (cheap: it stops at the cap), for a rare one it takes the
        # GIN index and sorts. A phrase is the exception: PostgreSQL estimates it as its words
        # apart, overestimates it, walks the index and tests most of the table (142 ms at
        # 100,000 entries); ``+ interval '0'`` keeps a phrase on the GIN index (51 ms).
        phrase = q is not None and tree is not None and "<" in tree
        newest = "v.created_at + interval '0'" if phrase else "v.created_at"
        for where, where_params in branches:
            parts.append("(SELECT v.id, v.created_at, v.kind, v.tags, v.subject, "
                         "v.search_vector FROM library_view v "
                         f"WHERE {where}{filters} "
                         f"ORDER BY {newest} DESC, v.id DESC LIMIT %s)")
            params += [*where_params, *filter_params, cap + 1]
        if q is not None:
            rank = f"ts_rank_cd(search_vector, websearch_to_tsquery('english', %s), " \
                   f"{RANK_NORMALISATION})"
            rank_params: list[Any] = [q]
            order = "rank DESC, id"
        else:
            rank, rank_params, order = "NULL::real", [], "created_at DESC, id DESC"
        sql = f"""
            WITH candidates AS MATERIALIZED (
                SELECT * FROM ({" UNION ALL ".join(parts)}) AS b
                ORDER BY created_at DESC, id DESC LIMIT %s),
            kept AS (SELECT * FROM candidates ORDER BY created_at DESC, id DESC LIMIT %s),
            ranked AS (SELECT id, created_at, {rank} AS rank FROM kept),
            page AS (SELECT id, created_at, rank FROM ranked WHERE true{after_sql}
                     ORDER BY {order} LIMIT %s)
            SELECT
                (SELECT count(*) FROM candidates) AS matched,
                (SELECT coalesce(json_agg(json_build_object(
                            'id', id, 'at', created_at, 'rank', rank) ORDER BY {order}),
                         '[]') FROM page) AS page,
                (SELECT coalesce(json_object_agg(kind, n ORDER BY n DESC, kind), '{{}}')
                   FROM (SELECT kind, count(*) AS n FROM kept GROUP BY kind) f) AS kinds,
                (SELECT coalesce(json_object_agg(tag, n ORDER BY n DESC, tag), '{{}}')
                   FROM (SELECT tag, count(*) AS n FROM kept, unnest(tags) AS tag
                         WHERE tag IS NOT NULL GROUP BY tag
                         ORDER BY n DESC, tag LIMIT {FACET_TAGS}) f) AS tags,
                (SELECT coalesce(json_object_agg(subject, n ORDER BY n DESC, subject), '{{}}')
                   FROM (SELECT subject, count(*) AS n FROM kept WHERE subject IS NOT NULL
                         GROUP BY subject) f) AS subjects
        """
        found = self.row(sql, *params, cap + 1, cap, *rank_params, *after_params, limit + 1)
        assert found is not None
        matched = int(found["matched"])
        page_rows = found["page"]
        items = self._entries([row["id"] for row in page_rows[:limit]], q)
        ranks = {row["id"]: row["rank"] for row in page_rows}
        for item in items:
            item["rank"] = ranks.get(item["id"])
        more = len(page_rows) > limit
        token = None
        if more:
            # The position of the last row the ranked page held, whether or not it was still
            # visible when its entry was read (one retired meanwhile leaves a gap, no repeat).
            last = page_rows[limit - 1]
            token = cursors.encode(kind, {"r": last["rank"], "id": last["id"]} if q is not None
                                   else {"at": last["at"], "id": last["id"]}, self.caller)
        return {"items": items, "next": token,
                "facets": {"kind": found["kinds"], "tag": found["tags"],
                           "subject": found["subjects"]},
                "total": min(matched, cap), "total_exact": matched <= cap}

    def _after(self, ranked: bool, position: dict[str, Any] | None
               ) -> tuple[str, list[Any]]:
        if position is None:
            return "", []
        try:
            if ranked:
                rank, last = float(position["r"]), str(position["id"])
                return (" AND (rank < %s::real OR (rank = %s::real AND id > %s))",
                        [rank, rank, last])
            return (" AND (created_at, id) < (%s::timestamptz, %s)",
                    [str(position["at"]), str(position["id"])])
        except (KeyError, TypeError, ValueError):
            raise cursors.refused() from None

    def _entries(self, ids: list[str], q: str | None) -> list[dict[str, Any]]:
        """The page's entries in ``ids``' order, highlighted (ts_headline on these alone)."""
        if not ids:
            return []
        visible, visible_params = visible_where(self.caller)
        if q is not None:
            headline = (
                "ts_headline('english', translate(v.title, %s, ''), t.query, %s) AS title_hl, "
                "ts_headline('english', translate(v.summary, %s, ''), t.query, %s) "
                "AS summary_hl")
            headline_params: list[Any] = [START + STOP, TITLE_HEADLINE, START + STOP,
                                          SUMMARY_HEADLINE]
            source = "library_view v, websearch_to_tsquery('english', %s) AS t(query)"
            source_params: list[Any] = [q]
        else:
            headline, headline_params = "NULL AS title_hl, NULL AS summary_hl", []
            source, source_params = "library_view v", []
        rows = self.rows(
            f"SELECT v.id, v.hub_id, v.kind, v.title, v.summary, v.link, v.tags, v.subject, "
            f"v.grade_band, v.problems, v.visibility, v.revision, v.rating_count, "
            f"v.rating_sum, v.created_at, v.updated_at, {headline} "
            f"FROM {source} WHERE v.id = ANY(%s::text[]) AND {visible}",
            *headline_params, *source_params, ids, *visible_params)
        by_id = {row["id"]: row for row in rows}
        items = []
        for entry_id in ids:
            row = by_id.get(entry_id)
            if row is None:
                continue   # retired or hidden since the first statement
            title_hl, summary_hl = row.pop("title_hl"), row.pop("summary_hl")
            count, total = row.pop("rating_count"), row.pop("rating_sum")
            row["rating"] = {"count": count,
                             "average": round(total / count, 2) if count else None}
            row["highlight"] = (None if q is None else
                                {"title": marked_html(title_hl),
                                 "summary": marked_html(summary_hl)})
            items.append(row)
        return items
