"""Rebuilding read models beside the live ones, then swapping them in.

Readers are served from the current read model until the new one is complete; every event
committed before, during and after the rebuild ends up in the result; and no transaction of
ours is held for long (docs/decisions/006-a-stalled-log-is-visible.md says why that matters).

1. **Shadow tables.** Each table of the projections is created again, empty, in the schema
   ``consortium_rebuild`` (``LIKE … INCLUDING ALL``, with its row-level security and
   policies). The rebuild's connection puts that schema first on its ``search_path``, so the
   projections' own SQL (``INSERT INTO members_view …``) writes the shadows unchanged.
2. **Batches.** The log is replayed into the shadows in batches of 5,000 events, each in its
   own short transaction, below the tailing horizon as the projection runner reads it, until
   little is left.
3. **The swap**, one short transaction: lock the live tables (``ACCESS EXCLUSIVE``, with a
   lock timeout, retried: a long reader must not make every other reader queue behind us);
   apply what was committed since the last batch — for an inline projection every event the
   transaction sees (its commands wrote their rows into the live table, whatever the horizon
   says), for an asynchronous one only below the horizon (the runner goes on from the
   checkpoint); drop the live tables, move the shadows in, give their indexes the live ones'
   names (a refused write names its unique index), restore policies of other tables that
   referred to the old ones, save the checkpoints. A command that waited on the lock resolves
   the table's name again and writes its inline rows into the new table.

One rebuild at a time per service (an advisory lock); the live projection runner waits for the
swap on its checkpoint row.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.errors

from .db import connect
from .errors import Conflict
from .events import RecordedEvent
from .store import START, Cursor, EventStore

log = logging.getLogger("eventstore.rebuild")

SHADOW = "consortium_rebuild"
BATCH = 5000
# Left to apply under the lock at most; more than this is replayed in batches first.
SWAP_TAIL = 2000
SWAP_LOCK_TIMEOUT = "2s"
SWAP_ATTEMPTS = 20

@dataclass
class Table:
    name: str
    oid: int
    indexes: dict[str, str]          # definition (names left out) -> index name
    policies: list[str]              # CREATE POLICY statements of its own
    rls: bool
    force_rls: bool


def rebuild(database_url: str, store: EventStore, projections: list[Any],
            batch: int = BATCH,
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild ``projections`` from the whole log; the number of events replayed.
    ``progress(replayed)`` is told after each batch (an operator follows it)."""
    started = time.monotonic()
    conn = connect(database_url, autocommit=True, application_name="projections:rebuild")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext('projections-rebuild'))")
            if not cur.fetchone()[0]:
                raise Conflict("a rebuild of this service's projections is running already")
            tables = _describe(cur, [t for p in projections for t in p.tables])
            _create_shadows(cur, tables)
            cur.execute(f"SET search_path = {SHADOW}, public")
            cursor, count = START, 0
            while True:
                conn.autocommit = False
                done = _batch(cur, store, projections, cursor, batch)
                conn.commit()
                conn.autocommit = True
                if done:
                    cursor = done[-1].cursor
                    count += len(done)
                    if progress is not None:
                        progress(count)
                if len(done) < batch and store.count_after(cursor, SWAP_TAIL + 1, cur) <= \
                        SWAP_TAIL:
                    break
            count += _swap(conn, cur, store, projections, tables, cursor)
            cur.execute("SELECT pg_advisory_unlock(hashtext('projections-rebuild'))")
    finally:
        conn.close()
    log.info("rebuilt projections %s from %d events in %.1fs",
             ", ".join(p.name for p in projections), count, time.monotonic() - started)
    return count


def _batch(cur: Any, store: EventStore, projections: list[Any], cursor: Cursor,
           size: int) -> list[RecordedEvent]:
    events = store.read_all(cursor, size, cur)
    for projection in projections:
        projection.apply_batch(cur, events)
    return events


def _swap(conn: Any, cur: Any, store: EventStore, projections: list[Any],
          tables: list[Table], cursor: Cursor) -> int:
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        conn.autocommit = False
        try:
            cur.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            for projection in projections:
                store.checkpoint(projection.checkpoint_name, cur, lock=True)
            cur.execute("LOCK TABLE " + ", ".join(f"public.{t.name}" for t in tables)
                        + " IN ACCESS EXCLUSIVE MODE")
            applied = _apply_tail(cur, store, projections, cursor)
            _move_in(cur, tables)
            conn.commit()
            return applied
        except psycopg2.errors.LockNotAvailable:
            conn.rollback()
            log.info("rebuild: the live tables are busy (attempt %d); catching up again",
                     attempt)
            conn.autocommit = True
            while done := _batch(cur, store, projections, cursor, BATCH):
                cursor = done[-1].cursor
            continue
        finally:
            conn.autocommit = True
    raise Conflict("the live read models stayed busy; the rebuild gave up and left them as "
                   "they were")


