-- What operators did (issue 19): every action through the operator routes or the CLI, who,
-- what, when and how it ended; and the projection rebuilds they started, with their progress.
CREATE TABLE operator_actions (
    id      bigserial   PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    role    text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL,
    outcome text        NOT NULL,
    detail  text        NOT NULL DEFAULT ''
);

CREATE TABLE projection_rebuilds (
    id          bigserial   PRIMARY KEY,
    projections text[]      NOT NULL,
    started_by  text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running',
    replayed    bigint      NOT NULL DEFAULT 0,
    total       bigint      NOT NULL DEFAULT 0,
    error       text
);
