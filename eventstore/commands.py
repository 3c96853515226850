"""A command's unit of work: load aggregates, decide, append, update inline projections and
record the idempotency key, all in one transaction.

    def enroll_member(self, hub_id, data, key):
        def run(session):
            member = session.create(Member, new_id())
            member.enroll(hub_id, ...)
            session.save(member)
            return member_view(member)
        return self.kernel.command(self.caller(), run, key=key, request=[hub_id, data])

Either everything the command did is committed, or nothing is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg2.errors

from .aggregate import Aggregate, Repository
from .errors import Conflict, ValidationError
from .events import RecordedEvent
from .identity import Identity
from .projections import Projection
from .store import EventStore

A = TypeVar("A", bound=Aggregate)


def fingerprint(request: Any) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Session:
    def __init__(self, store: EventStore, cur: Any, caller: Identity,
                 inline: list[Projection]) -> None:
        self.store = store
        self.cur = cur
        self.caller = caller
        self.inline = inline
        self.positions: list[int] = []

    def load(self, aggregate: type[A], id: str) -> A:  # noqa: A002
        return Repository(self.store, aggregate).load(id, self.cur)

    def create(self, aggregate: type[A], id: str) -> A:  # noqa: A002
        return aggregate(id)

    def save(self, instance: Aggregate, expected_version: int | None = None) -> int:
        """Append the aggregate's new events; ``expected_version`` is the client's If-Match."""
        if expected_version is not None and expected_version != instance.version:
            from .errors import PreconditionFailed
            raise PreconditionFailed(
                f"{instance.stream_type} {instance.id} is at version {instance.version}, "
                f"not {expected_version}", current_version=instance.version)
        repository = Repository(self.store, type(instance))
        pending = repository.stamp(instance, self.caller.metadata())
        if not pending:
            return instance.version
        start_version = instance.version
        result = repository.save(instance, cur=self.cur)
        self.positions.extend(result.positions)
        if self.inline:
            now = datetime.now(UTC)
            for offset, (event, position) in enumerate(zip(pending, result.positions,
                                                            strict=True), start=1):
                recorded = RecordedEvent(position, 0, event.event_id, instance.id,
                                         instance.stream_type, start_version + offset,
                                         event.type, event.schema_version, event.hub_id,
                                         event.data, event.metadata, now)
                for projection in self.inline:
                    projection.apply(self.cur, recorded)
        return result.version


def run_command(db: Any, store: EventStore, inline: list[Projection], caller: Identity,
                run: Callable[[Session], Any], key: str | None = None,
                request: Any = None) -> Any:
    """Run ``run(session)`` in one transaction; with ``key``, at most once per key."""
    if key is not None:
        if not isinstance(key, str) or not 0 < len(key) <= 200:
            raise ValidationError("Idempotency-Key must be 1 to 200 characters",
                                  {"Idempotency-Key": ["1 to 200 characters"]})
        scoped = f"{caller.sub}:{key}"
        print_ = fingerprint(request)
        earlier = store.command_result(scoped, print_)
        if earlier is not None:
            return earlier
    try:
        with db.transaction() as cur:
            session = Session(store, cur, caller, inline)
            response = run(session)
            if key is not None:
                store.record_command(scoped, print_, response, cur)
    except psycopg2.errors.UniqueViolation as exc:
        if key is not None and exc.diag.constraint_name == "idempotency_keys_pkey":
            # The same request raced us and won; answer as it did.
            return store.command_result(scoped, print_)
        # A read model's uniqueness (one project per member and problem, …) refused a write
        # that raced another command past the aggregate's own check.
        raise Conflict("a concurrent change made this one impossible; read again and retry",
                       constraint=exc.diag.constraint_name) from None
    return response
