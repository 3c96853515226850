"""Opaque page cursors, for lists that are not in id order (a ranked search, a feed, a list
ordered by time): the ``next`` of one page is a token the next request sends back as
``?after=`` (``Route(..., paged=True, cursor="token")``).

A token carries the position the list reached (``state``: the last row's sort key and id), and
an HMAC over that position, the list it is of (``kind``) and the caller it was given to (the
token's subject, role, hubs and member), with a key derived from the identity secret. So a token
that is malformed, altered, or sent by another caller or to another list is refused (422 naming
``after``): never a server error, never a silent start from the beginning, and never a way to
read past a position another caller's list reached.

    HUB_BOOKINGS = "desk.hub-bookings.v1"
    position = cursors.decode(HUB_BOOKINGS + ":" + hub_id, after, caller)   # None: page one
    rows = ...  # ordered by (starts_at, id), after position, limit + 1 of them
    return cursors.page(rows, limit, HUB_BOOKINGS + ":" + hub_id, caller,
                        lambda row: {"at": row["starts_at"].isoformat(), "id": row["id"]})

Name a kind after the service, the list, and what its state means (a version): a service that
changes what its state holds changes the kind, and older tokens are refused rather than
misread. A kind may include the list's own parameters (its hub), binding a token to them too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

from .errors import ValidationError
from .identity import Identity, identity_secret

# A token is URL-safe base64 (no padding), so it needs no escaping in a query string; its
# length is bounded so that the gateway can refuse anything longer unread.
MAX_LENGTH = 512
PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_LENGTH}}}$")
# A truncated HMAC-SHA256: 128 bits, beyond guessing, and 22 characters of the token.
_MAC_BYTES = 16


def _key() -> bytes:
    return hmac.new(identity_secret().encode(), b"cursors", hashlib.sha256).digest()


def _mac(kind: str, caller: Identity, position: bytes) -> bytes:
    bound = json.dumps([kind, caller.sub, caller.role, sorted(caller.hubs), caller.member],
                       separators=(",", ":")).encode()
    return hmac.new(_key(), bound + b"\n" + position, hashlib.sha256).digest()[:_MAC_BYTES]


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode(kind: str, state: dict[str, Any], caller: Identity) -> str:
    """A token of the position ``state`` (JSON values) in the list ``kind``, for ``caller``."""
    position = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    token = _text(_mac(kind, caller, position) + position)
    if len(token) > MAX_LENGTH:
        # A programming error, not a client's: the position must stay small.
        raise ValueError(f"a cursor of {kind} is {len(token)} characters; at most {MAX_LENGTH}")
    return token


def refused() -> ValidationError:
    return ValidationError(
        "after is not a cursor this list gave you: send the `next` of the page before, or "
        "no after for the first page",
        {"after": ["not a cursor of this list for this caller (send `next` as it came)"]})


def decode(kind: str, token: str | None, caller: Identity) -> dict[str, Any] | None:
    """The position a token of ``kind`` holds, when it was made for ``caller``; None when
    there is no token (the first page); else 422 naming ``after``."""
    if token is None:
        return None
    if not isinstance(token, str) or not PATTERN.fullmatch(token):
        raise refused()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise refused() from None
    # One spelling per token: base64 ignores the unused low bits of the last character, so a
    # token edited there would otherwise still be "the same" token.
    if _text(raw) != token or len(raw) <= _MAC_BYTES:
        raise refused()
    mac, position = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(kind, caller, position)):
        raise refused()
    state = json.loads(position)   # made by encode: the HMAC says so
    if not isinstance(state, dict):
        raise refused()
    return state


def page(rows: list[dict[str, Any]], limit: int, kind: str, caller: Identity,
         position: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """A list answer (``{"items", "next"}``) from ``rows``: up to ``limit`` + 1 of them in the
    list's order (one more than a page says whether there is more). ``next`` is a token of
    ``position(last row shown)`` when there is more, else None."""
    items = rows[:limit]
    more = len(rows) > limit and bool(items)
    return {"items": items,
            "next": encode(kind, position(items[-1]), caller) if more else None}
