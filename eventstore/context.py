"""The call context: what travels with an RPC call besides its arguments, and what every
process that makes or serves calls needs of it, without the service machinery (the gateway
imports this module, not the kernel's).

- The keys under which the gateway passes a command's Idempotency-Key, If-Match and deadline
  (nameko carries a worker's context data to the service as message headers); the caller's
  identity travels signed per message (eventstore.rpc).
- ``RequestScope``: the request id on every log line of the worker.
- ``register_remote_errors``: nameko rebuilds the platform's errors on the calling side.
"""

from __future__ import annotations

import functools

from nameko.extensions import DependencyProvider

from .errors import ERRORS, rebuild
from .logs import REQUEST_ID, set_request_id


def register_remote_errors() -> None:
    """Let nameko rebuild our errors on the calling side, field errors included."""
    from nameko.exceptions import registry
    for cls in ERRORS.values():
        registry[f"{cls.__module__}.{cls.__name__}"] = functools.partial(rebuild, cls)


register_remote_errors()


# What the gateway passes with a command besides the caller (nameko carries context data to
# the service as message headers): the HTTP request's Idempotency-Key and If-Match, and the
# moment (epoch seconds) after which it will have answered 503 and nothing may commit.
IDEMPOTENCY_KEY = "idempotency_key"
IF_MATCH = "if_match"
DEADLINE = "deadline"


class RequestScope(DependencyProvider):
    """Keeps the id of the request a worker serves in a green-thread local while it runs, so
    every log line of the request carries it (eventstore.logs)."""

    def worker_setup(self, worker_ctx) -> None:
        set_request_id(worker_ctx.data.get(REQUEST_ID))

    def worker_teardown(self, worker_ctx) -> None:
        set_request_id(None)

