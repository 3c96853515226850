"""Who is calling: the identity the gateway authenticated, carried to services in the nameko
call context, and checked again by every service (DESIGN.md §5).

The header is signed (HMAC-SHA256 with ``CONSORTIUM_IDENTITY_SECRET``, shared by the gateway,
the services and operator tools) for one RPC message: the method it calls, the message's
correlation id and reply queue, a digest of its arguments, and a minute's life. A header copied
off the broker is good for nothing but that very message, which the service answers once, to
the queue that asked (docs/decisions/004-tenancy-and-identity.md). A service's own identity
(catch-up) opens the kernel's RPC methods and no hub's objects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import check_secret, secret
from .errors import Forbidden, ForgedEvent, NotFound, Unauthorized

ROLES = ("admin", "facilitator", "member", "agency", "operator")
# A service acting on its own account (a consumer deciding, a catch-up reading another
# service's log); never in a token.
SERVICE_ROLE = "service"
# Roles that may hold "*" (every hub); any other role names its hubs.
SPANNING_ROLES = ("admin", SERVICE_ROLE)
# Who may read a service's raw log and its dead letters (the kernel's own RPC methods).
PLATFORM_ROLES = ("admin", "operator", SERVICE_ROLE)
# How long a signed call is accepted after it was signed: the wait in the service's queue
# (at most the caller's timeout) and clock skew between hosts, and no longer.
CALL_SECONDS = 60
CONTEXT_KEY = "identity"  # travels as the AMQP header nameko.identity
IDENTITY_SECRET = "CONSORTIUM_IDENTITY_SECRET"


def identity_secret() -> str:
    value = secret(IDENTITY_SECRET)
    if not value:
        raise Unauthorized(check_secret(IDENTITY_SECRET) or "no identity secret")
    return value


def check_identity_secret() -> str | None:
    return check_secret(IDENTITY_SECRET)


def _signature(body: str) -> str:
    return hmac.new(identity_secret().encode(), body.encode(), hashlib.sha256).hexdigest()


# -- where an event came from -------------------------------------------------------------
# Every event a service publishes (the relay) or serves (read_events) is signed with a key of
# its own derived from the identity secret; consumers refuse one whose signature does not hold,
# so a client that may publish on the broker cannot put words in a service's mouth
# (docs/decisions/004-tenancy-and-identity.md).

def _event_key(source: str) -> bytes:
    return hmac.new(identity_secret().encode(), f"events:{source}".encode(),
                    hashlib.sha256).digest()


def _canonical(body: dict) -> bytes:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def signed_event(body: dict) -> dict:
    """An event message (``RecordedEvent.to_message``) with its source's signature."""
    signature = hmac.new(_event_key(str(body["source"])), _canonical(body),
                         hashlib.sha256).hexdigest()
    return {**body, "signature": signature}


def verify_event(body: Any, source: str) -> None:
    """Refuse a message that is not an event signed by ``source``."""
    if not isinstance(body, dict) or body.get("source") != source:
        raise ForgedEvent(f"not an event of {source}")
    signature = body.get("signature")
    expected = hmac.new(_event_key(source), _canonical(body), hashlib.sha256).hexdigest()
    # compare_digest raises TypeError on non-ASCII text: anything but a hex digest is forged.
    if not (isinstance(signature, str) and _is_digest(signature)
            and hmac.compare_digest(signature, expected)):
        raise ForgedEvent(f"an event that {source} did not sign")


def _is_digest(signature: Any) -> bool:
    return (isinstance(signature, str) and len(signature) == 64
            and all(c in "0123456789abcdef" for c in signature))


# A page of a service's log (its read_events answer) is signed too, with the same key and a
# prefix no event's canonical form starts with: the request it answers (the cursor ``after``
# and the event types asked for), the cursor ``next`` a catch-up keeps as its checkpoint, and
# the events' own signatures, so a forged answer can neither move that checkpoint past events
# nor leave any out.

def _page_canonical(page: dict, after: Any, types: Any) -> bytes:
    events = page.get("events")
    answer = {
        "after": [int(after[0]), int(after[1])],
        "types": sorted({str(t) for t in types}) if types else [],
        "next": page.get("next"), "more": page.get("more"),
        "events": [e.get("signature") if isinstance(e, dict) else None
                   for e in (events if isinstance(events, list) else [])],
    }
    return b"read_events\n" + json.dumps(answer, sort_keys=True, separators=(",", ":")).encode()


