-- The event log of one service. Commit order is (tx_id, position): position alone is assigned
-- at insert and can commit out of order; see docs/decisions/001-log-ordering.md.
CREATE TABLE events (
    position        bigserial   PRIMARY KEY,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_type     text        NOT NULL,
    version         integer     NOT NULL CHECK (version > 0),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL DEFAULT 1,
    hub_id          text,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);
CREATE INDEX events_commit_order ON events (tx_id, position);

-- A command's idempotency key and the result of its first application.
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash text        NOT NULL,
    result       jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

-- Latest snapshot of a long stream; an optimisation only, always rebuildable from events.
CREATE TABLE snapshots (
    stream_id    text        PRIMARY KEY,
    stream_type  text        NOT NULL,
    version      integer     NOT NULL,
    state        jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

-- How far the relay and each projection have read the log.
CREATE TABLE checkpoints (
    name        text        PRIMARY KEY,
    tx_id       xid8        NOT NULL DEFAULT '0',
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events this service's consumers have handled, written in the same transaction as the effect.
CREATE TABLE inbox (
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    source      text        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on, parked for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id           bigserial   PRIMARY KEY,
    queue        text        NOT NULL,
    exchange     text        NOT NULL,
    routing_key  text        NOT NULL,
    body         text        NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}',
    reason       text        NOT NULL,
    event_id     text,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz,
    replays      integer     NOT NULL DEFAULT 0
);
CREATE INDEX dead_letters_waiting ON dead_letters (id) WHERE replayed_at IS NULL;
