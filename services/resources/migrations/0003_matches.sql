-- Matches for a problem of practice and what worked elsewhere (issue 17; decision 008).

-- Problems of practice as cycles' news told resources (ProblemDrafted, ProblemRatified): a
-- consumer's state, not a projection of resources' own log. A problem is its hub's: readable
-- by its hub's people only (another hub's problem answers as an unknown one). title and
-- statement are NULL until ProblemDrafted arrives (a ratification may come first): unknown.
CREATE TABLE problems_known (
    id         text PRIMARY KEY,
    hub_id     text NOT NULL,
    title      text,
    statement  text,
    ratified   boolean NOT NULL DEFAULT false
);
SELECT consortium_scope_by_hub('problems_known', 'hub_id');

-- Prototypes members shared with the network (cycles' PrototypeShared), once per revision:
-- shared, so every hub of the deployment finds them (as experts_view, no row-level security
-- by hub, which would hide them from the hubs they are shared with; every query of the table
-- is a read of shared rows only). Nothing else of a hub's work is here. `results` are kept as
-- other hubs see them: every count of a group under 11 already suppressed (NULL) when the
-- news was received (domain/matching.shareable_results). `shared_by` is who shared it in
-- words (the member's and its hub's names as membership's directory knew them then, or their
-- ids); `problem_title` the title of the problem of practice it was tested on.
CREATE TABLE shared_prototypes (
    prototype_id   text NOT NULL,
    revision       integer NOT NULL,
    hub_id         text NOT NULL,
    member_id      text NOT NULL,
    problem_id     text NOT NULL,
    problem_title  text,
    name           text NOT NULL,
    summary        text NOT NULL,
    results        jsonb NOT NULL,
    shared_by      text NOT NULL,
    shared_at      timestamptz NOT NULL,
    search_vector  tsvector GENERATED ALWAYS AS (
                       setweight(to_tsvector('english', name), 'A')
                       || setweight(to_tsvector('english', summary), 'B')
                       || setweight(to_tsvector('english', coalesce(problem_title, '')), 'C')
                       || setweight(jsonb_to_tsvector('english', results, '["string"]'), 'D'))
                       STORED,
    PRIMARY KEY (prototype_id, revision)
);
CREATE INDEX shared_prototypes_search ON shared_prototypes USING gin (search_vector);
CREATE INDEX shared_prototypes_newest ON shared_prototypes (shared_at DESC, prototype_id DESC);
CREATE INDEX shared_prototypes_problem ON shared_prototypes (problem_id);

-- Which hubs confirmed an engagement of an expert (a projection of engagements): read only as
-- a count per expert ("engaged by 2 hubs on similar problems"), never as hub ids, so it has no
-- row-level security; engagement_hubs, with each hub's part of the cost, keeps its own.
CREATE TABLE expert_engaged_hubs (
    expert_id  text NOT NULL,
    hub_id     text NOT NULL,
    PRIMARY KEY (expert_id, hub_id)
);
