"""Databases and roles: one of each per service, created if missing (idempotent)."""

from __future__ import annotations

import time

import psycopg2.errors
from psycopg2 import sql

from .config import admin_database_url
from .db import connect


def ensure_database(name: str, owner: str, password: str, admin_url: str | None = None,
                    template: str | None = None, reset_password: bool = False) -> None:
    """Create the role and database if missing. ``reset_password`` also sets the password of
    an existing role (provisioning does; tests sharing a role must not race on it)."""
    conn = connect(admin_url or admin_database_url(), application_name="provision")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(
                    sql.Identifier(owner)), (password,))
            elif reset_password:
                cur.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD %s").format(
                    sql.Identifier(owner)), (password,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                # The admin must be a member of the owner role to hand it a database.
                cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)))
                statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner))
                if template:
                    statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                cur.execute(statement)
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(name)))
    finally:
        conn.close()


def drop_database(name: str, admin_url: str | None = None, attempts: int = 10) -> None:
    """Drop a database whatever still uses it, as the provisioning role may.

    ``WITH (FORCE)`` would also have to end PostgreSQL's own autovacuum workers, which only a
    superuser may (and a stock PostgreSQL runs them): instead, end the sessions of the
    database's own role (the provisioning role is a member of it), then a plain DROP, which
    asks autovacuum to leave and waits a few seconds for it; tried again while anything is
    still connected."""
    conn = connect(admin_url or admin_database_url(), application_name="provision")
    try:
        with conn.cursor() as cur:
            for attempt in range(1, attempts + 1):
                cur.execute("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                               WHERE datname = %s AND pid <> pg_backend_pid()
                               AND backend_type = 'client backend'
                               AND pg_has_role(usesysid, 'MEMBER')""", (name,))
                try:
                    cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(
                        sql.Identifier(name)))
                    return
                except psycopg2.errors.ObjectInUse:
                    if attempt == attempts:
                        raise
                    time.sleep(0.5 * attempt)
    finally:
        conn.close()
