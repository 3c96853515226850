"""RPC calls that carry the caller's identity signed for each message.

nameko copies a worker's context data into the headers of every RPC message it sends. The
caller's identity must not travel that way, valid for anything: a header copied off the broker
would open every call its claims allow, for as long as it lives. Here the context keeps the
identity's unsigned claims (``Identity.claims``), and each message is given its own signature
over the method it calls, its correlation id, its reply queue and its arguments
(``Identity.to_header(Call(...))``); the service checks all of them (``caller_of``).

    class Gateway:
        membership = SignedRpcProxy("membership")        # in a nameko service

    with signed_rpc(amqp_uri, identity, "membership-catch-up", timeout=30) as cluster:
        cluster.cycles.read_events([0, 0], 500)         # outside one (catch-up, the CLI)
"""

from __future__ import annotations

import uuid
from typing import Any

from nameko.amqp.publish import UndeliverableMessage
from nameko.containers import WorkerContext
from nameko.exceptions import UnknownService
from nameko.rpc import MethodProxy, RpcProxy, RpcReply, ServiceProxy, get_rpc_exchange
from nameko.standalone.rpc import ClusterProxy, ClusterRpcProxy, StandaloneProxyBase

from .identity import CONTEXT_KEY, Call, Identity, call_digest

# Where a service finds what it needs to check a message's identity: nameko's RPC entrypoint
# puts these into the worker's context from the message's own properties
# (eventstore.entrypoints.ReliableRpc), so a client cannot choose them.
RPC_MESSAGE = "rpc_message"
RPC_REPLY_TO = "rpc_reply_to"


class SignedMethodProxy(MethodProxy):
    """nameko's method proxy, with the identity signed for the one message it sends."""

    def _call(self, *args: Any, **kwargs: Any) -> RpcReply:
        # nameko's own _call, but for the header signed with the message's correlation id.
        exchange = get_rpc_exchange(self.container.config)
        routing_key = f"{self.service_name}.{self.method_name}"
        reply_to = self.reply_listener.routing_key
        correlation_id = str(uuid.uuid4())
        headers = self.get_message_headers(self.worker_ctx)
        header = self._get_header_name(CONTEXT_KEY)
        claims = headers.pop(header, None)
        if claims:
            call = Call(routing_key, correlation_id, reply_to, call_digest(args, kwargs))
            headers[header] = Identity.from_claims(claims).to_header(call)
        reply_event = self.reply_listener.get_reply_event(correlation_id)
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs}, exchange=exchange, routing_key=routing_key,
                mandatory=True, reply_to=reply_to, correlation_id=correlation_id,
                extra_headers=headers)
        except UndeliverableMessage:
            raise UnknownService(self.service_name) from None
        return RpcReply(reply_event)


class SignedServiceProxy(ServiceProxy):
    def __getattr__(self, name: str) -> SignedMethodProxy:
        return SignedMethodProxy(self.worker_ctx, self.service_name, name,
                                 self.reply_listener, **self.options)


class SignedRpcProxy(RpcProxy):
    """``RpcProxy`` for a nameko service (the gateway): the worker's identity, kept as claims
    under ``CONTEXT_KEY``, is signed for each call."""

    def get_dependency(self, worker_ctx: WorkerContext) -> SignedServiceProxy:
        return SignedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                  **self.options)


class _SignedClusterProxy(ClusterProxy):
    def __getattr__(self, name: str) -> SignedServiceProxy:
        if name not in self._proxies:
            self._proxies[name] = SignedServiceProxy(self._worker_ctx, name,
                                                     self._reply_listener)
        return self._proxies[name]


class SignedClusterRpcProxy(ClusterRpcProxy):
    """nameko's standalone cluster proxy, calling as ``identity`` (signed per message); its
    reply queue is named after ``name`` (``rpc.reply-<name>-<uuid>``), which the caller's
    broker user may read."""

    def __init__(self, config: dict[str, Any], identity: Identity | None, name: str,
                 timeout: float | None = None, context: dict[str, Any] | None = None) -> None:
        self.ServiceContainer = type(
            "Container", (StandaloneProxyBase.ServiceContainer,), {"service_name": name})
        data = dict(context or {})
        if identity is not None:
            data[CONTEXT_KEY] = identity.claims()
        super().__init__(config, context_data=data, timeout=timeout)
        self._proxy = _SignedClusterProxy(self._worker_ctx, self._reply_listener)


def signed_rpc(amqp_uri: str, identity: Identity | None, name: str,
               timeout: float | None = None, context: dict[str, Any] | None = None
               ) -> SignedClusterRpcProxy:
    """A client of the services' RPC outside a nameko service, calling as ``identity``."""
    return SignedClusterRpcProxy({"AMQP_URI": amqp_uri}, identity, name, timeout, context)


def call_of(worker_ctx: WorkerContext) -> Call:
    """The message a worker serves, as its signed identity must name it."""
    data = worker_ctx.data
    method = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
    return Call(method, str(data.get(RPC_MESSAGE) or ""), str(data.get(RPC_REPLY_TO) or ""),
                call_digest(worker_ctx.args, worker_ctx.kwargs))


def caller_of(worker_ctx: WorkerContext) -> Identity:
    """The identity signed for the message this worker serves (checked once per worker)."""
    known = getattr(worker_ctx, "_consortium_caller", None)
    if known is None:
        known = Identity.from_header(worker_ctx.data.get(CONTEXT_KEY), call_of(worker_ctx))
        worker_ctx._consortium_caller = known
    return known