def _apply_tail(cur: Any, store: EventStore, projections: list[Any], cursor: Cursor) -> int:
    """What was committed since the last batch: all of it for inline projections, the part
    below the horizon for asynchronous ones (the runner goes on from their checkpoint)."""
    committed = store.read_committed_after(cursor, cur)
    events = [event for event, _ in committed]
    below = [event for event, settled_ in committed if settled_]
    settled = below[-1].cursor if below else cursor
    for projection in projections:
        if projection.inline:
            projection.apply_batch(cur, events)
            store.save_checkpoint(projection.checkpoint_name,
                                  events[-1].cursor if events else cursor, cur)
        else:
            # Below the horizon, no event can yet commit behind the checkpoint.
            projection.apply_batch(cur, below)
            store.save_checkpoint(projection.checkpoint_name, settled, cur)
    return len(events)


def _describe(cur: Any, names: list[str]) -> list[Table]:
    tables = []
    for name in names:
        cur.execute("""SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity
                       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relname = %s""", (name,))
        row = cur.fetchone()
        if row is None:
            raise ValueError(f"no table {name} to rebuild")
        oid, rls, force = row
        cur.execute("""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
                       FROM pg_index WHERE indrelid = %s""", (oid,))
        indexes = {_shape(definition, name): index for index, definition in cur.fetchall()}
        tables.append(Table(name, oid, indexes, _policies(cur, f"c.oid = {int(oid)}"),
                            rls, force))
    return tables


def _policies(cur: Any, where: str) -> list[str]:
    """CREATE POLICY statements for the policies on the tables ``where`` selects."""
    cur.execute(f"""SELECT p.polname, c.relname, p.polpermissive, p.polcmd,
                           pg_get_expr(p.polqual, p.polrelid),
                           pg_get_expr(p.polwithcheck, p.polrelid),
                           ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(p.polroles))
                    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                    WHERE {where}""")
    commands = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
    statements = []
    for name, table, permissive, command, using, check, roles in cur.fetchall():
        statement = (f'CREATE POLICY "{name}" ON {table} AS '
                     f'{"PERMISSIVE" if permissive else "RESTRICTIVE"} FOR {commands[command]}'
                     f' TO {", ".join(roles) if roles else "PUBLIC"}')
        if using:
            statement += f" USING ({using})"
        if check:
            statement += f" WITH CHECK ({check})"
        statements.append(statement)
    return statements


def _shape(definition: str, table: str) -> str:
    """An index definition with its own name and schema left out, to pair twins."""
    definition = re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON ", r"CREATE \1INDEX ON ", definition)
    return re.sub(rf"\b(public|{SHADOW})\.{re.escape(table)}\b", table, definition)


def _create_shadows(cur: Any, tables: list[Table]) -> None:
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW}")
    for table in tables:   # what a rebuild that died left behind
        cur.execute(f"DROP TABLE IF EXISTS {SHADOW}.{table.name}")
    for table in tables:
        cur.execute(f"CREATE TABLE {SHADOW}.{table.name} (LIKE public.{table.name} "
                    "INCLUDING ALL)")
        if table.rls:
            cur.execute(f"ALTER TABLE {SHADOW}.{table.name} ENABLE ROW LEVEL SECURITY")
        if table.force_rls:
            cur.execute(f"ALTER TABLE {SHADOW}.{table.name} FORCE ROW LEVEL SECURITY")
    # Policies last, with the shadows first on the path: a policy that names another table
    # being rebuilt refers to its shadow, which becomes the live one with it.
    cur.execute(f"SET search_path = {SHADOW}, public")
    for table in tables:
        for statement in table.policies:
            cur.execute(statement.replace(f" ON {table.name} ", f" ON {SHADOW}.{table.name} ",
                                          1))
    cur.execute("SET search_path = public")


def _move_in(cur: Any, tables: list[Table]) -> None:
    oids = ", ".join(str(int(t.oid)) for t in tables)
    # Policies of other tables (personal data, a consumer's state) that look into a table being
    # replaced: kept as text, dropped with it, made again on the new one.
    cur.execute("SET LOCAL search_path = public")
    cur.execute(f"""SELECT DISTINCT p.oid FROM pg_policy p
                    JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid IN ({oids})
                    AND p.polrelid NOT IN ({oids})""")
    dependent = [oid for (oid,) in cur.fetchall()]
    restore = _policies(cur, f"p.oid IN ({', '.join(map(str, dependent))})") if dependent \
        else []
    if dependent:
        cur.execute(f"""SELECT p.polname, c.relname FROM pg_policy p
                        JOIN pg_class c ON c.oid = p.polrelid
                        WHERE p.oid IN ({', '.join(map(str, dependent))})""")
        for name, table in cur.fetchall():
            cur.execute(f'DROP POLICY "{name}" ON {table}')
    # In one statement: the old tables' policies may refer to each other.
    cur.execute("DROP TABLE " + ", ".join(f"public.{t.name}" for t in tables))
    for table in tables:
        cur.execute(f"ALTER TABLE {SHADOW}.{table.name} SET SCHEMA public")
        cur.execute("""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
                       FROM pg_index WHERE indrelid = %s::regclass""",
                    (f"public.{table.name}",))
        for index, definition in cur.fetchall():
            wanted = table.indexes.get(_shape(definition, table.name))
            if wanted and wanted != index:
                cur.execute(f'ALTER INDEX {index} RENAME TO "{wanted}"')
    for statement in restore:
        cur.execute(statement)
