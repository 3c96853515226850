"""Routes the gateway answers itself, by asking the services (the agencies' feed and summary,
gateway/feed.py; the operator's controls, gateway/operations.py). Each is a method, named by
its route's ``rpc``, of a class of this base; the gateway makes one per request with what it
needs, and sends what the method returns (a dict, or JSON text it passes on as it is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from eventstore.errors import ValidationError
from eventstore.identity import Identity
from eventstore.routes import Route


class OwnRoutes:
    """``call(service, method, *args)`` asks one service as the caller; ``each(method, *args,
    only=None)`` every one (or ``only`` these) at once, giving the answers and the names of
    those that could not be reached; ``sleep`` yields to the gateway's other requests."""

    routes: ClassVar[list[Route]] = []

    def __init__(self, services: list[str], identity: Identity, call: Callable[..., Any],
                 each: Callable[..., tuple[dict[str, Any], list[str]]],
                 sleep: Callable[[float], Any]) -> None:
        self.services = services
        self.identity = identity
        self.call = call
        self.each = each
        self.sleep = sleep

    def chosen(self, asked: dict[str, Any]) -> list[str]:
        """The services a request names in its ``service`` (all, if it names none)."""
        service = asked.get("service")
        if service is None:
            return self.services
        if service not in self.services:
            raise ValidationError(f"no service {service[:40]!r}",
                                  {"service": [f"one of {', '.join(self.services)}"]})
        return [service]
