"""Units of work: a command, or a handled event, as one transaction.

A unit of work loads aggregates, lets them decide, appends their events, applies the inline
projections and the read-model writes that go with them, and records what makes it happen once
(an idempotency key for a command, an inbox row for an event), all in one transaction: either
everything it did is committed, or nothing is.

    runner.command(caller, locate, decide, view, key=..., request=..., expected_version=...)
    runner.handle(consumer, event, work)

Rules the runner keeps, so services need not:
- The caller's access is checked (``locate``) before anything else, a recorded response for an
  Idempotency-Key included: a key never answers a caller who may not see the object.
- A command without If-Match asked for no concurrency check: when a stream it read moves
  before it commits, it is decided again on the new state (a bounded number of times, with
  jitter); only a retried decision that is refused reaches the client. With If-Match, a stale
  target is 412.
- A command without If-Match queues behind other commands on the same object: it takes a
  transaction-scoped advisory lock on the first stream it loads (its target) before reading
  it, so contention waits instead of failing, and the retry loop is the rare path.
- Every load of a unit of work happens before its first write (saves and read-model writes run
  at the end, in ``Session.flush``), so the transaction id that orders its events in the log
  is taken after it read the streams it appends to (docs/decisions/001-log-ordering.md).
- The answer kept for an Idempotency-Key (or an RPC message's id) is at most
  ``RECORD_LIMIT_BYTES``: a larger one is kept as a reference to what the command wrote (the
  stream and the versions), and answered again from the log at those versions, or as the
  summary the command gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import psycopg2.errors

from . import metrics
from .aggregate import Aggregate
from .errors import (
    Conflict,
    DeadlinePassed,
    NotFound,
    PreconditionFailed,
    WrongExpectedVersion,
)
from .events import RecordedEvent
from .identity import Identity
from .ids import namespace_of
from .projections import Projection
from .repository import Repository
from .store import EventStore

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

log = logging.getLogger("eventstore.commands")

# How often a command is decided again after a concurrent write moved a stream it read. Eight
# writers of one stream all get through within this many rounds (tests/integration).
ATTEMPTS = 10
BACKOFF_SECONDS = 0.004
BACKOFF_MAX_SECONDS = 0.2
# The largest answer kept whole for an Idempotency-Key (bytes of JSON). Answers are kept for
# days, once per command: a command whose answer is larger keeps a reference or a summary.
RECORD_LIMIT_BYTES = 8192
# Advisory locks of the command queue live in a namespace of their own (the two-key form,
# which never meets the one-key locks the relay takes).
_STREAM_LOCKS = 0x636d64  # "cmd"


def fingerprint(request: Any) -> str:
    """What makes two requests under one Idempotency-Key 'the same': the command and its
    arguments as sent."""
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def scoped_key(caller: Identity, key: str) -> str:
    """An Idempotency-Key belongs to the token's subject; as a JSON pair, no two (subject, key)
    pairs spell alike."""
    return json.dumps([caller.sub, key], separators=(",", ":"))


class Session:
    """The aggregates and read-model writes of one unit of work.

    ``load`` and ``create`` track aggregates (one instance per id); ``flush`` saves every
    tracked aggregate with new events, applies the inline projections, then runs the writes
    queued with ``after_save``. ``read_model`` is the service's read model on this
    transaction; ``cur`` the transaction's cursor.
    """

    def __init__(self, store: EventStore, cur: Any, caller: Identity,
                 inline: list[Projection], read_model: Any = None,
                 metadata: dict[str, Any] | None = None, queue: bool = False,
                 now: datetime | None = None) -> None:
        # The unit of work's one reading of the clock, passed into the domain (``today``).
        self.now = now or datetime.now(UTC)
        # The id a command was addressed by (eventstore.entrypoints): its target's, or a
        # part's of it.
        self.target_id = ""
        self.store = store
        self.cur = cur
        self.caller = caller
        self.inline = inline
        self.read_model = read_model
        self.metadata = {**caller.metadata(), **(metadata or {})}
        self.positions: list[int] = []
        self._tracked: dict[str, Aggregate] = {}
        self._created: set[str] = set()
        self._after_save: list[Callable[[], Any]] = []
        # Queue behind other commands on the first stream loaded (the command's target).
        self._queue = queue
        # What this unit of work wrote, by stream: (from version, to version, [(type, data)]).
        self._written: dict[str, tuple[int, int, list[tuple[str, dict[str, Any]]]]] = {}

    def load(self, aggregate: type[A], id: str) -> A:  # noqa: A002
        """The aggregate, or NotFound (also for a stream of another type)."""
        known = self._tracked.get(id)
        if known is not None:
            if not isinstance(known, aggregate):
                raise NotFound(f"no {aggregate.noun} {id}")
            return known
        if self._queue:
            self._queue = False
            self.cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                             (_STREAM_LOCKS, str(id)))
        instance = Repository(self.store, aggregate).load(id, self.cur)
        self._tracked[id] = instance
        return instance

    @property
    def today(self) -> date:
        """The date of ``now`` in UTC."""
        return self.now.date()

    def streams_recording(self, event_type: str, field: str, value: str) -> list[str]:
        """Ids of the streams that recorded ``event_type`` with ``data[field] == value``: for
        rare work such as erasure (which members gave an erased person a role), not for hot
        paths."""
        return self.store.streams_with(event_type, field, value, self.cur)

    def changes(self, instance: Aggregate) -> list[tuple[str, dict[str, Any]]]:
        """The events (type, data) this unit of work wrote to ``instance``'s stream: what a
        command's answer says it changed."""
        written = self._written.get(instance.id)
        return list(written[2]) if written else []

    def load_named(self, aggregate: type[A], id: str, hub_id: str | None) -> A:  # noqa: A002
        """An object a request's body names, which must be of ``hub_id``: missing, another
        hub's, or (by its id's namespace) another hub's before it is even looked up, it is the
        same NotFound, word for word."""
        unknown = NotFound(f"no {aggregate.noun} {id}")
        namespace = namespace_of(str(id))
        if namespace is not None and namespace != hub_id:
            raise unknown
        try:
            instance = self.load(aggregate, id)
        except NotFound:
            raise unknown from None
        if instance.hub_id != hub_id:
            raise unknown
        return instance

    def find(self, aggregate: type[A], id: str) -> A | None:  # noqa: A002
        """The aggregate, or None when there is none."""
        try:
            return self.load(aggregate, id)
        except NotFound:
            return None

    def find_many(self, aggregate: type[A], ids: list[str]) -> dict[str, A]:
        """The aggregates of these ids that exist, loaded together (one query for all)."""
        wanted = [i for i in ids if i not in self._tracked]
        loaded = Repository(self.store, aggregate).load_many(wanted, self.cur) if wanted else {}
        self._tracked.update(loaded)
        return {i: found for i in ids
                if isinstance(found := self._tracked.get(i), aggregate)}

    def create(self, aggregate: type[A], id: str) -> A:  # noqa: A002
        """A new aggregate; saving it is refused if the id is taken."""
        if id in self._tracked:
            raise Conflict(f"{aggregate.noun} {id} exists already")
        instance = aggregate(id)
        self._tracked[id] = instance
        self._created.add(id)
        return instance

    def after_save(self, write: Callable[[], Any]) -> None:
        """Run ``write()`` after the events are saved: writes of tables that are not
        projections (personal data) wait until every load is done."""
        self._after_save.append(write)

    def flush(self) -> None:
        for instance in list(self._tracked.values()):
            if instance.pending:
                self._save(instance)
        writes, self._after_save = self._after_save, []
        for write in writes:
            write()

    def _save(self, instance: Aggregate) -> None:
        repository = Repository(self.store, type(instance))
        pending = repository.stamp(instance, self.metadata)
        start_version = instance.version
        try:
            result = repository.save(instance, cur=self.cur)
        except WrongExpectedVersion:
            if instance.id in self._created:
                # An id a client chose, taken already: nothing in the answer says by what.
                raise Conflict(f"{type(instance).noun} {instance.id} exists already; "
                               "choose another id") from None
            raise
        self.positions.extend(result.positions)
        self._written[instance.id] = (start_version, result.version,
                                      [(e.type, e.data) for e in pending])
        if self.inline:
            # The time the log records, so a read model rebuilt from it is the one kept live.
            now = result.recorded_at
            events = [RecordedEvent(position, 0, event.event_id, instance.id,
                                    instance.stream_type, start_version + offset, event.type,
                                    event.schema_version, event.hub_id, event.data,
                                    event.metadata, now)
                      for offset, (event, position) in enumerate(
                          zip(pending, result.positions, strict=True), start=1)]
            for projection in self.inline:
                projection.apply_batch(self.cur, events)


