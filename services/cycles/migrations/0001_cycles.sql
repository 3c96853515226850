-- Hubs as the cycles service knows them, from membership's events.
CREATE TABLE hubs (
    id    text PRIMARY KEY,
    name  text NOT NULL
);

-- Members as the cycles service knows them, from membership's events (a consumer's state, not
-- a projection of this service's log): which hub, and whether their own pre-work is complete.
CREATE TABLE members (
    id             text PRIMARY KEY,
    hub_id         text NOT NULL,
    name           text NOT NULL,
    prework_ready  boolean NOT NULL DEFAULT false,
    missing        jsonb NOT NULL DEFAULT '[]',
    prework_version  integer NOT NULL DEFAULT 0,   -- the member stream version it came from
    active         boolean NOT NULL DEFAULT true
);
CREATE INDEX members_hub ON members (hub_id, id);

-- Read models (projections of this service's log; rebuildable).
CREATE TABLE problems_view (
    id                  text PRIMARY KEY,
    hub_id              text NOT NULL,
    title               text NOT NULL,
    statement           text NOT NULL,
    supporting_data     jsonb NOT NULL,
    selection_criteria  jsonb NOT NULL,
    status              text NOT NULL,
    ratified_on         date,
    version             integer NOT NULL
);
CREATE INDEX problems_view_hub ON problems_view (hub_id, id);

CREATE TABLE projects_view (
    id                text PRIMARY KEY,
    hub_id            text NOT NULL,
    member_id         text NOT NULL,
    problem_id        text NOT NULL,
    phase             text,
    goals             integer NOT NULL DEFAULT 0,
    cycles_started    integer NOT NULL DEFAULT 0,
    cycles_completed  integer NOT NULL DEFAULT 0,
    last_decision     text,
    version           integer NOT NULL
);
CREATE INDEX projects_view_hub ON projects_view (hub_id, member_id);
CREATE UNIQUE INDEX projects_view_member_problem ON projects_view (member_id, problem_id);

-- Which project a prototype, indicator, goal or test cycle belongs to (routes name them alone).
CREATE TABLE parts_view (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    project_id  text NOT NULL,
    hub_id      text NOT NULL
);

CREATE TABLE indicators_view (
    id            text PRIMARY KEY,
    project_id    text NOT NULL,
    prototype_id  text NOT NULL,
    hub_id        text NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL,
    unit          text NOT NULL,
    direction     text NOT NULL,
    baseline      double precision,
    target        double precision
);
CREATE INDEX indicators_view_project ON indicators_view (project_id);

CREATE TABLE measurements_view (
    position      bigint PRIMARY KEY,
    indicator_id  text NOT NULL,
    cycle_id      text NOT NULL,
    project_id    text NOT NULL,
    on_date       date NOT NULL,
    value         double precision NOT NULL,
    n             integer NOT NULL
);
CREATE INDEX measurements_view_indicator ON measurements_view (indicator_id, on_date, position);

CREATE TABLE shares_view (
    prototype_id  text NOT NULL,
    position      bigint PRIMARY KEY,
    hub_id        text NOT NULL,
    member_id     text NOT NULL,
    problem_id    text NOT NULL,
    name          text NOT NULL,
    summary       text NOT NULL,
    results       jsonb NOT NULL
);
CREATE INDEX shares_view_hub ON shares_view (hub_id, position);
