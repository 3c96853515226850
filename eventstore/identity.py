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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import check_secret, secret
from .errors import Forbidden, NotFound, Unauthorized

ROLES = ("admin", "facilitator", "member", "agency", "operator")
# A service acting on its own account (a consumer deciding on another service's event); never
# in a token.
SERVICE_ROLE = "service"
CONTEXT_KEY = "identity"  # travels as the AMQP header nameko.identity
IDENTITY_SECRET = "CONSORTIUM_IDENTITY_SECRET"
DEV_IDENTITY_SECRET = "consortium-development-identity-secret-not-for-production"


def identity_secret() -> str:
    return secret(IDENTITY_SECRET, DEV_IDENTITY_SECRET)


def check_identity_secret() -> str | None:
    return check_secret(IDENTITY_SECRET, DEV_IDENTITY_SECRET)


def _signature(body: str) -> str:
    return hmac.new(identity_secret().encode(), body.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Identity:
    sub: str
    role: str
    hubs: tuple[str, ...] = ()
    member: str | None = None
    state: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def service(cls, name: str) -> Identity:
        return cls(sub=f"service:{name}", role=SERVICE_ROLE, hubs=("*",))

    @property
    def all_hubs(self) -> bool:
        return "*" in self.hubs or self.role == "admin"

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

    def to_header(self) -> str:
        body = json.dumps({"sub": self.sub, "role": self.role, "hubs": list(self.hubs),
                           "member": self.member, "state": self.state}, sort_keys=True)
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
                           member=data.get("member"), state=data.get("state"))
        except (ValueError, KeyError, TypeError):
            raise Unauthorized("malformed caller identity") from None
        if identity.role not in ROLES:
            raise Unauthorized(f"unknown role {identity.role!r}")
        return identity

    def metadata(self) -> dict[str, str]:
        """What events record of the caller: ids and role, never names."""
        return {"actor": self.sub, "role": self.role}


SYSTEM = Identity(sub="system", role="admin", hubs=("*",))


# Who may change an object: each takes the caller and the object (anything with ``hub_id``,
# ``id`` and a ``noun``; an aggregate, or a record a read model returns) and refuses with
# NotFound (another hub's object) or Forbidden (a role that may not).
Access = Callable[[Identity, Any], None]


def _noun(target: Any) -> str:
    return getattr(target, "noun", "") or type(target).__name__.lower()


def hub_writers(caller: Identity, target: Any) -> None:
    """Facilitators of the object's hub (and admins)."""
    caller.require_write(target.hub_id, _noun(target))


def hub_readers(caller: Identity, target: Any) -> None:
    """Anyone who may read the object's hub."""
    caller.require_read(target.hub_id, _noun(target))


def member_work(caller: Identity, target: Any) -> None:
    """A member's own improvement work: its hub's facilitators, or the member itself."""
    caller.require_project_write(target.hub_id, target.member_id, _noun(target))


def admins(caller: Identity, target: Any = None) -> None:
    caller.require_admin()
