"""What a service's workers get from the kernel, and the RPC methods every service answers.

    class Membership(KernelEntrypoints):
        name = "membership"
        kernel = Kernel(projections=PROJECTIONS, read_model=MembershipReadModel)

        @rpc
        def offboard_member(self, member_id, payload):
            data = load(schemas.Offboarding, payload)
            return self.commands.on(Member, member_id,
                                    lambda member, session: member.offboard(data["reason"]),
                                    view(schemas.Member))

``KernelEntrypoints`` gives every worker ``self.caller()`` (the identity signed for the call),
``self.commands`` (load → check access → decide → save, once per Idempotency-Key) and
``self.read_model`` (the service's queries on behalf of the caller), and adds the RPC methods
every service answers (its log for catch-up, its dead letters, a readiness ping). ``rpc`` is
nameko's RPC entrypoint hardened for a broker that goes away and for messages no one should
send.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import amqp
import kombu.exceptions
from marshmallow import Schema
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc, RpcConsumer

from .aggregate import Aggregate
from .commands import Session
from .consumers import DeadLetterParker, ReliableQueueConsumer, catch_up
from .context import DEADLINE, IDEMPOTENCY_KEY, IF_MATCH, RequestScope
from .contracts import contracts_of_service, public_event
from .disclosure import published_section
from .errors import Forbidden, ValidationError
from .identity import Access, Identity, admins, hub_writers, signed_event
from .kernel import Kernel
from .logs import REQUEST_ID
from .push import HUB_STATES_SQL
from .readmodel import ReadModel
from .rpc import RPC_MESSAGE, RPC_REPLY_TO, caller_of
from .validation import dump, dump_page, load

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

log = logging.getLogger("eventstore.entrypoints")


BROKER_FAULTS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)


class ReliableRpcConsumer(RpcConsumer):
    """nameko's consumer of a service's RPC queue, except that no message can kill the
    service: nameko answers every request, even one for a method that does not exist, and a
    request with no answer queue or id (which any broker user may publish) made that answer
    raise in the consumer and stop the whole container, and the message, requeued, stopped
    the next one too. Such a request is dropped (no one waits for its answer), a body that is
    not JSON too, and an answer that cannot be sent is logged."""

    queue_consumer = ReliableQueueConsumer()

    def handle_message(self, body, message):
        properties = message.properties
        if not properties.get("reply_to") or not properties.get("correlation_id"):
            log.warning("an RPC request to %s with no answer queue or id was dropped",
                        message.delivery_info.get("routing_key"))
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_FAULTS as fault:
            log.warning("an answer could not be sent (%s: %s); the caller will time out",
                        type(fault).__name__, fault)
            return result, exc_info


class ReliableRpc(Rpc):
    """nameko's RPC entrypoint, hardened for a broker that goes away and for messages no one
    should send (``ReliableRpcConsumer``): an answer that cannot be sent is logged and dropped
    (the caller times out: 503) instead of killing the service's container, and the message's
    id travels with the worker so that a command delivered again (its acknowledgement lost
    with the connection) answers as the first time instead of being applied twice
    (``CommandRunner``)."""

    rpc_consumer = ReliableRpcConsumer()

    def handle_message(self, body, message):
        # The message's id (its AMQP correlation id: the same when RabbitMQ delivers it again,
        # as it does when the answer's acknowledgement was lost) and its reply queue, from the
        # message's properties, over any header of those names a client sent.
        message.headers = {**(message.headers or {}),
                           f"nameko.{RPC_MESSAGE}": message.properties.get("correlation_id"),
                           f"nameko.{RPC_REPLY_TO}": message.properties.get("reply_to")}
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_FAULTS as fault:
            log.warning("the answer to %s could not be sent (%s: %s); the caller will time "
                        "out", worker_ctx.call_id, type(fault).__name__, fault)
            return result, exc_info


rpc = ReliableRpc.decorator


class Caller(DependencyProvider):
    """``self.caller()`` in a worker: the identity the gateway put in the call context.

    Lazy, so that calls which need no identity (catch-up, dead letters) do not fail on it.
    """

    def get_dependency(self, worker_ctx) -> Callable[[], Identity]:
        return lambda: caller_of(worker_ctx)


class CommandRunner:
    """One command of one worker: load what it is about, check the caller may change it,
    decide, save (eventstore.commands.UnitOfWork). The Idempotency-Key and If-Match come from
    the call context, the idempotency fingerprint from the request itself (the entrypoint and
    its arguments), so no command lists what makes it 'the same'."""

    def __init__(self, kernel: Kernel, worker_ctx: Any) -> None:
        self.kernel = kernel
        self.worker_ctx = worker_ctx

    def on(self, what: type[A] | Callable[[Session, str], T], id_: str,
           decide: Callable[[Any, Session], Any],
           view: Callable[[Any, Session], Any] | None = None, *,
           access: Access = hub_writers, summary: Callable[[Any], Any] | None = None,
           changes_target: bool = True) -> Any:
        """A command on one object: ``what`` is an aggregate class, or a function that finds
        the object in the session (a record another service told about). ``decide(target,
        session)`` lets the domain decide and returns what ``view(result, session)`` answers
        (the target itself when it returns None). ``summary(answer)`` is what an Idempotency-Key
        keeps of an answer too large to keep whole (eventstore.commands.RECORD_LIMIT_BYTES),
        when the answer is not an aggregate the log can render again. ``changes_target=False``
        says the command only adds something under its target (enrolling a member in a hub):
        it need not queue behind the target's writers."""
        if isinstance(what, type) and issubclass(what, Aggregate):
            aggregate = what

            def find(session: Session) -> Any:
                return session.load(aggregate, str(id_))
        else:
            def find(session: Session) -> Any:
                return what(session, str(id_))  # type: ignore[call-arg]

        def locate(session: Session) -> Any:
            # The id the command was addressed by: a part's (a goal's, a cycle's) when the
            # target is the aggregate the part is in.
            session.target_id = str(id_)
            target = find(session)
            access(session.caller, target)
            return target
        return self._run(locate, decide, view, summary, queue=changes_target)

    def new(self, decide: Callable[[None, Session], Any],
            view: Callable[[Any, Session], Any] | None = None, *,
            access: Callable[[Identity], None],
            summary: Callable[[Any], Any] | None = None) -> Any:
        """A command about nothing that exists yet (registering a hub): ``access`` checks the
        caller alone."""
        def locate(session: Session) -> None:
            access(session.caller)
        return self._run(locate, decide, view, summary)

    def _run(self, locate: Callable[[Session], Any], decide: Callable[[Any, Session], Any],
             view: Callable[[Any, Session], Any] | None,
             summary: Callable[[Any], Any] | None = None, queue: bool = True) -> Any:
        ctx = self.worker_ctx
        caller = caller_of(ctx)
        key = ctx.data.get(IDEMPOTENCY_KEY)
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
            raise ValidationError("Idempotency-Key must be 1 to 200 characters",
                                  {"Idempotency-Key": ["1 to 200 characters"]})
        if key is None and ctx.data.get(RPC_MESSAGE):
            # No key from the client: the RPC message's own id is one, so a message delivered
            # twice is applied once.
            key = f"rpc:{ctx.data[RPC_MESSAGE]}"
        expected = _if_match(ctx.data.get(IF_MATCH))
        deadline = _deadline(ctx.data.get(DEADLINE))
        request = [ctx.service_name, ctx.entrypoint.method_name, list(ctx.args), ctx.kwargs]
        # The events the request causes carry its id: an operator follows it from the HTTP
        # answer through every service's log to the log of events.
        metadata = {"correlation_id": ctx.data[REQUEST_ID]} if ctx.data.get(REQUEST_ID) else {}

        def decided(target: Any, session: Session) -> Any:
            result = decide(target, session)
            return target if result is None else result

        def answer(result: Any, session: Session) -> Any:
            return result if view is None else view(result, session)

        return self.kernel.work.command(caller, locate, decided, answer, key=key,
                                        request=request, expected_version=expected,
                                        deadline=deadline, metadata=metadata, summary=summary,
                                        queue=queue)


