-- Membership's directory in a service that includes it (services/membership/directory): what
-- membership's news told the service of hubs, members and people's roles. A consumer's state,
-- not a projection of the service's own log; ids only, never a person's name or email.
CREATE TABLE directory_hubs (
    id             text PRIMARY KEY,
    name           text,                       -- NULL until HubRegistered arrives: unknown
    state          text,
    time_zone      text,                       -- IANA: the zone the hub plans in
    stage          text,
    stage_version  integer NOT NULL DEFAULT 0  -- the hub stream's version the stage came from
);

CREATE TABLE directory_members (
    id               text PRIMARY KEY,
    hub_id           text NOT NULL,
    name             text,                     -- NULL until MemberEnrolled arrives: unknown
    kind             text,
    grade_span       text,
    enrollment       integer,
    status           text NOT NULL DEFAULT 'active',
    prework_ready    boolean NOT NULL DEFAULT false,
    prework_missing  jsonb NOT NULL DEFAULT '[]',
    prework_version  integer NOT NULL DEFAULT 0  -- the member stream's version it came from
);
CREATE INDEX directory_members_hub ON directory_members (hub_id, id);

-- People's roles at members, held or ended (an ended role is kept: older news of it, arriving
-- late, must not bring it back).
CREATE TABLE directory_roles (
    member_id   text NOT NULL,
    person_id   text NOT NULL,
    role        text NOT NULL,
    hub_id      text NOT NULL,
    represents  text,
    held        boolean NOT NULL,
    version     integer NOT NULL,              -- the member stream's version of the newest news
    PRIMARY KEY (member_id, person_id, role)
);
CREATE INDEX directory_roles_hub ON directory_roles (hub_id, role) WHERE held;

-- Visible only within the reading caller's hubs (eventstore/schema/0002).
SELECT consortium_scope_by_hub('directory_hubs', 'id');
SELECT consortium_scope_by_hub('directory_members', 'hub_id');
SELECT consortium_scope_by_hub('directory_roles', 'hub_id');

-- A new directory learns membership's whole past: the service's next catch-up reads
-- membership's log from the beginning (events its consumers handled before, the inbox skips).
DELETE FROM checkpoints WHERE name = 'catch-up:membership';
