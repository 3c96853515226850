-- Read models (inline projections of the log; rebuildable) and the one mutable table of PII.
CREATE TABLE hubs_view (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    state            text NOT NULL,
    county_code      text,
    stage            text NOT NULL,
    facilitator_org  text NOT NULL,
    version          integer NOT NULL
);
CREATE TABLE members_view (
    id           text PRIMARY KEY,
    hub_id       text NOT NULL,
    name         text NOT NULL,
    kind         text NOT NULL,
    grade_span   text NOT NULL,
    enrollment   integer NOT NULL,
    cds_code     text,
    nces_id      text,
    status       text NOT NULL,
    onboarded    boolean NOT NULL DEFAULT false,
    version      integer NOT NULL
);
CREATE INDEX members_view_hub ON members_view (hub_id, id);
CREATE TABLE people_view (
    id      text PRIMARY KEY,
    hub_id  text NOT NULL,
    erased  boolean NOT NULL DEFAULT false
);
-- Names and emails of adults: never in events, so erasure is a DELETE here (DESIGN.md §5).
CREATE TABLE people_pii (
    person_id  text PRIMARY KEY,
    name       text NOT NULL,
    email      text
);