def _deadline(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        raise ValidationError("the call's deadline is not a time") from None


def _if_match(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError('If-Match is an ETag like "3"',
                              {"If-Match": ['an ETag like "3"']}) from None


class Commands(DependencyProvider):
    """``self.commands`` in a worker: ``on(...)`` and ``new(...)`` (``CommandRunner``)."""

    def get_dependency(self, worker_ctx) -> CommandRunner:
        return CommandRunner(_kernel_of(self.container), worker_ctx)


class ReadModelAccess(DependencyProvider):
    """``self.read_model`` in a worker: the service's read model (``Kernel(read_model=...)``)
    in a read-only transaction on behalf of the caller, opened at the first query and ended
    with the worker."""

    def setup(self) -> None:
        self._open: dict[Any, Any] = {}

    def get_dependency(self, worker_ctx) -> ReadModel:
        kernel = _kernel_of(self.container)

        def open_transaction() -> Any:
            stack = ExitStack()
            self._open[worker_ctx] = stack
            return stack.enter_context(kernel.reading(caller))

        caller: Any = _LazyCaller(worker_ctx)   # an Identity, read when first needed
        return kernel.read_model(open_transaction, caller, kernel.store)

    def worker_teardown(self, worker_ctx) -> None:
        stack = self._open.pop(worker_ctx, None)
        if stack is not None:
            stack.close()


class _LazyCaller:
    """The worker's caller, read from the context when a query first needs it."""

    def __init__(self, worker_ctx: Any) -> None:
        self._ctx = worker_ctx
        self._identity: Identity | None = None

    def __getattr__(self, name: str) -> Any:
        if self._identity is None:
            self._identity = caller_of(self._ctx)
        return getattr(self._identity, name)


def _kernel_of(container: Any) -> Kernel:
    for dependency in container.dependencies:
        if isinstance(dependency, Kernel):
            return dependency
    raise TypeError(f"{container.service_name} needs a Kernel() dependency")


# What a command or query declares of itself: the schemas its route must name (a unit test
# holds every route table to them), its target, and whether it changes the target (If-Match).
@dataclass(frozen=True)
class Declared:
    body: type[Schema] | None
    answer: type[Schema] | None
    target: Any = None
    changes_target: bool = False
    paged: bool = False
    page_fields: type[Schema] | None = None


DECLARED = "__declared__"
Shows = Callable[[Any, Any, Session], Any]


def command(target: Any, body: type[Schema] | None, *, answer: type[Schema] | None = None,
            shows: Shows | None = None, access: Access | None = None,
            changes_target: bool = True, target_in: str | None = None,
            summary: Callable[[Any], Any] | None = None) -> Callable[[Callable], Any]:
    """Declare ``fn(self, target, data, session)`` a command of the service, called by RPC as
    ``(target_id, payload)``: the body is loaded through ``body`` (422 naming each bad field),
    the target found (an aggregate class, or a function ``(session, id)`` that finds a record
    another service told about) and the caller checked (``access``, the service's
    ``command_access`` by default), then ``fn`` lets the domain decide: it returns what the
    answer is about (the target when it returns None). The answer is ``answer`` dumped from
    ``shows(self, result, session)`` (the service's ``command_answer`` and ``command_shows``
    by default; the result itself without ``shows``).

    ``target=None`` declares a command about nothing that exists yet (registering a hub),
    called as ``(payload)``, with ``fn(self, data, session)``; its ``access`` takes the caller
    alone. ``changes_target=False``: the command adds something under its target without
    changing it (it does not queue behind the target's writers, nor honour If-Match).
    ``target_in``: the body names the target (``POST /v1/resources`` with ``hub_id``), and the
    RPC is called as ``(payload)``; the body is loaded first, so a bad id is a 422 naming it.
    ``summary`` is what an Idempotency-Key keeps of an answer too large to keep whole, when
    it is not an aggregate (eventstore.commands)."""

    def decorate(fn: Callable) -> Any:
        def answer_of(service: Any) -> Callable[[Any, Session], Any]:
            # Read off the class: the defaults are plain functions, not bound methods.
            schema = answer or type(service).command_answer
            show = shows if shows is not None else (
                type(service).command_shows if answer is None else None)
            return lambda result, session: dump(
                schema, result if show is None else show(service, result, session))

        def loaded(payload: dict | None) -> dict:
            return load(body, payload) if body is not None else {}

        def creates(self: Any, payload: dict | None = None) -> Any:
            data = loaded(payload)
            return self.commands.new(lambda _, session: fn(self, data, session),
                                     answer_of(self), access=access or admins, summary=summary)

        def on(self: Any, target_id: str, data: dict) -> Any:
            return self.commands.on(target, target_id,
                                    lambda found, session: fn(self, found, data, session),
                                    answer_of(self),
                                    access=access or type(self).command_access,
                                    summary=summary, changes_target=changes_target)

        def changes(self: Any, target_id: str, payload: dict | None = None) -> Any:
            return on(self, target_id, loaded(payload))

        def names(self: Any, payload: dict | None = None) -> Any:
            data = loaded(payload)
            return on(self, data[target_in], data)

        entry: Callable = (creates if target is None else
                           names if target_in is not None else changes)
        entry.__name__, entry.__qualname__ = fn.__name__, fn.__qualname__
        entry.__doc__, entry.__module__ = fn.__doc__, fn.__module__
        setattr(entry, DECLARED, Declared(body, answer, target, changes_target and
                                          target is not None))
        return rpc(entry)
    return decorate


def query(answer: type[Schema] | None, *, paged: bool = False,
          page_fields: type[Schema] | None = None) -> Callable[[Callable], Any]:
    """Declare ``fn`` a query of the service: what it returns is dumped through ``answer`` (a
    page of them when ``paged``: ``{"items": [...], "next": ...}``, with the fields of
    ``page_fields`` beside them); text it returns (another media type: an SVG, a calendar)
    goes out as it is."""
    def decorate(fn: Callable) -> Any:
        @functools.wraps(fn)
        def entry(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = fn(self, *args, **kwargs)
            if isinstance(result, str) or answer is None:
                return result
            return (dump_page(answer, result, page_fields) if paged
                    else dump(answer, result))
        setattr(entry, DECLARED, Declared(None, answer, paged=paged, page_fields=page_fields))
        return rpc(entry)
    return decorate


def declares(body: type[Schema] | None, answer: type[Schema] | None, *, target: Any = None,
             changes_target: bool = False) -> Callable[[Callable], Any]:
    """What an RPC in the explicit form (``self.commands.on`` after work that must come before
    the transaction) loads and answers, for the check of the route tables."""
    def decorate(fn: Callable) -> Any:
        setattr(fn, DECLARED, Declared(body, answer, target, changes_target))
        return fn
    return decorate


class KernelEntrypoints:
    """The dependencies every service's workers use, the RPC methods every service answers,
    and the parker of its dead letters."""

    kernel: Kernel
    # What a command of the service answers, and who may issue it, unless it says otherwise.
    command_access: ClassVar[Access] = hub_writers
    command_answer: ClassVar[type[Schema] | None] = None
    command_shows: ClassVar[Shows | None] = None
    if TYPE_CHECKING:   # what a worker sees (nameko injects it in place of the provider)
        caller: Callable[[], Identity]
        commands: CommandRunner
        read_model: ReadModel
    else:
        caller = Caller()
        commands = Commands()
        read_model = ReadModelAccess()
        request_scope = RequestScope()

    @rpc
    def ping(self) -> dict[str, bool]:
        """The gateway's readiness probe: the service takes RPC calls. Needs no identity, so
        an anonymous probe puts none on the bus, and tells nothing but that."""
        return {"ok": True}

    @rpc
    def read_events(self, after: list[int], limit: int = 500,
                    types: list[str] | None = None) -> dict[str, Any]:
        """A page of this service's log after the cursor ``after`` (catch-up, feeds): every
        hub's events, so only for the platform itself. The answer is signed for this request
        (``verify_page``): a catch-up keeps its ``next`` as its checkpoint."""
        from .identity import signed_page
        self.caller().require_platform()
        limit = max(1, min(int(limit), 5000))
        store = self.kernel.store
        start = [int(after[0]), int(after[1])]
        batch = store.read_all((start[0], start[1]), limit)
        wanted = set(types) if types else None
        service = self.kernel.container.service_name
        return signed_page(service, start, types, {
            "events": [signed_event(e.to_message(service)) for e in batch
                       if wanted is None or e.type in wanted],
            "next": list(batch[-1].cursor) if batch else start,
            "more": len(batch) == limit,
        })

    # Where this service learns each hub's state (membership's own table overrides): the
    # agencies' feed and push (eventstore.push) are decided by it.
    hub_states_sql: ClassVar[str] = HUB_STATES_SQL

    @rpc
    def public_events(self, after: list[int], limit: int = 500,
                      as_text: bool = False) -> dict[str, Any]:
        """A page of this service's log as the calling state agency may read it: the events
        of its state's hubs that have a public form, as CloudEvents (their public data only;
        eventstore.contracts.public_event), read after the cursor ``after`` as catch-up reads
        (the same horizon: nothing committed later under an earlier position is skipped).
        ``limit`` bounds the events read, not those shown: a page may be empty and ``next``
        still move on. ``as_text``: the events as one JSON array, text the gateway passes on
        as it is (a catch-up's pages are decoded and encoded once, not three times)."""
        caller = self.caller()
        if caller.role != "agency" or not caller.state:
            raise Forbidden(f"role {caller.role} may not read the agencies' feed")
        try:
            start = (int(after[0]), int(after[1]))
            limit = max(1, min(int(limit), 5000))
        except (TypeError, ValueError, IndexError, KeyError):
            raise ValidationError("after is a cursor of two whole numbers",
                                  {"after": ["[position, position]"]}) from None
        batch = self.kernel.store.read_all(start, limit)
        public = {c.type: c for c in contracts_of_service(type(self)) if c.public is not None}
        shown = [e for e in batch if e.type in public]
        if shown:
            with self.kernel.reading(Identity.system(self.kernel.container.service_name)) as cur:
                cur.execute(f"SELECT id FROM ({self.hub_states_sql}) h WHERE state = %s",
                            (caller.state,))
                hubs = {row[0] for row in cur.fetchall()}
            shown = [e for e in shown if (e.hub_id or e.stream_id) in hubs]
        events = [public_event(public[e.type], e) for e in shown]
        page: dict[str, Any] = {"next": list(batch[-1].cursor) if batch else list(start),
                                "more": len(batch) == limit}
        if as_text:
            return {**page, "count": len(events), "events_json": json.dumps(events)}
        return {**page, "events": events,
                "cursors": [list(e.cursor) for e in shown]}   # where to go on after each

    def summary_of(self, cur: Any, hubs: list[str]) -> dict[str, dict[str, Any]]:
        """The service's part of the agencies' summary: per hub of the agency's state, its
        sections (a ``disclosure.Counts`` table is suppressed by ``agency_summary``). A service
        with a part overrides this."""
        return {}

    @rpc
    def agency_summary(self) -> dict[str, dict[str, Any]]:
        """Per hub of the calling agency's state, this service's sections of the summary, as
        they may leave the platform (eventstore.disclosure)."""
        caller = self.caller()
        if caller.role != "agency" or not caller.state:
            raise Forbidden(f"role {caller.role} may not read the agencies' summary")
        with self.kernel.reading(Identity.system(self.kernel.container.service_name)) as cur:
            cur.execute(f"SELECT id FROM ({self.hub_states_sql}) h WHERE state = %s",
                        (caller.state,))
            hubs = sorted(row[0] for row in cur.fetchall())
            sections = self.summary_of(cur, hubs) if hubs else {}
        return {hub: {name: published_section(value) for name, value in found.items()}
                for hub, found in sections.items() if hub in hubs}

    @rpc
    def catch_up(self, source: str) -> dict[str, int]:
        """Re-read ``source``'s log through this service's consumers of it (inbox dedups)."""
        self.caller().require_platform()
        with self.kernel.rpc_to_services(timeout=60) as cluster:
            proxy = getattr(cluster, source)
            return catch_up(type(self), self, source,
                            lambda after, limit, types: proxy.read_events(after, limit, types))

    # -- the operator's controls (eventstore.operations; the gateway's operator routes) -------

    def _operator(self) -> Identity:
        caller = self.caller()
        caller.require_platform()
        return caller

    @rpc
    def dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        self._operator()
        return self.kernel.operations.letters(include_replayed)

    @rpc
    def dead_letter(self, letter_id: Any) -> dict[str, Any]:
        self._operator()
        return self.kernel.operations.letter(letter_id)

    @rpc
    def replay_dead_letter(self, letter_id: Any) -> None:
        caller = self._operator()
        self.kernel.operations.replay(caller.sub, caller.role, letter_id)

    @rpc
    def replay_dead_letters(self) -> dict[str, Any]:
        caller = self._operator()
        return self.kernel.operations.replay_all(caller.sub, caller.role)

    @rpc
    def start_rebuild(self, projections: list[str] | None = None) -> dict[str, Any]:
        caller = self._operator()
        return self.kernel.operations.start_rebuild(caller.sub, caller.role, projections,
                                                    self.kernel.spawn)

    @rpc
    def rebuild_progress(self, rebuild_id: Any) -> dict[str, Any]:
        self._operator()
        return self.kernel.operations.rebuild_progress(rebuild_id)

    @rpc
    def lag(self) -> dict[str, Any]:
        self._operator()
        return self.kernel.operations.lag(self.kernel.queue_depths())

    @rpc
    def operator_actions(self, limit: int = 100) -> list[dict[str, Any]]:
        self._operator()
        return self.kernel.operations.actions(limit)

    @DeadLetterParker.decorator
    def park_dead_letter(self, body: Any, headers: dict[str, Any]) -> None:
        self.kernel.dead_letters.park(body, headers)
