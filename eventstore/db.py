"""PostgreSQL connections: a small blocking pool and transaction scopes.

Under nameko the process is eventlet-patched and psycogreen makes psycopg2 cooperative, so the
pool's waits block a green thread, not the process.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import psycopg2
import psycopg2.extensions
import psycopg2.extras

# jsonb arrives as Python objects, decoded by orjson: reading the log is mostly JSON decoding,
# and orjson makes a full scan about 1.4x faster than the standard library (bench/eventstore.py).
psycopg2.extras.register_default_jsonb(loads=orjson.loads, globally=True)
psycopg2.extensions.register_adapter(dict, psycopg2.extras.Json)

_BROKEN = (psycopg2.OperationalError, psycopg2.InterfaceError)
T = TypeVar("T")


# A peer that vanishes without closing (a host that died, a network that split) is noticed by
# TCP within about a minute instead of the kernel's two hours: keepalives after 30 s idle, every
# 10 s, 3 unanswered; data unacknowledged for 30 s ends the connection too.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3, "tcp_user_timeout": 30_000}


@dataclass(frozen=True)
class Timeouts:
    """What PostgreSQL ends on its side, per use: a statement that runs too long, a
    transaction left open and idle, a session idle too long (0: never)."""

    statement_seconds: float = 0
    idle_in_transaction_seconds: float = 0
    idle_session_seconds: float = 0

    def options(self) -> str:
        settings = {"statement_timeout": self.statement_seconds,
                    "idle_in_transaction_session_timeout": self.idle_in_transaction_seconds,
                    "idle_session_timeout": self.idle_session_seconds}
        return " ".join(f"-c {name}={int(seconds * 1000)}" for name, seconds in settings.items())


# A service's pool: commands, reads, consumers and the projection runner are short.
SERVICE_TIMEOUTS = Timeouts(statement_seconds=30, idle_in_transaction_seconds=60)
# Operator tools (migrations, rebuilds): long statements are their job; an idle transaction
# still holds the log's horizon back for every service, so it is ended.
OPERATOR_TIMEOUTS = Timeouts(idle_in_transaction_seconds=300)


def connect(url: str, autocommit: bool = True, application_name: str = "consortium",
            timeouts: Timeouts = OPERATOR_TIMEOUTS):
    conn = psycopg2.connect(url, application_name=application_name,
                            options=timeouts.options(), **KEEPALIVES)
    conn.autocommit = autocommit
    return conn


class Database:
    """A pool of connections to one service's database."""

    def __init__(self, url: str, size: int = 10, application_name: str = "consortium",
                 timeouts: Timeouts = SERVICE_TIMEOUTS) -> None:
        self.url = url
        self.application_name = application_name
        self.timeouts = timeouts
        self._size = size
        self._created = 0
        # Idle connections, last in first out. Taking and returning one is a deque pop and
        # append (atomic, no lock): with many threads, a locked queue made them wait on each
        # other (bench/eventstore.py). The lock is only for creating and waiting.
        self._idle: deque = deque()
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)
        self._waiting = 0
        self._cursors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _acquire(self):
        try:
            return self._idle.pop()
        except IndexError:
            pass
        with self._lock:
            while True:
                try:
                    return self._idle.pop()
                except IndexError:
                    pass
                if self._created < self._size:
                    self._created += 1
                    break
                self._waiting += 1
                # A release that slipped between our pop and this wait is caught by the timeout.
                self._returned.wait(0.05)
                self._waiting -= 1
        try:
            return connect(self.url, application_name=self.application_name,
                           timeouts=self.timeouts)
        except Exception:
            with self._lock:
                self._created -= 1
                self._returned.notify()
            raise

    def _release(self, conn, broken: bool) -> None:
        if broken or conn.closed:
            with self._lock:
                self._created -= 1
                self._returned.notify()
            # Closing a dead connection may fail; it is gone anyway.
            with contextlib.suppress(Exception):
                conn.close()
            return
        self._idle.append(conn)
        if self._waiting:
            with self._lock:
                self._returned.notify()

    def with_cursor(self, work: Callable[[Any], T]) -> T:
        """``work(cursor)`` on an autocommit connection (each statement its own transaction),
        with the connection's one reused cursor: the store's hot path, so no context
        managers and no new cursor per call."""
        conn = self._acquire()
        broken = False
        try:
            if not conn.autocommit:
                conn.autocommit = True
            cur = self._cursors.get(conn)
            if cur is None or cur.closed:
                cur = self._cursors[conn] = conn.cursor()
            return work(cur)
        except _BROKEN:
            broken = True
            raise
        finally:
            self._release(conn, broken)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """An autocommit connection: each statement is its own transaction."""
        conn = self._acquire()
        broken = False
        try:
            if not conn.autocommit:
                conn.autocommit = True
            yield conn
        except _BROKEN:
            broken = True
            raise
        finally:
            self._release(conn, broken)

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor in one transaction: committed on success, rolled back on any error."""
        conn = self._acquire()
        broken = False
        try:
            conn.autocommit = False
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except BaseException as exc:
            broken = isinstance(exc, _BROKEN)
            if not broken:
                try:
                    conn.rollback()
                except _BROKEN:
                    broken = True
            raise
        finally:
            if not broken and not conn.closed:
                conn.autocommit = True
            self._release(conn, broken)

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return
            with self._lock:
                self._created -= 1
            conn.close()
