"""Ordered, recorded, idempotent schema migrations.

The kernel's own tables (``eventstore/schema``) come first, then the service's
``migrations/NNNN_name.sql`` files. Each file runs once, in its own transaction, and is recorded
with a checksum; editing an applied file is refused rather than silently ignored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .db import connect
from .errors import ConsortiumError

KERNEL_SCHEMA = Path(__file__).parent / "schema"


class MigrationError(ConsortiumError):
    title = "Migration refused"


def migration_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.sql") if p.name[:4].isdigit())


def migrate(database_url: str, service_migrations: Path | None = None) -> list[str]:
    """Apply what is missing; return the names applied now. Safe to run concurrently."""
    scopes = [("eventstore", KERNEL_SCHEMA)]
    if service_migrations is not None and service_migrations.is_dir():
        scopes.append(("service", service_migrations))
    applied_now: list[str] = []
    conn = connect(database_url, autocommit=False, application_name="migrate")
    try:
        with conn.cursor() as cur:
            # Serialises concurrent migrators (two replicas starting at once).
            cur.execute("SELECT pg_advisory_lock(hashtext('schema_migrations'))")
            cur.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    scope text NOT NULL, name text NOT NULL, checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, name))
            """)
            conn.commit()
            for scope, folder in scopes:
                cur.execute("SELECT name, checksum FROM schema_migrations WHERE scope = %s",
                            (scope,))
                done = dict(cur.fetchall())
                for path in migration_files(folder):
                    sql = path.read_text()
                    checksum = hashlib.sha256(sql.encode()).hexdigest()
                    if path.name in done:
                        if done[path.name] != checksum:
                            raise MigrationError(
                                f"{scope}/{path.name} changed after it was applied; "
                                "add a new migration instead")
                        continue
                    cur.execute(sql)
                    cur.execute(
                        "INSERT INTO schema_migrations (scope, name, checksum) VALUES (%s,%s,%s)",
                        (scope, path.name, checksum))
                    conn.commit()
                    applied_now.append(f"{scope}/{path.name}")
            cur.execute("SELECT pg_advisory_unlock(hashtext('schema_migrations'))")
            conn.commit()
    finally:
        conn.close()
    return applied_now
