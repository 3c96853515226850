-- Scheduling's read model (issue 18; docs/decisions/009-scheduling.md).

-- Meetings as planned: a local start in an IANA zone, minutes, an RRULE for a series, and the
-- exceptions of a series (occurrence key -> moved or cancelled). Occurrences are expanded from
-- these when read (services/scheduling/domain/recurrence.py). first_start and last_end bound
-- every occurrence's original time, so a window's meetings are found by index.
CREATE TABLE meetings_view (
    id              text PRIMARY KEY,
    hub_id          text NOT NULL,
    kind            text NOT NULL,
    title           text NOT NULL,
    time_zone       text NOT NULL,
    starts_at       text NOT NULL,          -- local, YYYY-MM-DDTHH:MM
    minutes         integer NOT NULL,
    rrule           text,
    members         text[],                 -- NULL: every member of the hub
    roles           text[] NOT NULL,
    location        text,
    host_member_id  text,
    expert_id       text,
    engagement_id   text,
    recording_link  text,
    status          text NOT NULL,          -- scheduled | cancelled
    session         text,                   -- an expert session: requested | confirmed | released
    session_number  integer,
    reason          text,
    sequence        integer NOT NULL,
    exceptions      jsonb NOT NULL DEFAULT '{}',
    first_start     timestamptz NOT NULL,
    last_end        timestamptz NOT NULL,
    continued_by    text,
    created_at      timestamptz NOT NULL,
    version         integer NOT NULL
);
CREATE INDEX meetings_view_window ON meetings_view (hub_id, first_start, last_end);
SELECT consortium_scope_by_hub('meetings_view', 'hub_id');

-- Who answered, came and what they thought, per occurrence (ids only: names are membership's).
CREATE TABLE meeting_responses (
    meeting_id  text NOT NULL,
    occurrence  text NOT NULL,
    person_id   text NOT NULL,
    hub_id      text NOT NULL,
    answer      text,
    attended    boolean NOT NULL DEFAULT false,
    stars       integer,
    comment     text,
    starts_at   timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, occurrence, person_id)
);
CREATE INDEX meeting_responses_by_hub ON meeting_responses (hub_id, starts_at);
SELECT consortium_scope_by_hub('meeting_responses', 'hub_id');

-- Days a member cannot meet, in its hub's zone.
CREATE TABLE blackouts_view (
    id          text PRIMARY KEY,
    hub_id      text NOT NULL,
    member_id   text NOT NULL,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    reason      text NOT NULL,
    withdrawn   boolean NOT NULL DEFAULT false,
    version     integer NOT NULL
);
CREATE INDEX blackouts_view_by_member ON blackouts_view (member_id, starts_on);
SELECT consortium_scope_by_hub('blackouts_view', 'hub_id');

-- One calendar per shared expert, across every hub: the times an expert session holds (while
-- requested or confirmed) and the times the expert is unavailable. The constraint refuses a
-- second hold of the same time even when two hubs book at once: the later insert waits for the
-- earlier and fails when it commits (23P01: a 409 naming the busy time, never the other hub).
-- btree_gist is a trusted extension: the service's own role creates it.
-- No row-level security: every hub must see that an expert is busy, and the constraint must
-- see every hold. The read model answers only `during` from it, never the hub or the meeting.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE expert_slots (
    slot_id    text PRIMARY KEY,            -- a meeting's id, or an unavailability's
    expert_id  text NOT NULL,
    hub_id     text NOT NULL,
    during     tstzrange NOT NULL,
    CONSTRAINT expert_slots_expert_free EXCLUDE USING gist (expert_id WITH =, during WITH &&)
);

-- Which hub added each expert (resources' ExpertAdded): that hub keeps the expert's calendar.
CREATE TABLE experts_known (
    id      text PRIMARY KEY,
    hub_id  text NOT NULL
);
