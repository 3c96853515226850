-- Every revision of a library entry, readable by whoever may read the entry (its history).
-- No row-level security of its own: an entry's revisions are read only after the entry itself
-- was found visible (library_search.visible_where), as library_view's rows are.
CREATE TABLE library_revisions (
    resource_id  text NOT NULL,
    revision     integer NOT NULL,
    hub_id       text NOT NULL,
    content      jsonb NOT NULL,     -- title, summary, link, tags, subject, grade band, ...
    note         text,
    revised_at   timestamptz NOT NULL,
    PRIMARY KEY (resource_id, revision)
);

-- The consortium's pool of experts: every hub of the deployment sees the pool (it is shared by
-- design, DESIGN.md §5); which hubs may engage an expert is the sharing. Row-level security by
-- the owner hub would hide the pool from the hubs it is for, so the table has none and every
-- query names what a caller may see (the read model); the personal data (name, email, phone)
-- is in experts_pii.
CREATE TABLE experts_view (
    id                 text PRIMARY KEY,
    hub_id             text NOT NULL,                -- the hub that added the expert
    organisation       text NOT NULL,
    bio                text NOT NULL,
    expertise          text[] NOT NULL,
    rate_cents         bigint NOT NULL,
    languages          text[] NOT NULL,
    travels            boolean NOT NULL,
    travel_cost_cents  bigint NOT NULL,
    sharing            text NOT NULL,                -- consortium | hubs
    hubs               text[] NOT NULL,              -- when shared with named hubs
    retired            boolean NOT NULL DEFAULT false,
    erased             boolean NOT NULL DEFAULT false,
    -- Engagements not closed: what a hub that takes no part learns of them (that the expert
    -- is engaged; never by whom or for what).
    open_engagements   integer NOT NULL DEFAULT 0,
    version            integer NOT NULL
);
CREATE INDEX experts_view_expertise ON experts_view USING gin (expertise);

-- An expert's name and contact data: personal data (eventstore/personal.py), erased with the
-- expert. Read only by the read model, which shows the name to every hub and the contact data
-- to the facilitators of the hubs the expert may serve.
CREATE TABLE experts_pii (
    expert_id  text PRIMARY KEY,
    name       text NOT NULL,
    email      text,
    phone      text
);

-- Engagements. A hub sees only its own part of an engagement it shares: the engagement's
-- row through the hubs taking part (engagement_hubs, scoped by hub), its own members' shares.
CREATE TABLE engagements_view (
    id                 text PRIMARY KEY,
    hub_id             text NOT NULL,                -- the proposing hub
    expert_id          text NOT NULL,
    status             text NOT NULL,                -- proposed | confirmed | closed
    sessions           integer NOT NULL,
    sessions_used      integer NOT NULL DEFAULT 0,
    split              text NOT NULL,                -- equal | enrollment
    rate_cents         bigint NOT NULL,
    travel_cost_cents  bigint NOT NULL,
    total_cents        bigint NOT NULL,
    hub_count          integer NOT NULL,
    version            integer NOT NULL
);
CREATE INDEX engagements_view_expert ON engagements_view (expert_id) WHERE status <> 'closed';

CREATE TABLE engagement_hubs (
    engagement_id  text NOT NULL,
    hub_id         text NOT NULL,
    share_cents    bigint NOT NULL,
    alone_cents    bigint NOT NULL,
    saving_cents   bigint NOT NULL,
    PRIMARY KEY (engagement_id, hub_id)
);
SELECT consortium_scope_by_hub('engagement_hubs', 'hub_id');
-- The engagement's row: seen by a transaction reading for a hub that takes part.
SELECT consortium_scope_by_hub('engagements_view',
    '(SELECT h.hub_id FROM engagement_hubs h WHERE h.engagement_id = engagements_view.id '
    'AND consortium_may_see(h.hub_id) LIMIT 1)');

CREATE TABLE engagement_members (
    engagement_id  text NOT NULL,
    member_id      text NOT NULL,
    hub_id         text NOT NULL,
    enrollment     integer NOT NULL,
    share_cents    bigint NOT NULL,
    PRIMARY KEY (engagement_id, member_id)
);
CREATE INDEX engagement_members_hub ON engagement_members (hub_id, engagement_id);
SELECT consortium_scope_by_hub('engagement_members', 'hub_id');
