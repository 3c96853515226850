"""Ordered, recorded, idempotent schema migrations.

The kernel's own tables (``eventstore/schema``) come first, then the tables of the modules the
service includes (``Migrations``: the membership directory, services/membership/directory),
then the service's ``migrations/NNNN_name.sql`` files, so a service's migration may move its
rows into an included module's tables. Each file runs once, in its own transaction, and is
recorded with a checksum under its scope; editing an applied file is refused rather than
silently ignored.
"""

from __future__ import annotations

import hashlib
import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .db import connect
from .errors import ConsortiumError

KERNEL_SCHEMA = Path(__file__).parent / "schema"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Migrations:
    """The tables a module brings into every service that includes it: a base class of the
    service declares them as ``included_migrations``. ``scope`` names them in
    ``schema_migrations`` (one scope per module, whichever services include it), ``folder``
    holds their ``NNNN_name.sql`` files."""

    scope: str
    folder: Path


def included_in(service_cls: type) -> list[Migrations]:
    """The migrations of the modules a service class includes, the furthest base first."""
    found: list[Migrations] = []
    for cls in reversed(service_cls.__mro__):
        declared = vars(cls).get("included_migrations")
        if isinstance(declared, Migrations) and declared not in found:
            found.append(declared)
    return found


def included_by(service_migrations: Path) -> list[Migrations]:
    """The migrations of the modules included by the service whose migrations folder this is
    (found through the service classes of its ``service.py``): tools that name a service by
    its folder (``make up``, the operator CLI, benchmarks) apply what the service's kernel
    applies, in the same order."""
    service_py = service_migrations.resolve().parent / "service.py"
    try:
        module = ".".join(service_py.relative_to(ROOT).with_suffix("").parts)
    except ValueError:
        return []
    if not service_py.is_file():
        return []
    with warnings.catch_warnings():   # eventlet announces its own deprecation on import
        warnings.simplefilter("ignore")
        classes = vars(importlib.import_module(module)).values()
    found: list[Migrations] = []
    for cls in classes:
        if isinstance(cls, type) and cls.__module__ == module:
            found += [m for m in included_in(cls) if m not in found]
    return found


class MigrationError(ConsortiumError):
    title = "Migration refused"


def migration_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.sql") if p.name[:4].isdigit())


def migrate(database_url: str, service_migrations: Path | None = None,
            included: Sequence[Migrations] | None = None) -> list[str]:
    """Apply what is missing; return the names applied now. Safe to run concurrently.
    ``included``: the migrations of the modules the service includes (``included_in``); found
    from the service's folder when not given."""
    if included is None:
        included = included_by(service_migrations) if service_migrations is not None else []
    scopes = [("eventstore", KERNEL_SCHEMA)]
    scopes += [(part.scope, part.folder) for part in included]
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
