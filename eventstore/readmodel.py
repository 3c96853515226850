"""A service's read model: the queries of its tables, and the writes its consumers make to
tables fed by other services' news. Each service subclasses ``ReadModel`` in its
``projections.py``, next to the projections that keep those tables.

An instance works on one transaction:
- in an RPC worker (``self.read_model``), a read-only transaction on behalf of the caller,
  opened at the first query and closed when the worker ends; PostgreSQL's row-level security
  shows it only the caller's hubs' rows (eventstore/schema/0002_hub_scope.sql), and the queries
  check the caller in code too;
- in a unit of work (``session.read_model``), the command's or handled event's transaction,
  which sees every hub (a system task; the command checked the caller already).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .aggregate import Aggregate
from .errors import NotFound
from .identity import Identity, hub_readers
from .repository import Repository
from .store import EventStore

A = TypeVar("A", bound=Aggregate)

PAGE_MAX = 200


def page_limit(limit: Any) -> int:
    try:
        return max(1, min(int(limit), PAGE_MAX))
    except (TypeError, ValueError):
        return 50


class ReadModel:
    def __init__(self, cursor: Any | Callable[[], Any], caller: Identity,
                 store: EventStore) -> None:
        self._cursor = cursor
        self.caller = caller
        self.store = store

    @property
    def cur(self) -> Any:
        if callable(self._cursor):
            self._cursor = self._cursor()
        return self._cursor

    # -- plumbing for subclasses ---------------------------------------------------------------

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        self.cur.execute(sql, params)
        columns = [c.name for c in self.cur.description]
        return [dict(zip(columns, row, strict=True)) for row in self.cur.fetchall()]

    def row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        found = self.rows(sql, *params)
        return found[0] if found else None

    def write(self, sql: str, *params: Any) -> int:
        self.cur.execute(sql, params)
        return self.cur.rowcount

    def page(self, sql: str, *params: Any, after: str | None, limit: int) -> dict[str, Any]:
        """A list answer (API.md): ``sql`` ends with ``AND id > %s ORDER BY id LIMIT %s``."""
        limit = page_limit(limit)
        items = self.rows(sql, *params, after or "", limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return {"items": items, "next": items[-1]["id"] if more and items else None}

    # -- aggregates for reading ---------------------------------------------------------------

    def aggregate(self, aggregate: type[A], id: str) -> A:  # noqa: A002
        """An aggregate as the caller may read it; another hub's is as unknown as a missing
        one."""
        try:
            instance = Repository(self.store, aggregate).load(str(id), self.cur)
        except NotFound:
            raise NotFound(f"no {aggregate.noun} {id}") from None
        hub_readers(self.caller, instance)
        return instance
