-- The shared library as the resources service reads it: one row per library entry, kept by a
-- projection of the service's own log (rebuildable), searched by services/resources/
-- library_search.py.
--
-- Visibility, and why this table has no row-level security (DESIGN.md §5; issue 17, "Measured
-- before filing"). Every other read model of the service carries `consortium_scope_by_hub`.
-- This one does not, on purpose: with row-level security on, PostgreSQL evaluates the policy
-- before any qualifier that is not leakproof, and `tsvector @@ tsquery` is not leakproof, so
-- the full-text qualifier can never be an index condition and every search becomes a scan of
-- the hub's rows (measured: 466 ms instead of 32 ms at 100,000 entries). Marking the operator
-- leakproof needs a superuser and would be a lie we cannot check; a SECURITY DEFINER path needs
-- a role with BYPASSRLS that the platform does not provision. So instead:
--   * every query of this table states who may see a row in its own WHERE, built in one place
--     (library_search.visible_branches): a caller sees its own hubs' entries of any
--     visibility, every hub's 'consortium' and 'public' entries, and never a retired entry;
--     the shared rows are named by an allow-list (visibility IN ('consortium', 'public')), so
--     a value this file did not foresee is hidden, not shared;
--   * the query is split by visibility into branches (shared entries; each of the caller's
--     hubs' hub-only entries), each matching a partial index below, so a search never reads a
--     row of another hub's hub-only entries, and its cost does not depend on them (beyond GIN
--     posting lists of the hub-only index, which the hub key skips through);
--   * tests/integration/test_resources_search.py compares, for every filter combination, what
--     a hub sees with what it would see if the other hubs' hub-only entries did not exist
--     (results, totals, facets, highlights).
-- btree_gin: the text columns (hub, kind, subject, grade band) join the words and the arrays
-- in one multicolumn GIN index per branch, so a filter narrows the index scan itself. It is a
-- trusted extension: the service's own role may create it.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- array_to_string is only STABLE (it calls the element type's output function); for text[]
-- it is immutable, which a generated column needs.
CREATE FUNCTION library_tags_text(tags text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE library_view (
    id            text PRIMARY KEY,
    hub_id        text NOT NULL,                      -- the owner hub
    kind          text NOT NULL,                      -- research, toolkit, literature_review, ...
    title         text NOT NULL,
    summary       text NOT NULL DEFAULT '',
    link          text,
    tags          text[] NOT NULL DEFAULT '{}',
    subject       text,
    grade_band    text,
    problems      text[] NOT NULL DEFAULT '{}',       -- problem-of-practice ids it serves
    visibility    text NOT NULL CHECK (visibility IN ('hub', 'consortium', 'public')),
    retired       boolean NOT NULL DEFAULT false,
    revision      integer NOT NULL DEFAULT 1,
    rating_count  integer NOT NULL DEFAULT 0,
    rating_sum    integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- Title above summary above tags ('english': stems, drops stop words).
    search_vector tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', title), 'A')
                      || setweight(to_tsvector('english', summary), 'B')
                      || setweight(to_tsvector('english', coalesce(library_tags_text(tags), '')),
                                   'C')) STORED
);

-- Words and filters of the shared entries (every hub's 'consortium' and 'public' ones).
CREATE INDEX library_view_shared_search ON library_view
    USING gin (search_vector, tags, problems, kind, subject, grade_band)
    WHERE visibility IN ('consortium', 'public') AND NOT retired;
-- Words and filters of hub-only entries, by hub: a search names its own hubs' keys.
CREATE INDEX library_view_hub_search ON library_view
    USING gin (hub_id, search_vector, tags, problems, kind, subject, grade_band)
    WHERE visibility = 'hub' AND NOT retired;
-- Newest first (a list without words, and the first pass of a search: see library_search).
CREATE INDEX library_view_shared_newest ON library_view (created_at DESC, id DESC)
    WHERE visibility IN ('consortium', 'public') AND NOT retired;
CREATE INDEX library_view_hub_newest ON library_view (hub_id, created_at DESC, id DESC)
    WHERE visibility = 'hub' AND NOT retired;
-- A hub's own library, retired entries included (its facilitators' lists).
CREATE INDEX library_view_hub ON library_view (hub_id, id);