def _words(said: Any, detail: str | None) -> str | None:
    """What a projection says of a constraint: words, or a function of PostgreSQL's detail
    (``Key (…)=(…) conflicts with existing key (…)=(…)``), to name what is in the way."""
    return said(detail or "") if callable(said) else said


@dataclass(frozen=True)
class _Replayed:
    response: Any


class _Duplicate(Exception):
    """A concurrent delivery of the same event committed first."""


class UnitOfWork:
    """Runs commands and handled events of one service, each in one transaction."""

    def __init__(self, db: Any, store: EventStore, inline: list[Projection],
                 read_model: Callable[[Any, Identity], Any] | None = None,
                 attempts: int = ATTEMPTS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.db = db
        self.store = store
        self.inline = inline
        self.read_model = read_model
        self.attempts = attempts

    def command(self, caller: Identity, locate: Callable[[Session], T],
                decide: Callable[[T, Session], Any], view: Callable[[Any, Session], Any],
                *, key: str | None = None, request: Any = None,
                expected_version: int | None = None, deadline: float | None = None,
                metadata: dict[str, Any] | None = None,
                summary: Callable[[Any], Any] | None = None, queue: bool = True) -> Any:
        """``locate`` loads what the command is about and checks the caller may change it;
        ``decide`` lets the domain decide; ``view`` is the answer. With ``key``, at most once
        per (caller, key): the same request again answers as the first did (an answer larger
        than ``RECORD_LIMIT_BYTES`` is kept as ``summary(answer)`` when given, else as a
        reference to what was written, answered again from the log). With ``deadline``
        (epoch seconds), nothing commits after it: the caller stopped waiting. Without
        ``expected_version``, the command waits its turn on the first stream it loads (its
        target), unless ``queue`` is False: a command that only adds something under its
        target (a member to a hub) need not wait for the target's own writers."""
        _before(deadline)
        scoped = scoped_key(caller, key) if key is not None else None
        print_ = fingerprint(request) if key is not None else ""

        def attempt(session: Session) -> Any:
            _lock_wait_until(session.cur, deadline)
            target = locate(session)
            if scoped is not None:
                earlier = self.store.recorded(scoped, print_, session.cur)
                if earlier is not None:
                    return _Replayed(self._replay(earlier, session, view))
            if expected_version is not None:
                version = getattr(target, "version", None)
                if version != expected_version:
                    raise PreconditionFailed(
                        f"{getattr(target, 'noun', 'object')} {getattr(target, 'id', '')} is at "
                        f"version {version}, not {expected_version}", current_version=version)
            result = decide(target, session)
            session.flush()
            response = view(result, session)
            if scoped is not None:
                self.store.record(scoped, print_, _kept(response, result, session, summary),
                                  session.cur)
            _before(deadline)   # the last moment: the transaction commits right after
            return response

        conditional = expected_version is not None
        outcome = self._retrying(caller, attempt, conditional=conditional, metadata=metadata,
                                 deadline=deadline, queue=queue and not conditional)
        return outcome.response if isinstance(outcome, _Replayed) else outcome

    def _replay(self, earlier: Any, session: Session,
                view: Callable[[Any, Session], Any]) -> Any:
        """The first answer of a key: as kept, or rendered again from the log at the versions
        the command wrote."""
        ref = earlier.get(REFERENCE) if isinstance(earlier, dict) else None
        if ref is None:
            return earlier
        aggregate = _aggregate_class(ref["aggregate"])
        instance = Repository(self.store, aggregate).load(ref["stream_id"], session.cur,
                                                          up_to=ref["to"])
        events = self.store.read_stream(ref["stream_id"], ref["from"], session.cur,
                                        up_to=ref["to"])
        session._written[instance.id] = (ref["from"], ref["to"],
                                         [(e.type, e.data) for e in events])
        return view(instance, session)

    def handle(self, consumer: str, source: str, event: RecordedEvent, caller: Identity,
               work: Callable[[Session], Any]) -> bool:
        """Apply ``work`` for ``event`` once per consumer, however often it is delivered: the
        inbox row commits with the effect. True if applied now, False if it was before."""
        metadata = {"causation_id": event.event_id,
                    "correlation_id": event.metadata.get("correlation_id") or event.event_id}

        def attempt(session: Session) -> bool:
            session.cur.execute("SELECT 1 FROM inbox WHERE consumer = %s AND event_id = %s",
                                (consumer, event.event_id))
            if session.cur.fetchone() is not None:
                return False
            work(session)
            session.flush()
            session.cur.execute("""INSERT INTO inbox (consumer, event_id, source)
                                   VALUES (%s, %s, %s) ON CONFLICT DO NOTHING""",
                                (consumer, event.event_id, source))
            if session.cur.rowcount == 0:
                raise _Duplicate()
            return True

        try:
            applied = self._retrying(caller, attempt, conditional=False, metadata=metadata,
                                     queue=False)
        except _Duplicate:
            applied = False
        except Exception:
            metrics.CONSUMER_HANDLED.labels(consumer, "failed").inc()
            raise
        metrics.CONSUMER_HANDLED.labels(consumer, "handled" if applied else "duplicate").inc()
        return bool(applied)

    def _retrying(self, caller: Identity, attempt: Callable[[Session], Any], *,
                  conditional: bool, metadata: dict[str, Any] | None = None,
                  deadline: float | None = None, queue: bool | None = None) -> Any:
        refused_by_read_model = 0
        # A command that asked for no concurrency check waits its turn on its target.
        queue = not conditional if queue is None else queue
        read_model: Any = None
        for n in range(1, self.attempts + 1):
            try:
                with self.db.transaction() as cur:
                    read_model = self.read_model(cur, caller) if self.read_model else None
                    return attempt(Session(self.store, cur, caller, self.inline, read_model,
                                           metadata, queue=queue, now=self.clock()))
            except psycopg2.errors.LockNotAvailable:
                # Waited for the target past the caller's deadline: never applied (503).
                _before(deadline)
                raise
            except WrongExpectedVersion as exc:
                if conditional:
                    raise PreconditionFailed(
                        f"{exc.stream_id} changed while this request was decided; read it "
                        "again", current_version=exc.actual) from None
                if n == self.attempts:
                    raise Conflict(f"{exc.stream_id} is changing too often to decide this "
                                   "request; retry it") from None
            except psycopg2.errors.UniqueViolation as exc:
                constraint = exc.diag.constraint_name
                # The same Idempotency-Key won a race: the next round answers as it did. A
                # read model's uniqueness (one project per member and problem) refused a write
                # that raced another past the domain's check: decided once more, the domain
                # sees the winner and says why; refused twice, it is a conflict.
                if constraint != "idempotency_keys_pkey":
                    refused_by_read_model += 1
                    if conditional or refused_by_read_model > 1:
                        raise Conflict("a concurrent change made this one impossible; read "
                                       "again and retry", constraint=constraint) from None
            except psycopg2.errors.ExclusionViolation as exc:
                # A read model's exclusion constraint (an expert's hours booked twice): a
                # write that overlaps one committed before it, or one it waited for. Decided
                # again, it would meet the same row: refused at once, in the words the
                # projection or the read model gives the constraint (``conflicts``).
                constraint = exc.diag.constraint_name
                said = [_words(getattr(part, "conflicts", {}).get(constraint),
                               exc.diag.message_detail)
                        for part in (*self.inline, read_model)]
                raise Conflict(next((s for s in said if s), "this conflicts with an existing "
                                    f"entry ({exc.diag.table_name}); read what is there and "
                                    "change the request"), constraint=constraint) from None
            metrics.COMMAND_RETRIES.labels(self.store.service).inc()
            time.sleep(random.uniform(0, min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** n)))
        raise AssertionError("unreachable")


