"""Bearer tokens (API.md): HS256 JWTs with sub, role, hubs, member, state and exp."""

from __future__ import annotations

import time

import jwt

from eventstore import config
from eventstore.errors import Unauthorized
from eventstore.identity import (
    ROLES,
    SPANNING_ROLES,
    Identity,
    check_identity_secret,
)

JWT_SECRET = "CONSORTIUM_JWT_SECRET"
# The longest life a token may ask for (the token CLI's cap; API.md's claims are unchanged).
MAX_TOKEN_DAYS = 90


def secret() -> str:
    value = config.secret(JWT_SECRET)
    if not value:
        raise Unauthorized("the gateway has no token secret")
    return value


def check_secret() -> str | None:
    """Why the gateway must not start with its secrets, or None when it may."""
    return (config.check_secret(JWT_SECRET) or check_identity_secret()
            or config.check_credentials())


def issue(sub: str, role: str, hubs: list[str], member: str | None = None,
          state: str | None = None, ttl_seconds: int = 30 * 24 * 3600) -> str:
    if not sub:
        raise ValueError("a token speaks for someone: give its subject")
    if not 0 < ttl_seconds <= MAX_TOKEN_DAYS * 86400:
        raise ValueError(f"a token lives at most {MAX_TOKEN_DAYS} days")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if "*" in hubs and role not in SPANNING_ROLES:
        raise ValueError(f"a {role} token names its hubs; only an admin's spans every hub")
    claims = {"sub": sub, "role": role, "hubs": hubs, "exp": int(time.time()) + ttl_seconds}
    if member:
        claims["member"] = member
    if state:
        claims["state"] = state
    return jwt.encode(claims, secret(), algorithm="HS256")


def authenticate(header: str | None) -> Identity:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("send Authorization: Bearer <token>")
    try:
        claims = jwt.decode(header[7:].strip(), secret(), algorithms=["HS256"],
                            options={"require": ["sub", "role", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    hubs = claims.get("hubs") or []
    if claims["role"] not in ROLES or not isinstance(hubs, list):
        raise Unauthorized("invalid token claims")
    if "*" in hubs and claims["role"] not in SPANNING_ROLES:
        # Only the consortium admin spans every hub; a member or facilitator names its hubs.
        raise Unauthorized(f"a {claims['role']} token may not name every hub (\"*\")")
    # The identity passed to services lives no longer than the token (and each call's
    # signature a minute at most: eventstore.identity.CALL_SECONDS).
    expires = float(claims["exp"])
    return Identity(sub=str(claims["sub"]), role=claims["role"],
                    hubs=tuple(str(h) for h in hubs), member=claims.get("member"),
                    state=claims.get("state"), expires=expires)
