-- Secret links (eventstore/links.py): what a secret in a URL opens without a bearer token (a
-- calendar feed). One secret per (kind, object, hub); issuing another replaces it, so the one
-- before stops working. Only the secret's SHA-256 is kept: this table, a backup or a log of it
-- opens nothing. No row-level security: a secret is looked up before anyone's hub is known,
-- and the lookup is by the whole hash.
CREATE TABLE secret_links (
    kind           text        NOT NULL,
    object_id      text        NOT NULL,
    hub_id         text        NOT NULL,
    secret_sha256  bytea       NOT NULL CHECK (length(secret_sha256) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, object_id, hub_id),
    CONSTRAINT secret_links_secret UNIQUE (secret_sha256)
);
