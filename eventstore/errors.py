"""The one error hierarchy of the platform.

Domain code, the event store and the services raise these; the gateway maps each to an HTTP
status in one place (``status``), and nameko carries them across RPC by class name. Nothing here
imports nameko, so domain modules may raise them freely.
"""

from __future__ import annotations

import json
from typing import Any


class ConsortiumError(Exception):
    """Base of every error a client or operator may be shown."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        # (detail, extra) as args: nameko carries exception args across RPC, so the gateway
        # gets the field errors back, not only the message.
        super().__init__(detail or self.title, json.dumps(extra, default=str))
        self.detail = detail or self.title
        self.extra = extra

    def __str__(self) -> str:
        return self.detail

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "title": self.title, "status": self.status,
                "detail": self.detail, **self.extra}


class ValidationError(ConsortiumError):
    """Input that can never succeed as sent. ``errors`` maps each bad field to its messages."""

    status = 422
    title = "Invalid input"

    def __init__(self, detail: str = "", errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail, errors=errors or {})
        self.errors = errors or {}


class InvalidEvent(ValidationError):
    title = "Invalid event"


class IdempotencyKeyReused(ValidationError):
    title = "Idempotency key reused with a different request"


class NotFound(ConsortiumError):
    status = 404
    title = "Not found"


class StreamNotFound(NotFound):
    title = "Stream not found"


class PoisonMessage(ConsortiumError):
    """A message no retry can handle: it is dead-lettered at once, with the reason."""

    status = 422
    title = "Message refused"


class ForgedEvent(PoisonMessage):
    title = "Event not signed by its source"


class Forbidden(ConsortiumError):
    status = 403
    title = "Forbidden"


class Unauthorized(ConsortiumError):
    status = 401
    title = "Unauthorized"


class Conflict(ConsortiumError):
    """The request is well formed but refused by the current state (an invariant)."""

    status = 409
    title = "Conflict"


class WrongExpectedVersion(Conflict):
    """Optimistic concurrency: the stream moved since the caller read it."""

    title = "Version conflict"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}",
            stream_id=stream_id, expected_version=expected, actual_version=actual,
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class PreconditionFailed(ConsortiumError):
    """A conditional write (``If-Match``) whose condition no longer holds."""

    status = 412
    title = "Precondition failed"


class BadRequestProblem(ConsortiumError):
    """A request that could not be read at all (a body cut short, broken chunking)."""

    status = 400
    title = "Bad request"


class MethodNotAllowedProblem(ConsortiumError):
    status = 405
    title = "Method not allowed"


class RequestTimedOut(ConsortiumError):
    """A client that stopped sending, or sent slower than the floor rate."""

    status = 408
    title = "Request timeout"


class RequestLineTooLong(ConsortiumError):
    """A request line (method, path and query) longer than the gateway reads."""

    status = 414
    title = "URI too long"


class HeaderFieldsTooLarge(ConsortiumError):
    """A header line, or all the headers together, longer than the gateway reads."""

    status = 431
    title = "Request header fields too large"


class MethodNotImplemented(ConsortiumError):
    """A method HTTP does not define."""

    status = 501
    title = "Not implemented"


class PayloadTooLarge(ConsortiumError):
    status = 413
    title = "Payload too large"


class ServiceUnavailable(ConsortiumError):
    """A service did not answer in time (the caller may retry)."""

    status = 503
    title = "Service unavailable"


class DeadlinePassed(ServiceUnavailable):
    """The caller stopped waiting before the command could commit: it is not applied, and
    never will be (the gateway answered 503)."""

    title = "Deadline passed"


def rebuild(cls: type[ConsortiumError], detail: str = "", extra: str = "{}"
            ) -> ConsortiumError:
    """Recreate an error from its (detail, extra as JSON) args, whatever its constructor
    takes; JSON because nameko turns non-string values in exception args into strings."""
    error = cls.__new__(cls)
    try:
        fields = json.loads(extra) if isinstance(extra, str) else dict(extra or {})
    except ValueError:
        fields = {}
    ConsortiumError.__init__(error, detail, **fields)
    if isinstance(error, ValidationError):
        error.errors = error.extra.get("errors", {})
    return error


ERRORS: dict[str, type[ConsortiumError]] = {
    cls.__name__: cls
    for cls in (ConsortiumError, ValidationError, InvalidEvent, IdempotencyKeyReused, NotFound,
                PoisonMessage, ForgedEvent,
                StreamNotFound, Forbidden, Unauthorized, Conflict, WrongExpectedVersion,
                PreconditionFailed, PayloadTooLarge, ServiceUnavailable, DeadlinePassed,
                BadRequestProblem, MethodNotAllowedProblem, RequestTimedOut,
                MethodNotImplemented)
}
