-- A member may withdraw a shared prototype (cycles' PrototypeUnshared): every revision of it
-- leaves shared_prototypes. Cycles' news arrives on one queue per event type, so a withdrawal
-- may be handled before the share it withdraws: each share keeps the version of the project's
-- stream that recorded it, and each withdrawal the version that recorded it; a share older
-- than the prototype's last withdrawal is not kept, whichever came first. A share recorded
-- after the withdrawal (shared again) is kept. Ids and versions only: no row-level security,
-- as shared_prototypes.
ALTER TABLE shared_prototypes ADD COLUMN stream_version integer NOT NULL DEFAULT 0;

CREATE TABLE prototypes_withdrawn (
    prototype_id    text PRIMARY KEY,
    stream_version  integer NOT NULL
);