def signed_page(source: str, after: Any, types: Any, page: dict) -> dict:
    """``source``'s answer ``page`` to ``read_events(after, types=types)``, signed."""
    signature = hmac.new(_event_key(source), _page_canonical(page, after, types),
                         hashlib.sha256).hexdigest()
    return {**page, "signature": signature}


def verify_page(page: Any, source: str, after: Any, types: Any) -> None:
    """Refuse an answer to ``read_events(after, types=types)`` that ``source`` did not sign."""
    if not isinstance(page, dict) or not _is_digest(page.get("signature")):
        raise ForgedEvent(f"a page of the log that {source} did not sign")
    try:
        expected = hmac.new(_event_key(source), _page_canonical(page, after, types),
                            hashlib.sha256).hexdigest()
    except (TypeError, ValueError):
        raise ForgedEvent(f"a page of the log that {source} did not sign") from None
    if not hmac.compare_digest(page["signature"], expected):
        raise ForgedEvent(f"a page of the log that {source} did not sign, or not for the "
                          f"cursor {list(after)}")


@dataclass(frozen=True)
class Call:
    """The one RPC message a signed identity is good for."""

    method: str           # "membership.get_person": the service and the method called
    correlation_id: str   # the message's own id
    reply_to: str         # where its answer goes
    arguments: str        # call_digest of its arguments

    def as_dict(self) -> dict[str, str]:
        return {"method": self.method, "correlation_id": self.correlation_id,
                "reply_to": self.reply_to, "arguments": self.arguments}


