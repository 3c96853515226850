"""The event store: one PostgreSQL table per service, and all of the SQL that touches it.

Guarantees (each tested against a real PostgreSQL in tests/integration/test_store.py):

1. Optimistic concurrency. ``append`` writes the events of one call atomically with versions
   ``expected_version + 1 ...``, and refuses with ``WrongExpectedVersion`` when the stream is not
   at ``expected_version``.
2. A tailing reader never skips an event. ``read_all`` orders by (tx_id, position) and only
   returns events of transactions older than every transaction still in flight, so an event that
   commits late can never appear behind a cursor that has passed it.
   See docs/decisions/001-log-ordering.md.
3. Idempotent appends. An append with an idempotency key that was applied before returns the
   first result and appends nothing.
4. Streams load by the (stream_id, version) index, from the latest snapshot when there is one.
5. Old event versions are upcast on read.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.errors

from . import metrics
from .db import Database
from .errors import (
    IdempotencyKeyReused,
    InvalidEvent,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from .events import NewEvent, RecordedEvent, Upcasters

Cursor = tuple[int, int]
START: Cursor = (0, 0)
# The fingerprint of a key whose request held personal data since erased: equal to no
# fingerprint (a sha256 in hex), it matches any request under the key.
ERASED_REQUEST = "erased"

# The cast column must not be named tx_id: ORDER BY tx_id would then sort by the cast, not use
# the (tx_id, position) index, and every page would scan the whole log.
_COLUMNS = ("position, tx_id::text::bigint AS tx, event_id::text, stream_id, stream_type, version, "
            "type, schema_version, hub_id, data, metadata, recorded_at")

# Events of transactions that are still running, or that started before one that is, are held
# back: they could still be joined by an event with a lower (tx_id, position).
_VISIBLE = "tx_id < pg_snapshot_xmin(pg_current_snapshot())"

_READ_ALL = f"""
    SELECT {_COLUMNS} FROM events
    WHERE (tx_id, position) > (%s::text::xid8, %s) AND {_VISIBLE}
    ORDER BY tx_id, position LIMIT %s
"""

_READ_COMMITTED = f"""
    SELECT {_COLUMNS}, {_VISIBLE} AS below FROM events
    WHERE (tx_id, position) > (%s::text::xid8, %s)
    ORDER BY tx_id, position
"""

# Committed (visible) but at or above the horizon: no reader tailing the log gets them yet.
_HELD_BACK = f"""
    SELECT count(*), extract(epoch FROM clock_timestamp() - min(recorded_at))
    FROM events WHERE NOT ({_VISIBLE})
"""

_READ_STREAM = f"""
    SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND version > %s AND version <= %s
    ORDER BY version
"""

_STREAM_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = %s"

# One statement, so one round trip and atomic even in autocommit. Optimistic concurrency is the
# guard and the (stream_id, version) unique constraint together: the guard refuses a stream that
# is behind the caller's expectation (version `expected` must exist, unless 0), the constraint a
# stream that is ahead of it (version `expected + 1` exists) or that a concurrent append just
# moved. An EXISTS probe of one key is cheaper than max(version) (bench/eventstore.py).
_APPEND = """
    WITH ins AS (
        INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version,
                            hub_id, data, metadata)
        SELECT v.event_id::uuid, %(stream_id)s, %(stream_type)s, %(expected)s + v.n, v.type,
               v.schema_version, v.hub_id, v.data::jsonb, v.metadata::jsonb
        FROM (VALUES {values}) AS v(n, event_id, type, schema_version, hub_id, data, metadata)
        WHERE {guard}
        RETURNING position, version, recorded_at
    )
    SELECT position, version, recorded_at FROM ins ORDER BY version