REFERENCE = "$ref"


def _kept(response: Any, result: Any, session: Session,
          summary: Callable[[Any], Any] | None) -> Any:
    """What is kept for a key: the answer when small; else the command's summary of it, or a
    reference to the stream and versions it wrote, from which the answer is rendered again."""
    if len(json.dumps(response)) <= RECORD_LIMIT_BYTES:
        return response
    if summary is not None:
        return summary(response)
    written = session._written.get(result.id) if isinstance(result, Aggregate) else None
    if isinstance(result, Aggregate) and written is not None:
        kind = type(result)
        return {REFERENCE: {"aggregate": f"{kind.__module__}:{kind.__qualname__}",
                            "stream_id": result.id, "from": written[0], "to": written[1]}}
    log.error("an answer of %d bytes kept whole for its key: give the command a summary",
              len(json.dumps(response)))
    return response


def _aggregate_class(name: str) -> type[Aggregate]:
    """The aggregate class a reference names, among those this process has loaded."""
    pending: list[type[Aggregate]] = [Aggregate]
    while pending:
        cls = pending.pop()
        if f"{cls.__module__}:{cls.__qualname__}" == name:
            return cls
        pending.extend(cls.__subclasses__())
    raise LookupError(f"no aggregate {name} in this process")


def _lock_wait_until(cur: Any, deadline: float | None) -> None:
    """Waiting for a lock ends with the caller's deadline (a lock wait is not work)."""
    if deadline is not None:
        milliseconds = max(1, int((deadline - time.time()) * 1000))
        cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{milliseconds}ms",))


def _before(deadline: float | None) -> None:
    if deadline is not None and time.time() >= deadline:
        metrics.COMMANDS_PAST_DEADLINE.inc()
        raise DeadlinePassed("the request's deadline passed before it could be applied; it "
                             "was not applied")
