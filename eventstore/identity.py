"""Who is calling: the identity the gateway authenticated, carried to services in the nameko
call context, and checked again by every service (DESIGN.md §5).

The header is signed (HMAC-SHA256 with ``CONSORTIUM_IDENTITY_SECRET``, shared by the gateway,
the services and operator tools): a client that may publish on the broker's RPC exchange still
cannot make itself an admin (docs/decisions/004-tenancy-and-identity.md).
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
# How long a signed identity is good for: at most the token's own life, and a short while, so a
# header captured on the broker soon opens nothing. Services sign their own for longer work.
IDENTITY_SECONDS = 300
SERVICE_IDENTITY_SECONDS = 3600
CONTEXT_KEY = "identity"  # travels as the AMQP header nameko.identity
IDENTITY_SECRET = "CONSORTIUM_IDENTITY_SECRET"
DEV_IDENTITY_SECRET = "consortium-development-identity-secret-not-for-production"


def identity_secret() -> str:
    return secret(IDENTITY_SECRET, DEV_IDENTITY_SECRET)


def check_identity_secret() -> str | None:
    return check_secret(IDENTITY_SECRET, DEV_IDENTITY_SECRET)


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
    if not isinstance(signature, str) or not hmac.compare_digest(signature, expected):
        raise ForgedEvent(f"an event that {source} did not sign")


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
        return cls(sub=f"service:{name}", role=SERVICE_ROLE, hubs=("*",),
                   expires=time.time() + SERVICE_IDENTITY_SECONDS)

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

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this")

    def require_platform(self) -> None:
        """The platform's own machinery (every hub's raw log, dead letters): a service, an
        operator or the consortium admin."""
        if self.role not in PLATFORM_ROLES:
            raise Forbidden(f"role {self.role} may not read the platform's logs")

    def to_header(self) -> str:
        expires = self.expires if self.expires is not None else time.time() + IDENTITY_SECONDS
        body = json.dumps({"sub": self.sub, "role": self.role, "hubs": list(self.hubs),
                           "member": self.member, "state": self.state,
                           "exp": round(expires, 3)}, sort_keys=True)
        return json.dumps({"identity": body, "sig": _signature(body)})

    @classmethod
    def from_header(cls, value: str | None) -> Identity:
        if not value:
            raise Unauthorized("no caller identity in the call context")
        try:
            signed = json.loads(value)
            body, sig = signed["identity"], signed["sig"]
            if not (isinstance(body, str) and isinstance(sig, str)):
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
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("malformed caller identity") from None
        if identity.role not in (*ROLES, SERVICE_ROLE):
            raise Unauthorized(f"unknown role {identity.role!r}")
        if "*" in identity.hubs and identity.role not in SPANNING_ROLES:
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


def member_work(caller: Identity, target: Any) -> None:
    """A member's own improvement work: its hub's facilitators, or the member itself."""
    caller.require_project_write(target.hub_id, target.member_id, _what(target))


def admins(caller: Identity, target: Any = None) -> None:
    caller.require_admin()