"""

_GUARD = """(%(expected)s = 0 OR EXISTS (
    SELECT 1 FROM events WHERE stream_id = %(stream_id)s AND version = %(expected)s))"""

_READ_KEY = "SELECT request_hash, result FROM idempotency_keys WHERE key = %s"

# The common case, one event and no idempotency key, as a prepared statement: the same guard,
# without parsing and planning on every append (that doubled the server's work per append).
_PREPARE_APPEND_ONE = """
    PREPARE eventstore_append_one (uuid, text, text, integer, text, integer, text, jsonb, jsonb)
    AS INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version,
                           hub_id, data, metadata)
       SELECT $1, $2, $3, $4 + 1, $5, $6, $7, $8, $9
       WHERE $4 = 0 OR EXISTS (SELECT 1 FROM events WHERE stream_id = $2 AND version = $4)
       RETURNING position, version, recorded_at
"""
_APPEND_ONE = "EXECUTE eventstore_append_one (%s, %s, %s, %s, %s, %s, %s, %s, %s)"

# Connections on which the statement above is prepared (a prepared statement lives as long as
# its connection).
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class AppendResult:
    stream_id: str
    version: int
    positions: list[int]
    # What the log records as the events' time (the transaction's, the same for each).
    recorded_at: datetime


@dataclass(frozen=True)
class Snapshot:
    stream_id: str
    stream_type: str
    version: int
    state: dict[str, Any]


@dataclass
class EventStore:
    """The log of one service. ``service`` labels metrics; ``upcasters`` apply on every read.

    ``db`` may be None for a caller that passes its own cursor to every call (the relay).
    """

    db: Database | None
    service: str
    upcasters: Upcasters = field(default_factory=Upcasters)

    def __post_init__(self) -> None:
        # Labelled metric children, looked up once (labels() takes a lock on every call).
        self._append_seconds = metrics.APPEND_SECONDS.labels(self.service)
        self._appended: dict[str, Any] = {}
        self._appends = metrics.Deferred(self._count_appends)

    # -- writing -----------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        cur: Any = None,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0: new stream).
        With ``cur``, the append joins the caller's transaction. (Idempotency is the unit of
        work's: ``recorded`` and ``record`` in the command's own transaction.)"""
        prepared = self._prepare(stream_id, stream_type, expected_version, events)
        return self._run(cur, lambda c: self._append(c, prepared))

    def _append(self, cur: Any, prepared: dict[str, Any]) -> AppendResult:
        stream_id, expected = prepared["stream_id"], prepared["expected"]
        started = time.perf_counter()
        try:
            rows = self._execute_append(cur, prepared)
        except psycopg2.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "events_event_id_key":
                raise InvalidEvent("an event with this event_id is recorded already",
                                   {"event_id": ["already recorded"]}) from None
            metrics.APPEND_CONFLICTS.labels(self.service).inc()
            # The caller's transaction is aborted now; read the version outside it.
            raise WrongExpectedVersion(stream_id, expected,
                                       self.stream_version(stream_id)) from None
        if not rows:
            actual = self.stream_version(stream_id, cur)
            if expected > 0 and actual == 0:
                raise StreamNotFound(f"stream {stream_id!r} does not exist",
                                     stream_id=stream_id)
            metrics.APPEND_CONFLICTS.labels(self.service).inc()
            raise WrongExpectedVersion(stream_id, expected, actual)
        self._appends.observe(prepared["stream_type"], len(rows), time.perf_counter() - started)
        return AppendResult(stream_id, rows[-1][1], [r[0] for r in rows], rows[-1][2])

    def _count_appends(self, appends: list[tuple]) -> None:
        events: dict[str, int] = {}
        for stream_type, count, _ in appends:
            events[stream_type] = events.get(stream_type, 0) + count
        metrics.observe_many(self._append_seconds, [seconds for _, _, seconds in appends])
        for stream_type, count in events.items():
            appended = self._appended.get(stream_type)
            if appended is None:
                appended = self._appended[stream_type] = metrics.EVENTS_APPENDED.labels(
                    self.service, stream_type)
            appended.inc(count)

    @staticmethod
    def _prepare(stream_id: str, stream_type: str, expected_version: int,
                 events: Sequence[NewEvent]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        if (not isinstance(stream_id, str) or not stream_id or len(stream_id) > 200
                or "\x00" in stream_id):
            errors["stream_id"] = ["1 to 200 characters, no NUL"]
        if not isinstance(stream_type, str) or not stream_type:
            errors["stream_type"] = ["required"]
        if (not isinstance(expected_version, int) or isinstance(expected_version, bool)
                or expected_version < 0):
            errors["expected_version"] = ["a whole number, 0 for a new stream"]
        if not events:
            errors["events"] = ["at least one event"]
        if errors:
            raise ValidationError("cannot append: " + ", ".join(sorted(errors)), errors)
        rows = []
        for n, event in enumerate(events, start=1):
            if not isinstance(event, NewEvent):
                raise InvalidEvent(f"events[{n - 1}] is not a NewEvent",
                                   {f"events[{n - 1}]": ["not an event"]})
            event_id, data, meta = event.validate(n - 1)
            rows.append((n, event_id, event.type, event.schema_version, event.hub_id,
                         data, meta))
        return {"stream_id": stream_id, "stream_type": stream_type,
                "expected": expected_version, "rows": rows}

    @staticmethod
    def _execute_append(cur, prepared: dict[str, Any]) -> list[tuple[int, int, datetime]]:
        rows = prepared["rows"]
        if len(rows) == 1:
            conn = cur.connection
            if conn not in _prepared:
                cur.execute(_PREPARE_APPEND_ONE)
                _prepared[conn] = True
            _, event_id, type_, schema_version, hub_id, data, meta = rows[0]
            cur.execute(_APPEND_ONE, (event_id, prepared["stream_id"], prepared["stream_type"],
                                      prepared["expected"], type_, schema_version, hub_id,
                                      data, meta))
            return cur.fetchall()
        values = ",".join(
            cur.mogrify("(%s,%s,%s,%s,%s::text,%s,%s)", row).decode() for row in prepared["rows"])
        params = dict(prepared)
        params.pop("rows")
        sql = _APPEND.format(values=values.replace("%", "%%"), guard=_GUARD)
        cur.execute(sql, params)
        return cur.fetchall()

    # -- idempotency: one mechanism for commands and keyed appends -------------------------

    def recorded(self, key: str, fingerprint: str, cur: Any = None) -> Any | None:
        """The result recorded under ``key``, or None if nothing was.

        A request's ids may be chosen by the server, so its events differ between two sends of
        one request; its ``fingerprint`` (of the request as sent) tells requests apart: the
        same key with another fingerprint is refused.
        """
        row = self._fetchone(_READ_KEY, (key,), cur)
        if row is None:
            return None
        stored, result = row
        if stored != fingerprint and stored != ERASED_REQUEST:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request",
                {"Idempotency-Key": ["already used for a different request"]})
        metrics.IDEMPOTENT_REPLAYS.labels(self.service).inc()
        return result

    def forget_keys(self, days: float, cur: Any = None, rpc_hours: float = 1.0) -> int:
        """Forget what was recorded for idempotency keys more than ``days`` ago: a client
        retries within minutes, and the answers may hold a person's data. What an RPC
        message's own id keeps (a command sent without a key: ``rpc:<id>``) only guards a
        redelivery, which comes within seconds: it goes after ``rpc_hours``."""
        def run(c: Any) -> int:
            c.execute("DELETE FROM idempotency_keys WHERE recorded_at < now() - %s * "
                      "interval '1 day'", (days,))
            forgotten = c.rowcount
            c.execute("""DELETE FROM idempotency_keys WHERE recorded_at < now() - %s *
                         interval '1 hour' AND key LIKE '%%","rpc:%%'""", (rpc_hours,))
            return forgotten + c.rowcount
        return self._run(cur, run)

    def record(self, key: str, fingerprint: str, result: Any, cur: Any) -> None:
        """Record ``key`` with its result, in the transaction of the work it keys."""
        _check_key(key)
        self._execute(
            "INSERT INTO idempotency_keys (key, request_hash, result) VALUES (%s, %s, %s)",
            (key, fingerprint, json.dumps(result)), cur)

    def redact_recorded(self, subject_id: str, fields: dict[str, Any], cur: Any = None) -> int:
        """Overwrite ``fields`` in every recorded answer about ``subject_id`` (an answer whose
        ``id`` it is): erasing a person reaches the answers Idempotency-Keys keep, so a replay
        of the request that added them answers without their personal data. The key's
        fingerprint goes too: it was of the request that held the data, and would confirm a
        guess of it; any request under the key now answers the redacted record."""
        def run(c: Any) -> int:
            c.execute("""UPDATE idempotency_keys SET result = result || %s::jsonb,
                                                     request_hash = %s
                         WHERE jsonb_typeof(result) = 'object' AND result->>'id' = %s""",
                      (json.dumps(fields), ERASED_REQUEST, subject_id))
            return c.rowcount
        return self._run(cur, run)

    def streams_with(self, event_type: str, field: str, value: str,
                     cur: Any = None) -> list[str]:
        """Ids of the streams that recorded ``event_type`` with ``data[field] == value`` (a
        scan of that event type: for rare work such as erasure, not for hot paths)."""
        rows = self._fetchall("""SELECT DISTINCT stream_id FROM events
                                 WHERE type = %s AND data->>%s = %s ORDER BY stream_id""",
                              (event_type, field, value), cur)
        return [stream_id for (stream_id,) in rows]

    # -- reading a stream --------------------------------------------------------------------

    def stream_version(self, stream_id: str, cur: Any = None) -> int:
        if not _possible_stream_id(stream_id):
            return 0
        return self._fetchone(_STREAM_VERSION, (stream_id,), cur)[0]

    def read_stream(self, stream_id: str, after_version: int = 0, cur: Any = None,
                    up_to: int | None = None) -> list[RecordedEvent]:
        """Events of one stream after ``after_version`` (to ``up_to``), oldest first, upcast."""
        if not _possible_stream_id(stream_id):
            return []
        last = up_to if up_to is not None else 2**31 - 1
        return self._upcast(self._fetchall(_READ_STREAM, (stream_id, after_version, last),
                                           cur))

    def read_streams(self, stream_ids: list[str],
                     cur: Any = None) -> dict[str, list[RecordedEvent]]:
        """The events of many streams in one query (a roster's people), by stream id."""
        ids = [s for s in stream_ids if _possible_stream_id(s)]
        found: dict[str, list[RecordedEvent]] = {}
        if not ids:
            return found
        rows = self._fetchall(f"SELECT {_COLUMNS} FROM events WHERE stream_id = ANY(%s) "
                              "ORDER BY stream_id, version", (ids,), cur)
        for event in self._upcast(rows):
            found.setdefault(event.stream_id, []).append(event)
        return found

    def save_snapshot(self, snapshot: Snapshot, cur: Any = None) -> None:
        self._execute(
            """INSERT INTO snapshots (stream_id, stream_type, version, state)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (stream_id) DO UPDATE
               SET version = excluded.version, state = excluded.state,
                   recorded_at = now()
               WHERE snapshots.version < excluded.version""",
            (snapshot.stream_id, snapshot.stream_type, snapshot.version,
             json.dumps(snapshot.state)), cur)

    def load_snapshot(self, stream_id: str, cur: Any = None) -> Snapshot | None:
        if not _possible_stream_id(stream_id):
            return None
        row = self._fetchone(
            "SELECT stream_id, stream_type, version, state FROM snapshots WHERE stream_id = %s",
            (stream_id,), cur)
        return Snapshot(*row) if row else None

    # -- reading the whole log ---------------------------------------------------------------

    def read_all(self, after: Cursor = START, limit: int = 1000,
                 cur: Any = None) -> list[RecordedEvent]:
        """The next committed events after ``after`` in commit order, never skipping one."""
        tx_id, position = after
        return self._upcast(self._fetchall(_READ_ALL, (str(tx_id), position, limit), cur))

    def read_committed_after(self, after: Cursor, cur: Any) -> list[tuple[RecordedEvent, bool]]:
        """Every event committed after ``after`` that the caller's snapshot sees, in commit
        order, each with whether it lies below the tailing horizon (``read_all`` would give
        it). For a swap under lock, where what is committed matters, not what is settled."""
        rows = self._fetchall(_READ_COMMITTED, (str(after[0]), after[1]), cur)
        events = self._upcast([row[:-1] for row in rows])
        return [(event, row[-1]) for event, row in zip(events, rows, strict=True)]

    def iter_all(self, after: Cursor = START, page: int = 5000) -> Iterator[RecordedEvent]:
        """Every committed event after ``after``, read in pages."""
        while True:
            batch = self.read_all(after, page)
            yield from batch
            if len(batch) < page:
                return
            after = batch[-1].cursor

    def count_after(self, after: Cursor, cap: int = 1_000_000, cur: Any = None) -> int:
        """How many committed events lie after ``after`` (at most ``cap``): a lag gauge."""
        return self._fetchone(
            f"""SELECT count(*) FROM (SELECT 1 FROM events
                WHERE (tx_id, position) > (%s::text::xid8, %s) AND {_VISIBLE} LIMIT %s) t""",
            (str(after[0]), after[1], cap), cur)[0]

    def held_back(self, cur: Any = None) -> tuple[int, float]:
        """How far the log is held back behind the tailing horizon: the committed events no
        tailer may read yet, and how long ago the oldest of them was written. The horizon is
        server-wide: an open write transaction in any database of the server holds it
        (docs/decisions/006-a-stalled-log-is-visible.md)."""
        row = self._fetchone(_HELD_BACK, (), cur)
        return int(row[0]), float(row[1] or 0.0)

    # -- checkpoints (relay and projections) -------------------------------------------------

    def checkpoint(self, name: str, cur: Any = None, lock: bool = False) -> Cursor:
        """The saved cursor of ``name``; with ``lock`` the row stays locked until ``cur`` ends."""
        self._execute("INSERT INTO checkpoints (name) VALUES (%s) ON CONFLICT DO NOTHING",
                      (name,), cur)
        row = self._fetchone(
            "SELECT tx_id::text::bigint, position FROM checkpoints WHERE name = %s"
            + (" FOR UPDATE" if lock else ""), (name,), cur)
        return (row[0], row[1])

    def save_checkpoint(self, name: str, cursor: Cursor, cur: Any = None) -> None:
        self._execute(
            """UPDATE checkpoints SET tx_id = %s::text::xid8, position = %s, updated_at = now()
               WHERE name = %s""", (str(cursor[0]), cursor[1], name), cur)

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("this EventStore has no pool; pass cur= to every call")
        return self.db

    def _upcast(self, rows: list[tuple]) -> list[RecordedEvent]:
        events = [RecordedEvent(*row) for row in rows]
        if self.upcasters:
            events = [self.upcasters.upcast(e) for e in events]
        return events

    def _run(self, cur: Any, work: Callable[[Any], Any]) -> Any:
        """``work(cursor)`` in the caller's transaction, or on a pooled autocommit cursor."""
        return work(cur) if cur is not None else self._db.with_cursor(work)

    def _fetchall(self, sql: str, params: tuple, cur: Any) -> list[tuple]:
        def fetch(c: Any) -> list[tuple]:
            c.execute(sql, params)
            return c.fetchall()
        return self._run(cur, fetch)

    def _fetchone(self, sql: str, params: tuple, cur: Any) -> Any:
        def fetch(c: Any) -> Any:
            c.execute(sql, params)
            return c.fetchone()
        return self._run(cur, fetch)

    def _execute(self, sql: str, params: tuple, cur: Any) -> None:
        self._run(cur, lambda c: c.execute(sql, params))


def _possible_stream_id(stream_id: Any) -> bool:
    """An id ``append`` would accept; any other names no stream, so there is nothing to read."""
    return isinstance(stream_id, str) and 0 < len(stream_id) <= 200 and "\x00" not in stream_id


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= 500 or "\x00" in key:
        raise ValidationError("an idempotency key is 1 to 500 characters",
                              {"Idempotency-Key": ["1 to 500 characters, no NUL"]})