def call_digest(args: Any, kwargs: Any) -> str:
    """A digest of a call's arguments as the service receives them: decoded JSON."""
    decoded = json.loads(json.dumps([list(args), dict(kwargs)], default=str))
    canonical = json.dumps(decoded, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    sub: str
    role: str
    hubs: tuple[str, ...] = ()
    member: str | None = None
    state: str | None = None
    # When the signed header stops being accepted (epoch seconds); None: not signed yet.
    expires: float | None = field(default=None, compare=False)
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def service(cls, name: str) -> Identity:
        """A service calling another's kernel RPC methods (catch-up): no hub's objects."""
        return cls(sub=f"service:{name}", role=SERVICE_ROLE)

    @classmethod
    def system(cls, name: str) -> Identity:
        """A service deciding on its own account inside its process (a consumer, a
        projection): every hub, and never signed onto a message."""
        return cls(sub=f"service:{name}", role=SERVICE_ROLE, hubs=("*",))

    @property
    def all_hubs(self) -> bool:
        return self.role == "admin" or (self.role in SPANNING_ROLES and "*" in self.hubs)

    def may_read_hub(self, hub_id: str | None) -> bool:
        return self.all_hubs or (hub_id is not None and hub_id in self.hubs
                                 and self.role in ("facilitator", "member"))

    def may_write_hub(self, hub_id: str | None) -> bool:
        return self.all_hubs or (hub_id is not None and hub_id in self.hubs
                                 and self.role == "facilitator")

    def require_read(self, hub_id: str | None, what: str) -> None:
        # Another hub's objects are reported as unknown, not forbidden: their existence is
        # county data too.
        if not self.may_read_hub(hub_id):
            raise NotFound(f"no {what}")

    def require_write(self, hub_id: str | None, what: str) -> None:
        self.require_read(hub_id, what)
        if not self.may_write_hub(hub_id):
            raise Forbidden(f"role {self.role} may not change this {what}")

    def require_project_write(self, hub_id: str | None, member_id: str | None,
                              what: str) -> None:
        """A member's own improvement work: its hub's facilitators, or the member itself."""
        self.require_read(hub_id, what)
        if self.may_write_hub(hub_id):
            return
        if not (self.role == "member" and member_id is not None and self.member == member_id):
            raise Forbidden(f"role {self.role} may not change this {what}")

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("only a consortium admin may do this")

    def require_platform(self) -> None:
        """The platform's own machinery (every hub's raw log, dead letters): a service, an
        operator or the consortium admin."""
        if self.role not in PLATFORM_ROLES:
            raise Forbidden(f"role {self.role} may not read the platform's logs")

    def claims(self) -> str:
        """Who the caller is, unsigned: what a worker keeps until a call signs it."""
        return json.dumps({"sub": self.sub, "role": self.role, "hubs": list(self.hubs),
                           "member": self.member, "state": self.state,
                           "exp": self.expires}, sort_keys=True)

    @classmethod
    def from_claims(cls, claims: str) -> Identity:
        data = json.loads(claims)
        return cls(sub=str(data["sub"]), role=data["role"],
                   hubs=tuple(str(h) for h in data.get("hubs") or ()),
                   member=data.get("member"), state=data.get("state"),
                   expires=None if data.get("exp") is None else float(data["exp"]))

    def to_header(self, call: Call) -> str:
        """The identity signed for one RPC message, for a minute at most."""
        if self.role == SERVICE_ROLE and "*" in self.hubs:
            raise ValueError("a service acting for every hub never leaves its process")
        expires = time.time() + CALL_SECONDS
        if self.expires is not None:
            expires = min(expires, self.expires)
        body = json.dumps({"sub": self.sub, "role": self.role, "hubs": list(self.hubs),
                           "member": self.member, "state": self.state,
                           "exp": round(expires, 3), "call": call.as_dict()}, sort_keys=True)
        return json.dumps({"identity": body, "sig": _signature(body)})

    @classmethod
    def from_header(cls, value: str | None, call: Call) -> Identity:
        """The caller of ``call``, if ``value`` is an identity signed for that very call."""
        if not value:
            raise Unauthorized("no caller identity in the call context")
        try:
            signed = json.loads(value)
            body, sig = signed["identity"], signed["sig"]
            if not (isinstance(body, str) and isinstance(sig, str) and sig.isascii()):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("malformed caller identity") from None
        if not hmac.compare_digest(sig, _signature(body)):
            raise Unauthorized("the caller identity is not signed by the gateway")
        try:
            data = json.loads(body)
            identity = cls(sub=str(data["sub"]), role=data["role"],
                           hubs=tuple(str(h) for h in data.get("hubs") or ()),
                           member=data.get("member"), state=data.get("state"),
                           expires=float(data["exp"]))
            signed_for = data["call"]
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("malformed caller identity") from None
        if signed_for != call.as_dict():
            # Copied from another message: another method, arguments, or answer queue.
            raise Unauthorized("the caller identity was signed for another call")
        if identity.role not in (*ROLES, SERVICE_ROLE):
            raise Unauthorized(f"unknown role {identity.role!r}")
        if "*" in identity.hubs and identity.role not in ("admin",):
            raise Unauthorized(f"role {identity.role} may not span every hub")
        if identity.expires is not None and identity.expires < time.time():
            raise Unauthorized("the caller identity has expired")
        return identity

    def metadata(self) -> dict[str, str]:
        """What events record of the caller: ids and role, never names."""
        return {"actor": self.sub, "role": self.role}


SYSTEM = Identity(sub="system", role="admin", hubs=("*",))


# Who may change an object: each takes the caller and the object (anything with ``hub_id``,
# ``id`` and a ``noun``; an aggregate, or a record a read model returns) and refuses with
# NotFound (another hub's object) or Forbidden (a role that may not).
Access = Callable[[Identity, Any], None]


def _what(target: Any) -> str:
    # "no member mem-1": another hub's object is refused in the very words of a missing one.
    noun = getattr(target, "noun", "") or type(target).__name__.lower()
    return f"{noun} {getattr(target, 'id', '')}".strip()


def hub_writers(caller: Identity, target: Any) -> None:
    """Facilitators of the object's hub (and admins)."""
    caller.require_write(target.hub_id, _what(target))


def hub_readers(caller: Identity, target: Any) -> None:
    """Anyone who may read the object's hub."""
    caller.require_read(target.hub_id, _what(target))


def hub_people(caller: Identity, target: Any) -> None:
    """The people of the object's hub who act in it: its facilitators (and admins) and its
    members (a member shares into its hub's library, answers for its people's RSVPs); not an
    agency or an operator, who read and never act in a hub."""
    caller.require_read(target.hub_id, _what(target))
    if caller.role not in ("admin", "facilitator", "member"):
        raise Forbidden(f"role {caller.role} may not act in {_what(target)}")


def facilitators(caller: Identity, target: Any = None) -> None:
    """Some hub's facilitator (or an admin), whatever the target's hub: for a command whose
    body names the hub it acts for, which the command checks (joining another hub's
    engagement, keeping a shared expert's calendar)."""
    if caller.role not in ("admin", "facilitator"):
        raise Forbidden(f"role {caller.role} may not do this")


def member_work(caller: Identity, target: Any) -> None:
    """A member's own improvement work: its hub's facilitators, or the member itself."""
    caller.require_project_write(target.hub_id, target.member_id, _what(target))


def admins(caller: Identity, target: Any = None) -> None:
    caller.require_admin()
