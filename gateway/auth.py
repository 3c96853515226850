"""Bearer tokens (API.md): HS256 JWTs with sub, role, hubs, member, state and exp."""

from __future__ import annotations

import os
import time

import jwt

from eventstore.errors import Unauthorized
from eventstore.identity import ROLES, Identity, check_identity_secret, development_mode

DEV_SECRET = "consortium-development-secret-do-not-use-in-production"


def secret() -> str:
    return os.environ.get("CONSORTIUM_JWT_SECRET") or DEV_SECRET


def check_secret() -> str | None:
    """Why the gateway must not start with this secret, or None when it may."""
    if secret() == DEV_SECRET and not development_mode():
        return ("CONSORTIUM_JWT_SECRET is unset (the development secret would sign tokens); "
                "set it, or set CONSORTIUM_DEV_MODE=1 on a developer's machine")
    if len(secret()) < 32:
        return "CONSORTIUM_JWT_SECRET must be at least 32 characters"
    return check_identity_secret()


def issue(sub: str, role: str, hubs: list[str], member: str | None = None,
          state: str | None = None, ttl_seconds: int = 30 * 24 * 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
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
    return Identity(sub=str(claims["sub"]), role=claims["role"],
                    hubs=tuple(str(h) for h in hubs), member=claims.get("member"),
                    state=claims.get("state"))
